//! Zero-downtime upgrade: the running daemon starts the executable now at
//! its path, hands it its listening sockets and its pid file's lock, and
//! learns whether it became ready, the way a launcher learns it of a start.
//!
//! The old process's side is [`Upgrade::run`] (here, and `spawn.rs` for the
//! fork); the new process's side is a start that finds `DAEMON_UPGRADE`
//! addressed to it (`start/takeover.rs`); `state.rs` holds what both need.
//! A request from outside ([`request_upgrade`](crate::request_upgrade),
//! `request.rs`) is a signal, answered through `reply.rs`.

pub(crate) mod reply;
pub(crate) mod request;
pub(crate) mod spawn;
pub(crate) mod state;

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};

use crate::error::{Error, Step};
use crate::start::child::{describe, reap};
use crate::start::report::{self, Outcome};
use crate::upgrade::spawn::{Prepared, c_path, entry};
use crate::upgrade::state::InProgress;

/// Replaces the running daemon with the executable now on disk at the path
/// it was started from, without a moment in which no process accepts
/// connections on its sockets or holds its pid file.
///
/// [`run`](Upgrade::run), called in the running daemon (the body of
/// `#[daemon]`, or after [`Daemon::start`](crate::Daemon::start)), starts
/// that executable with the same arguments, environment and starting
/// directory, as a child of this process, and passes it, at once and
/// without a window:
///
/// - the listening sockets given to [`socket`](Upgrade::socket) (and
///   [`named_socket`](Upgrade::named_socket)), as descriptors 3, 4, … with
///   `LISTEN_FDS`, `LISTEN_FDNAMES` and `LISTEN_PID` naming the new
///   process, so that its [`listen_fds`](crate::listen_fds) takes them as
///   under socket activation;
/// - the pid file's locked descriptor: the `flock` belongs to the open file
///   description both processes then hold, so the lock never lapses. This
///   process keeps its copy until the new one is ready.
///
/// The new process's start finds them announced in `DAEMON_UPGRADE` and
/// takes the steps that do not undo the handover: it does not fork, call
/// `setsid` or fork again (it is already detached: this daemon's child,
/// in its session, which it does not lead), and it adopts the inherited
/// lock instead of opening and locking the file again; it does redirect its
/// stdio, set its umask, limits and working directory, run `init` and drop
/// privileges. When it is ready (at once, or at [`ready`](crate::ready)
/// with [`Ready::Manual`](crate::Ready::Manual)), it writes its pid into
/// the pid file, arms its own removal of it, tells a service manager
/// (`$NOTIFY_SOCKET`) `READY=1`, and reports to this process, which sends
/// `MAINPID=<new pid>` and returns `Ok(new pid)`.
///
/// From then on the pid file is the new process's: this process lets go of
/// its copy of the lock descriptor (without unlocking: that would unlock
/// it for both), and neither dropping [`Running`](crate::Running) nor a
/// terminating signal removes the file or sends `STOPPING=1`. What is left
/// to the caller is to stop accepting (drop its listeners), let the
/// connections it serves finish within a deadline of its choosing, and
/// return from `main`.
///
/// When the new process fails (its `init` or another step fails, it exits,
/// or it is not ready within the [`timeout`](Upgrade::timeout)), it is
/// killed and reaped, nothing changes here (this process still serves and
/// holds the file), and `run` returns the new process's [`Error`]: its
/// `Display` is the `<step>: <cause>` line a launcher would have printed
/// (`init: cannot read /etc/myd.key`) and its
/// [`exit_code`](Error::exit_code) the code it would have exited with.
///
/// At most one upgrade runs at a time: a second `run` while one waits
/// fails with [`Error::UpgradeInProgress`], and one after a successful
/// upgrade with [`Error::HandedOver`].
///
/// `run` blocks until the new process is ready or has failed (at most the
/// timeout): from an async runtime, call it on a blocking thread
/// (`tokio::task::block_in_place`, `spawn_blocking`).
///
/// What it does not do: a daemon that dropped privileges (`user =`) can
/// upgrade only if it may still write its pid file (the new process fails
/// with `pid file: … Permission denied` otherwise, and nothing changes); a
/// daemon in a `chroot` finds no executable at its path; a program run by
/// [`Daemon::exec`](crate::Daemon::exec) (`daemon-run`) is not upgraded
/// this way.
///
/// ```no_run
/// use std::net::TcpListener;
/// use std::os::fd::AsFd;
///
/// let running = daemon_runtime::Daemon::new()
///     .pid_file("/run/myd.pid")
///     .start()
///     .unwrap_or_else(|error| error.exit());
/// let listener = match daemon_runtime::listen_fds().into_iter().next() {
///     Some((fd, _name)) => TcpListener::from(fd), // from the previous process
///     None => TcpListener::bind("127.0.0.1:8080")?,
/// };
/// // ... serve, until asked to upgrade (on SIGUSR2, say):
/// match daemon_runtime::Upgrade::new().socket(&listener).run() {
///     Ok(pid) => {
///         eprintln!("upgraded: pid {pid} serves now");
///         drop(listener); // stop accepting, finish the connections, return
///     }
///     Err(error) => eprintln!("upgrade failed, still serving: {error} (exit {})", error.exit_code()),
/// }
/// # drop(running);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
#[must_use = "an `Upgrade` does nothing until `run` is called"]
pub struct Upgrade<'a> {
    sockets: Vec<(BorrowedFd<'a>, Option<String>)>,
    timeout: Option<Duration>,
}

