//! Status and stop from the pid file, deciding liveness by its lock.
//!
//! The lock is what counts, proven as a start proves it (see
//! [`crate::lock`]): only a live process holding an exclusive `flock` on
//! the file, found through its own `/proc/PID/fdinfo` on Linux (through the
//! pid written in the file and its open descriptors on macOS and FreeBSD),
//! is running. A pid file no such process holds is stale whatever it says,
//! and its pid may have been reused by an unrelated process, which must
//! never be signalled; so may the pid `/proc/locks` names for a lock whose
//! taker forked and exited. The holder is found without waiting for the
//! lock (a probe holds it for an instant only when it is free: Linux's
//! shared one when `/proc/locks` lists nothing, the portable proof's
//! exclusive one; a start that meets it looks again), and it is signalled
//! through the handle that pinned it while the proof was made. A pidfd
//! (Linux) names the process itself, so a pid reused in between cannot be
//! hit. A kqueue watching its exit (macOS, FreeBSD) only reports the exit:
//! `kill` is sent by number once the watch shows none, so a pid reused in
//! between could be hit only if the process exited, was reaped and its pid
//! was handed out again between that look and the `kill`.
//!
//! The lock is the one on the lock file beside the pid file (its name and
//! [`LOCK_SUFFIX`](crate::LOCK_SUFFIX), see [`PidFile`](crate::PidFile));
//! the pid written in the pid file is only the first candidate. The path
//! is walked as a start walks it (symbolic links followed only when root
//! or the caller owns them). `stop` follows a schedule of
//! signals ([`StopOptions`]) until the process has exited (its pidfd or
//! kqueue says so) and the lock is free, then removes the file through the
//! walked directory.
//!
//! The lock file is `0600`: a user other than its owner cannot open it
//! (nor lock it). On Linux such a user looks at it through an `O_PATH`
//! descriptor, which `fstat` and `/proc/locks` need, and gets the pid of a
//! live process that `/proc/locks` lists as holding an exclusive lock on
//! the file, unproven (it cannot read `/proc/PID/fdinfo` of a root daemon);
//! such a user could not signal it anyway. When nothing is listed, or
//! elsewhere, it cannot tell (an error), never "not running".
//!
//! A daemon that forked and exited leaves its lock to its child, and
//! `/proc/locks` keeps naming the exited taker: on Linux the holder is then
//! searched for among every process's descriptors, and named, signalled
//! and waited for like any other (issue 26, item K).
//!
//! "Cannot tell" is never "not running": when an exclusive lock is held,
//! or may be, by a process that cannot be told (one outside the caller's
//! pid namespace, which `/proc/locks` does not list; on macOS and FreeBSD,
//! where the proof goes by the pid written in the file, no pid written, or
//! a process this user may not inspect), `status`, `stop` and `signal`
//! fail with an error that says why (`cannot tell whether the daemon runs:
//! its lock is held by a process this user cannot inspect`), and nothing
//! is signalled or removed.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::sys::signal::Signal;
use nix::sys::stat::{self, FileStat};

use crate::deadline::Deadline;
use crate::lock::{self, Holder, Proof};
use crate::path::at::{CAREFUL, open_existing};
use crate::path::walk::{self, Denied};
use crate::steps::pidfile;

/// What a pid file says about its daemon.
///
/// Pids are plain `u32` everywhere in this crate's API, as
/// [`std::process::id`] returns them.
///
/// ```no_run
/// use daemon_runtime::{Status, status};
/// match status("/run/myd.pid")? {
///     Status::Running { pid } => println!("running as {pid}"),
///     Status::Stale => println!("not running, stale pid file"),
///     Status::Absent => println!("not running"),
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A live process holds the file's exclusive lock: this one.
    Running {
        /// The lock holder's pid, proven (never only the file's word).
        pid: u32,
    },
    /// The file exists but no live process holds its exclusive lock (the
    /// daemon was killed, or only a shared lock is held, or the exclusive
    /// lock's holder is proven not to be a daemon of this file). A holder
    /// that cannot be told is an error, never `Stale`.
    Stale,
    /// There is no pid file.
    Absent,
}

impl Status {
    /// The exit code of an LSB init script's `status` action: 0 running,
    /// 1 dead with a pid file left, 3 not running.
    ///
    /// ```
    /// assert_eq!(daemon_runtime::Status::Stale.lsb_code(), 1);
    /// ```
    pub fn lsb_code(self) -> i32 {
        match self {
            Status::Running { .. } => 0,
            Status::Stale => 1,
            Status::Absent => 3,
        }
    }
}

