//! Status and stop from the pid file, deciding liveness by its lock.
//!
//! The lock is what counts: a pid file nobody has locked is stale whatever it
//! says, and its pid may have been reused by an unrelated process, which must
//! never be signalled. The holder is read from `/proc/locks` without taking
//! the lock (a status check must never make a concurrent start fail), and it
//! is signalled through a pidfd opened while it still holds the lock, so
//! that a pid reused in between cannot be hit.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

/// What a pid file says about its daemon.
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
    /// A process holds the file's lock: this one.
    Running {
        /// The lock holder's pid, from `/proc/locks` (not from the file).
        pid: u32,
    },
    /// The file exists but nobody holds its lock (the daemon was killed).
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
/// Opening the file (other than "not found"), or reading `/proc/locks`.
///
/// ```no_run
/// let running = matches!(daemon_runtime::status("/run/myd.pid")?, daemon_runtime::Status::Running { .. });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn status(path: impl AsRef<Path>) -> io::Result<Status> {
    let file = match open(path.as_ref()) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Status::Absent),
        Err(error) => return Err(error),
    };
    Ok(match holder(&file)? {
        Some(pid) => Status::Running { pid },
        None => Status::Stale,
    })
}

/// What [`stop`] did.
///
/// ```no_run
/// use daemon_runtime::Stopped;
/// use nix::sys::signal::Signal;
/// match daemon_runtime::stop("/run/myd.pid", Signal::SIGTERM, std::time::Duration::from_secs(10), true)? {
///     Stopped::Exited { pid } => println!("{pid} stopped"),
///     Stopped::Killed { pid } => println!("{pid} ignored SIGTERM and was killed"),
///     Stopped::NotRunning => println!("was not running"),
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The daemon released its lock after `signal`.
    Exited {
        /// The pid that was signalled.
        pid: u32,
    },
    /// It did not within the timeout, and was killed with SIGKILL.
    Killed {
        /// The pid that was killed.
        pid: u32,
    },
    /// Nothing held the lock: nothing was signalled.
    NotRunning,
}

/// Sends `signal` to the process holding the lock of the pid file at `path`
/// and waits until the lock is released; after `timeout`, sends SIGKILL
/// (when `escalate`) and waits as long again.
///
/// Only a process that holds the lock is ever signalled, never the pid
/// written in a stale file.
///
/// # Errors
///
/// Reading the file or `/proc/locks`, opening a pidfd, sending the signal;
/// `TimedOut` when the lock is still held at the end.
///
/// ```no_run
/// use std::time::Duration;
/// let stopped = daemon_runtime::stop("/run/myd.pid", nix::sys::signal::Signal::SIGTERM, Duration::from_secs(10), true)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn stop(
    path: impl AsRef<Path>,
    signal: Signal,
    timeout: Duration,
    escalate: bool,
) -> io::Result<Stopped> {
    let file = match open(path.as_ref()) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Stopped::NotRunning),
        Err(error) => return Err(error),
    };
    let Some((pid, pidfd)) = lock_holder(&file)? else { return Ok(Stopped::NotRunning) };
    pidfd_send_signal(&pidfd, signal)?;
    if released(&file, timeout)? {
        return Ok(Stopped::Exited { pid });
    }
    if escalate {
        pidfd_send_signal(&pidfd, Signal::SIGKILL)?;
        if released(&file, timeout)? {
            return Ok(Stopped::Killed { pid });
        }
    }
    Err(io::Error::new(io::ErrorKind::TimedOut, format!("pid {pid} still holds {}", path.as_ref().display())))
}

/// Sends `signal` (SIGHUP to reload, say) to the process holding the lock of
/// the pid file at `path`, and returns its pid; `None` when nothing holds
/// it, in which case nothing was signalled.
///
/// # Errors
///
/// Reading the file or `/proc/locks`, opening a pidfd, sending the signal.
///
/// ```no_run
/// let reloaded = daemon_runtime::signal("/run/myd.pid", nix::sys::signal::Signal::SIGHUP)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn signal(path: impl AsRef<Path>, signal: Signal) -> io::Result<Option<u32>> {
    let file = match open(path.as_ref()) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let Some((pid, pidfd)) = lock_holder(&file)? else { return Ok(None) };
    pidfd_send_signal(&pidfd, signal)?;
    Ok(Some(pid))
}

/// The lock holder and a pidfd for it. The pid might be reused between
/// reading `/proc/locks` and opening the pidfd: the holder is read again
/// after, so the pidfd surely names the process that holds the lock.
fn lock_holder(file: &File) -> io::Result<Option<(u32, OwnedFd)>> {
    let Some(pid) = holder(file)? else { return Ok(None) };
    let pidfd = match pidfd_open(pid) {
        Ok(pidfd) => pidfd,
        Err(error) if error.raw_os_error() == Some(libc::ESRCH) => return Ok(None),
        Err(error) => return Err(error),
    };
    Ok((holder(file)? == Some(pid)).then_some((pid, pidfd)))
}

fn open(path: &Path) -> io::Result<File> {
    File::options().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY).open(path)
}

/// Waits until nobody holds `file`'s lock, up to `timeout`.
fn released(file: &File, timeout: Duration) -> io::Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if holder(file)?.is_none() {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The pid holding an exclusive `flock` on `file`, from `/proc/locks`
/// (`1: FLOCK  ADVISORY  WRITE 1234 fe:00:10010895 0 EOF`).
fn holder(file: &File) -> io::Result<Option<u32>> {
    let meta = file.metadata()?;
    let dev = meta.dev();
    let wanted =
        format!("{:02x}:{:02x}:{}", nix::sys::stat::major(dev), nix::sys::stat::minor(dev), meta.ino());
    let locks = std::fs::read_to_string("/proc/locks")?;
    Ok(locks
        .lines()
        .filter(|line| !line.contains("->")) // waiters, not holders
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&wanted.as_str()))
        .and_then(|fields| fields.get(4)?.parse().ok()))
}

pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor
    // or -1; nix has no wrapper.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just returned to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn pidfd_send_signal(pidfd: &OwnedFd, signal: Signal) -> io::Result<()> {
    // SAFETY: a valid pidfd, a signal number, no siginfo (null), no flags.
    let res = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if res < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}