impl<'a> Upgrade<'a> {
    /// An upgrade that passes no socket yet, with the daemon's
    /// `ready_timeout` (60 s by default).
    ///
    /// ```
    /// let upgrade = daemon_runtime::Upgrade::new();
    /// # drop(upgrade);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Passes a listening socket, unnamed (`LISTEN_FDNAMES` gets an empty
    /// entry for it). The sockets keep their order: the first is
    /// descriptor 3 in the new process.
    ///
    /// ```no_run
    /// let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
    /// let upgrade = daemon_runtime::Upgrade::new().socket(&listener);
    /// # drop(upgrade);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn socket(mut self, socket: &'a impl AsFd) -> Self {
        self.sockets.push((socket.as_fd(), None));
        self
    }

    /// Passes a listening socket with its name, as systemd's
    /// `FileDescriptorName=` (no `:`, which separates the names).
    ///
    /// ```no_run
    /// let admin = std::net::TcpListener::bind("127.0.0.1:8081")?;
    /// let upgrade = daemon_runtime::Upgrade::new().named_socket(&admin, "admin");
    /// # drop(upgrade);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn named_socket(mut self, socket: &'a impl AsFd, name: &str) -> Self {
        self.sockets.push((socket.as_fd(), Some(name.replace(':', "_"))));
        self
    }

    /// How long the new process has to become ready before it is killed and
    /// the upgrade fails ([`Error::NotReady`]).
    ///
    /// ```
    /// let upgrade = daemon_runtime::Upgrade::new().timeout(std::time::Duration::from_secs(10));
    /// # drop(upgrade);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Starts the new process and waits until it is ready (returns its pid)
    /// or has failed (returns its error; this process still serves). See
    /// [`Upgrade`].
    ///
    /// # Errors
    ///
    /// The new process's error, as a launcher reports a failed start;
    /// [`Error::UpgradeInProgress`] or [`Error::HandedOver`] when this
    /// process may not upgrade now; [`Error::Sys`] with [`Step::Upgrade`]
    /// when the new process could not be started (`fork`, the pipe).
    ///
    /// ```no_run
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
    /// let new_pid = daemon_runtime::Upgrade::new().socket(&listener).run();
    /// # drop(new_pid);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run(self) -> Result<u32, Error> {
        let result = self.attempt();
        // Whoever asked from outside (`daemon-run --upgrade`) learns it.
        reply::send(&result);
        result
    }

    fn attempt(self) -> Result<u32, Error> {
        let in_progress = InProgress::begin()?;
        let origin = state::origin();
        let timeout = self.timeout.unwrap_or(origin.timeout);
        let sys = |errno| Error::Sys { step: Step::Upgrade, errno: crate::error::errno::Errno::of(errno) };
        let exe = c_path(&origin.exe).filter(|exe| !exe.is_empty()).ok_or(sys(Errno::ENOENT))?;
        let dir = c_path(&origin.dir).ok_or(sys(Errno::EINVAL))?;
        let argv: Vec<CString> =
            std::env::args_os().filter_map(|arg| CString::new(arg.as_bytes()).ok()).collect();
        let (from_new, to_old) = crate::sys::cloexec_pipe().map_err(sys)?;

        let lock = state::lock_fd();
        let mut fds: Vec<RawFd> = self.sockets.iter().map(|(fd, _)| fd.as_raw_fd()).collect();
        let count = fds.len();
        fds.extend(lock);
        fds.push(to_old.as_raw_fd());
        let number = |index: usize| 3 + index as RawFd;
        let announced =
            state::announce(std::process::id(), lock.map(|_| number(count)), number(fds.len() - 1));
        let passed = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", state::VARIABLE];
        let mut env: Vec<CString> = std::env::vars_os()
            .filter(|(name, _)| !passed.iter().any(|passed| name.as_bytes() == passed.as_bytes()))
            .filter_map(|(name, value)| entry(name.as_bytes(), value.as_bytes()))
            .collect();
        if count > 0 {
            let names: Vec<&str> =
                self.sockets.iter().map(|(_, name)| name.as_deref().unwrap_or("")).collect();
            env.extend(entry(b"LISTEN_FDS", count.to_string().as_bytes()));
            env.extend(entry(b"LISTEN_FDNAMES", names.join(":").as_bytes()));
        }
        env.extend(entry(state::VARIABLE.as_bytes(), announced.as_bytes()));
        let prepared = Prepared::new(exe, argv, env, count, dir, fds);

        // From here until the outcome, neither a drop of `Running` nor a
        // terminating signal removes the file the new process may claim.
        state::share_pid_file(true);
        let armed = crate::steps::termination::take_armed();
        let child = match spawn::spawn(prepared, to_old) {
            Ok(child) => child,
            Err(errno) => {
                state::share_pid_file(false);
                crate::steps::termination::set_armed(armed);
                return Err(sys(errno));
            }
        };
        let received = report::receive(from_new, timeout, false, None);
        if let Outcome::Ready { .. } = received.outcome {
            let pid = child.as_raw().unsigned_abs();
            in_progress.handed_over(pid);
            if let Some(lock) = lock {
                let_go(lock);
            }
            if let Some(manager) = crate::sd_notify::send::ServiceManager::from_env() {
                manager.send_main_pid(pid);
            }
            return Ok(pid);
        }
        let _ = kill(child, Signal::SIGKILL);
        let status = reap(child);
        // The new process may have written its pid before it failed.
        crate::steps::pidfile::write_own_pid_again();
        state::share_pid_file(false);
        crate::steps::termination::set_armed(armed);
        Err(match received.outcome {
            Outcome::Ready { .. } => unreachable!("handled above"),
            Outcome::Failed(failure) => failure.into_error(|step| match step {
                Step::PidFile => origin.pid_file.clone(),
                Step::Exec => Some(origin.exe.clone()),
                Step::Chdir => Some(origin.dir.clone()),
                _ => None,
            }),
            Outcome::InitFailed(message) => Error::Init { message },
            Outcome::Silent => Error::Died { status: status.and_then(describe) },
            Outcome::TimedOut => Error::NotReady { timeout, manual: false },
        })
    }
}

/// This process's copy of the pid file's lock descriptor becomes
/// `/dev/null`: the new process holds the lock on the same open file
/// description, which a `close` here leaves locked (`LOCK_UN` would not).
/// The number stays open, so the [`PidFile`](crate::PidFile) that owns it
/// closes a descriptor of its own when dropped.
fn let_go(lock: RawFd) {
    let Ok(devnull) = nix::fcntl::open(
        c"/dev/null",
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) else {
        return;
    };
    // SAFETY: dup2 takes no pointer; `lock` is the pid file's descriptor,
    // owned by this process's `PidFile`, which now owns `/dev/null` there.
    if unsafe { libc::dup2(devnull.as_raw_fd(), lock) } >= 0 {
        // SAFETY: F_SETFD takes no pointer; `lock` is open (just above).
        unsafe { libc::fcntl(lock, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}