/// Reads the state of the daemon whose pid file is `path`.
///
/// # Errors
///
/// Opening the file (other than "not found"), or reading `/proc/locks`;
/// `cannot tell whether the daemon runs: …` when the file's exclusive lock
/// is held by a process that cannot be told (LSB status 4, "unknown").
///
/// ```no_run
/// let running = matches!(daemon_runtime::status("/run/myd.pid")?, daemon_runtime::Status::Running { .. });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn status(path: impl AsRef<Path>) -> io::Result<Status> {
    let file = match PidPath::open(path.as_ref()) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Status::Absent),
        Err(error) => return Err(error),
    };
    Ok(match file.live_holder()? {
        Some(holder) => Status::Running { pid: holder.pid },
        None => Status::Stale,
    })
}

/// What [`stop`] did.
///
/// ```no_run
/// use daemon_runtime::{StopOptions, Stopped};
/// match daemon_runtime::stop("/run/myd.pid", StopOptions::new())? {
///     Stopped::Exited { pid } => println!("{pid} stopped"),
///     Stopped::Killed { pid } => println!("{pid} ignored SIGTERM and was killed"),
///     Stopped::NotRunning => println!("was not running"),
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The daemon went before it was sent SIGKILL.
    Exited {
        /// The pid that was signalled.
        pid: u32,
    },
    /// It went after it was sent SIGKILL (the earlier signals, if any, did
    /// not end it in time).
    Killed {
        /// The pid that was killed.
        pid: u32,
    },
    /// No daemon held the lock (none at all, or a stale file): nothing was
    /// signalled.
    NotRunning,
}

/// How [`stop`] stops a daemon: the signals it sends in turn, and how long
/// it waits after each for the daemon to be gone.
///
/// [`StopOptions::new`] (also its `Default`) is SIGTERM, 10 seconds, then
/// SIGKILL and 10 seconds again, as `start-stop-daemon --retry
/// TERM/10/KILL/10` does. The whole schedule is the first signal and its
/// [`timeout`](StopOptions::timeout), then each
/// [`then_signal`](StopOptions::then_signal) step in the order given, then
/// SIGKILL with the same timeout unless [`then_kill(false)`](StopOptions::then_kill).
///
/// ```
/// use daemon_runtime::{Signal, StopOptions};
/// use std::time::Duration;
/// let gentle = StopOptions::new().signal(Signal::SIGINT).timeout(Duration::from_secs(30)).then_kill(false);
/// // start-stop-daemon's --retry TERM/5/INT/5/KILL/2:
/// let retry = StopOptions::new()
///     .timeout(Duration::from_secs(5))
///     .then_signal(Signal::SIGINT, Duration::from_secs(5))
///     .then_kill(false)
///     .then_signal(Signal::SIGKILL, Duration::from_secs(2));
/// # let _ = (gentle, retry);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopOptions {
    signal: Signal,
    timeout: Duration,
    then: Vec<(Signal, Duration)>,
    then_kill: bool,
}

impl StopOptions {
    /// SIGTERM, a 10 second wait, then SIGKILL and as long again.
    ///
    /// ```
    /// let options = daemon_runtime::StopOptions::new();
    /// # let _ = options;
    /// ```
    pub fn new() -> Self {
        StopOptions {
            signal: Signal::SIGTERM,
            timeout: Duration::from_secs(10),
            then: Vec::new(),
            then_kill: true,
        }
    }

    /// The signal sent first (SIGTERM unless set).
    ///
    /// ```
    /// let options = daemon_runtime::StopOptions::new().signal(daemon_runtime::Signal::SIGQUIT);
    /// # let _ = options;
    /// ```
    pub fn signal(mut self, signal: Signal) -> Self {
        self.signal = signal;
        self
    }

    /// How long to wait for the daemon to be gone after the first signal,
    /// and after the SIGKILL of [`then_kill`](StopOptions::then_kill) (10
    /// seconds unless set).
    ///
    /// ```
    /// let options = daemon_runtime::StopOptions::new().timeout(std::time::Duration::from_secs(2));
    /// # let _ = options;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// One more step, after the first signal's wait and before the final
    /// SIGKILL of [`then_kill`](StopOptions::then_kill): when the daemon is
    /// still there, sends `signal` and waits up to `timeout`. Repeatable;
    /// the steps run in the order given. A daemon that ignored SIGTERM may
    /// stop on SIGINT or SIGQUIT before it has to be killed.
    ///
    /// ```
    /// use daemon_runtime::{Signal, StopOptions};
    /// use std::time::Duration;
    /// // SIGTERM, 5 s; SIGQUIT, 5 s; SIGKILL, 5 s.
    /// let options = StopOptions::new()
    ///     .timeout(Duration::from_secs(5))
    ///     .then_signal(Signal::SIGQUIT, Duration::from_secs(5));
    /// # let _ = options;
    /// ```
    pub fn then_signal(mut self, signal: Signal, timeout: Duration) -> Self {
        self.then.push((signal, timeout));
        self
    }

    /// Whether a daemon still there at the end of the other steps is sent
    /// SIGKILL and waited for as long as [`timeout`](StopOptions::timeout)
    /// (`true` unless set). With `false`, [`stop`] returns a `TimedOut`
    /// error instead.
    ///
    /// ```
    /// let options = daemon_runtime::StopOptions::new().then_kill(false);
    /// # let _ = options;
    /// ```
    pub fn then_kill(mut self, then_kill: bool) -> Self {
        self.then_kill = then_kill;
        self
    }

    /// Every signal of the schedule in turn, with its wait.
    fn steps(&self) -> impl Iterator<Item = (Signal, Duration)> + '_ {
        let kill = self.then_kill.then_some((Signal::SIGKILL, self.timeout));
        std::iter::once((self.signal, self.timeout)).chain(self.then.iter().copied()).chain(kill)
    }
}

impl Default for StopOptions {
    fn default() -> Self {
        StopOptions::new()
    }
}

/// Stops the daemon holding the lock of the pid file at `path`, following
/// `options`: sends each signal in turn, as long as the daemon is still
/// there, and waits after each for it to be gone. Gone means both: the
/// process has exited (its pidfd or kqueue says so at once), and no process holds
/// the file's lock any more, or a new start holds it. A process the daemon
/// forked that keeps its lock is the daemon still (Linux finds it among
/// every process's descriptors): it is signalled in turn, within the same
/// schedule. Then the file is
/// removed (the daemon may have dropped the privileges it needed to remove
/// it itself), unless a new start holds it.
///
/// Only a process proven to hold the lock is ever signalled, never the pid
/// written in a stale file, and every signal goes through the handle that
/// pinned it during the proof (see the module's text for what a kqueue
/// pins). A stale file, which no live process holds, is removed and
/// nothing is signalled.
///
/// # Errors
///
/// Reading the file or `/proc/locks`, sending a signal, removing the file
/// once the daemon is gone (`not removed: …`); `cannot tell whether the
/// daemon runs: …` (nothing signalled, nothing removed) when the lock is
/// held by a process that cannot be told; `TimedOut` when the schedule ran
/// out with the daemon still there: `pid N is still running after the
/// schedule`, or `pid N has exited, but processes it left still hold the
/// lock`.
///
/// ```no_run
/// use daemon_runtime::StopOptions;
/// let stopped = daemon_runtime::stop("/run/myd.pid", StopOptions::new())?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn stop(path: impl AsRef<Path>, options: StopOptions) -> io::Result<Stopped> {
    let file = match PidPath::open(path.as_ref()) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Stopped::NotRunning),
        Err(error) => return Err(error),
    };
    let Some(mut holder) = file.live_holder()? else {
        file.remove()?;
        return Ok(Stopped::NotRunning);
    };
    let pid = holder.pid;
    let (mut exited, mut killed) = (false, false);
    for (signal, timeout) in options.steps() {
        let deadline = Deadline::after(timeout);
        loop {
            if !exited {
                match holder.process.signal(signal) {
                    Ok(()) => exited = holder.process.wait_exit(deadline.left()),
                    Err(error) if error.raw_os_error() == Some(libc::ESRCH) => exited = true,
                    Err(error) => return Err(error),
                }
                killed |= signal == Signal::SIGKILL;
            }
            if !exited {
                break;
            }
            match file.released_by(holder.pid, deadline) {
                Release::Done => {
                    file.remove()?;
                    return Ok(if killed { Stopped::Killed { pid } } else { Stopped::Exited { pid } });
                }
                // A process the daemon forked holds its lock now: the
                // daemon still runs in it, and is signalled there in turn.
                Release::Inherited(next) => (holder, exited) = (next, false),
                Release::Held => break,
            }
        }
    }
    let left = match exited {
        true => format!("pid {pid} has exited, but processes it left still hold the lock"),
        false => format!("pid {pid} is still running after the schedule"),
    };
    Err(io::Error::new(io::ErrorKind::TimedOut, left))
}

/// Sends `signal` (SIGHUP to reload, say) to the process holding the lock of
/// the pid file at `path`, and returns its pid; `None` when nothing holds
/// it, in which case nothing was signalled.
///
/// # Errors
///
/// Reading the file or `/proc/locks`, opening a pidfd, sending the signal;
/// `cannot tell whether the daemon runs: …` when the lock is held by a
/// process that cannot be told.
///
/// ```no_run
/// let reloaded = daemon_runtime::signal("/run/myd.pid", daemon_runtime::Signal::SIGHUP)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn signal(path: impl AsRef<Path>, signal: Signal) -> io::Result<Option<u32>> {
    let file = match PidPath::open(path.as_ref()) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let Some(Holder { pid, process, .. }) = file.live_holder()? else { return Ok(None) };
    process.signal(signal)?;
    Ok(Some(pid))
}

/// The live process proven to hold the lock of the pid file at `path`,
/// pinned; `None` when nothing holds it (no file, a stale one). Errors as
/// [`status`]'s.
pub(crate) fn proven_holder(path: &Path) -> io::Result<Option<Holder>> {
    match PidPath::open(path) {
        Ok(file) => file.live_holder(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// What became of a stopped daemon's lock.
enum Release {
    /// Released, or taken by a new start: the daemon is gone.
    Done,
    /// Held by a process the daemon forked, which kept its descriptor.
    Inherited(Holder),
    /// Still held when the deadline came.
    Held,
}

/// A pid file's lock file opened for reading through the walked directory
/// (or only as a path, by a user who may not read it), and the pid file
/// when it can be read.
struct PidPath {
    dir: OwnedFd,
    name: CString,
    lock_name: CString,
    /// The lock file and its `stat`; `None` when only a pid file is there
    /// (no daemon of this crate holds it: stale).
    lock: Option<(OwnedFd, FileStat)>,
    pid_file: Option<OwnedFd>,
    proc: Option<OwnedFd>,
}

impl PidPath {
    fn open(path: &Path) -> io::Result<PidPath> {
        // First: without `/proc` (off Linux) nothing can be proven, whether
        // or not the file exists.
        let proc = lock::open_proc()?;
        let (dir, name) = walk::parent(path, None).map_err(|denied| match denied {
            Denied::Sys(errno) => io::Error::from_raw_os_error(errno as i32),
            Denied::Refused(reason) => {
                io::Error::new(io::ErrorKind::PermissionDenied, format!("{}: {reason}", path.display()))
            }
        })?;
        let lock_name = pidfile::lock_name_of(&name);
        let pid_file = open_existing(dir.as_fd(), name.as_c_str(), OFlag::O_RDONLY);
        let lock = match open_existing(dir.as_fd(), lock_name.as_c_str(), OFlag::O_RDONLY) {
            Ok(file) => Some(file),
            // Another user's 0600 lock file: looked at as a path (Linux's
            // `O_PATH`), which `fstat` and the lock listing need.
            Err(Errno::EACCES) => Some(crate::sys::open_path(dir.as_fd(), lock_name.as_c_str())?),
            // No lock file: no daemon holds one. A pid file alone is stale;
            // without either there is nothing (`NotFound`).
            Err(Errno::ENOENT) => match pid_file {
                Ok(_) => None,
                Err(errno) => return Err(errno.into()),
            },
            Err(errno) => return Err(errno.into()),
        };
        let lock = match lock {
            Some(file) => {
                let opened = stat::fstat(&file)?;
                Some((file, opened))
            }
            None => None,
        };
        Ok(PidPath { dir, name, lock_name, lock, pid_file: pid_file.ok(), proc })
    }

    /// The live process proven to hold the file's exclusive lock, if any;
    /// an error when an exclusive lock is held, or may be, by a process
    /// that cannot be told: "cannot tell" is never "not running".
    fn live_holder(&self) -> io::Result<Option<Holder>> {
        match self.examine() {
            Proof::Held(holder) => Ok(Some(holder)),
            Proof::Foreign | Proof::Free => Ok(None),
            Proof::Hidden(why) => {
                Err(io::Error::other(format!("cannot tell whether the daemon runs: {why}")))
            }
        }
    }

    /// Waits until `deadline` for the lock to be free of the daemon `stopped`
    /// (whose process has exited): no exclusive lock is held, or one that
    /// this caller cannot see, or a new start is proven to hold it. A lock
    /// the daemon's children inherited (listed under the exited daemon's
    /// pid) is still the daemon's: the child that holds it is returned, for
    /// `stop` to signal in turn (issue 26, item K).
    ///
    /// Looked at on the exit's event, not on a timer: the kernel closes an
    /// exiting process's descriptors, and so drops a lock it alone held,
    /// before its pidfd turns readable (torvalds/linux `kernel/exit.c`
    /// `do_exit`: `exit_files` and `exit_task_work`, which runs the last
    /// `fput`, come before `exit_notify`). So an exclusive probe on our own
    /// descriptor (released at once) gets the lock now in the common case,
    /// without a look at who holds it. Only a lock still held is examined,
    /// and then looked at again every few milliseconds until it is gone:
    /// the kernel reports no lock's release as an event (inotify's close
    /// event comes before the lock is dropped, `fs/file_table.c` `__fput`).
    fn released_by(&self, stopped: u32, deadline: Deadline) -> Release {
        let released = deadline.retry(Duration::from_millis(5), || {
            // Held, or the probe failed: the examination below tells.
            let Some(file) = self.lock_fd() else { return Some(Release::Done) };
            if lock::flock(file, libc::LOCK_EX | libc::LOCK_NB).is_ok() {
                let _ = lock::flock(file, libc::LOCK_UN);
                return Some(Release::Done);
            }
            match self.examine() {
                // Found among all processes, its taker gone: the daemon's
                // own child (a new start is the taker of its lock).
                Proof::Held(holder) if holder.inherited => Some(Release::Inherited(holder)),
                Proof::Held(holder) if holder.pid != stopped => Some(Release::Done),
                // Free; or held by someone this caller cannot see, who is
                // not the daemon it saw exit (`remove` leaves a held file).
                Proof::Free | Proof::Hidden(_) => Some(Release::Done),
                Proof::Held(_) | Proof::Foreign => None,
            }
        });
        released.unwrap_or(Release::Held)
    }

    /// What the locks on the lock file prove (no lock file: free).
    fn examine(&self) -> Proof {
        let Some((file, opened)) = &self.lock else { return Proof::Free };
        let proc = self.proc.as_ref().map(AsFd::as_fd);
        lock::examine_locks(proc, file.as_fd(), opened, self.pid_file.as_ref().map(AsFd::as_fd))
    }

    /// Removes the pid file and the lock file if the lock file is still at
    /// its name and nobody holds its lock. A pid file without a lock file
    /// is removed under a lock file made for the purpose, as a start makes
    /// it (so that no start writes the pid file meanwhile); one a start has
    /// made meanwhile is left to it.
    fn remove(&self) -> io::Result<()> {
        let made;
        let file = match &self.lock {
            Some((file, _)) => file,
            None => {
                let flags = OFlag::O_RDONLY | CAREFUL | OFlag::O_CREAT | OFlag::O_EXCL;
                let mode = pidfile::LOCK_MODE;
                match fcntl::openat(&self.dir, self.lock_name.as_c_str(), flags, mode) {
                    Ok(file) => made = file,
                    Err(Errno::EEXIST) => return Ok(()),
                    Err(errno) => return Err(not_removed(errno)),
                }
                &made
            }
        };
        pidfile::remove_if_unheld(self.dir.as_fd(), &self.name, &self.lock_name, file.as_fd())
            .map_err(not_removed)
    }
}

/// `not removed: …`, for a file `stop` could not remove.
fn not_removed(errno: Errno) -> io::Error {
    let cause = io::Error::from_raw_os_error(errno as i32);
    io::Error::new(cause.kind(), format!("not removed: {cause}"))
}

impl PidPath {
    /// The lock file's descriptor, for a probe of its lock.
    fn lock_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.lock.as_ref().map(|(file, _)| file.as_fd())
    }
}
