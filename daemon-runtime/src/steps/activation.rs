//! Socket activation (sd_listen_fds(3)): the sockets a service manager
//! passes as descriptors 3, 4, ... and announces with `LISTEN_FDS`,
//! `LISTEN_PID` (the process they are meant for) and `LISTEN_FDNAMES`.
//!
//! A start keeps them through every step, and, when it detaches, rewrites
//! `LISTEN_PID` to the daemon's pid (see `env_pids.rs`), so the
//! body (or a program executed in its place) finds them addressed to itself.

use std::ops::Range;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
const FIRST: RawFd = 3;

/// Whether [`listen_fds`] handed the descriptors out already.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// How many descriptors [`listen_fds`] took before a start: a start keeps
/// them open too, since the values the body holds survive the fork.
static TAKEN_COUNT: AtomicI32 = AtomicI32::new(0);

/// The descriptors passed to this very process: `3 .. 3 + LISTEN_FDS` when
/// `LISTEN_PID` is this process's pid (else they are meant for another
/// process, and are strays like any other).
fn passed() -> Option<Range<RawFd>> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    if pid != std::process::id() {
        return None;
    }
    let count: RawFd = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    (count > 0 && count <= RawFd::MAX - FIRST).then(|| FIRST..FIRST + count)
}

/// The descriptors a start must keep open: those passed to this process,
/// and those [`listen_fds`] already took.
pub(crate) fn kept() -> Range<RawFd> {
    let passed = passed().map_or(0, |range| range.len() as RawFd);
    FIRST..FIRST + passed.max(TAKEN_COUNT.load(Ordering::SeqCst))
}

/// Takes the sockets a service manager passed to this process (socket
/// activation, sd_listen_fds(3)), each with its name from `LISTEN_FDNAMES`
/// (systemd's `FileDescriptorName=`, `systemd-socket-activate --fdname`;
/// `None` when unnamed). Empty when none were passed, when `LISTEN_PID`
/// names another process, and on every call after the first.
///
/// Each descriptor is made close-on-exec, as `sd_listen_fds` does, so that
/// programs the daemon runs do not inherit it. The variables are removed
/// from the environment, as `sd_listen_fds(1)` does, when this process runs
/// a single thread (removing them while other threads may read the
/// environment is not sound); in a multi-threaded process they stay, but
/// `LISTEN_PID` names only this process, so no child takes them.
///
/// Under `#[daemon]` or [`Daemon::start`](crate::Daemon::start), the
/// sockets survive the detach and `LISTEN_PID` names the daemon, so call it
/// in the body. std's listener types convert from [`OwnedFd`]:
///
/// ```no_run
/// use std::net::TcpListener;
///
/// let listener = match daemon_runtime::listen_fds().into_iter().next() {
///     Some((fd, _name)) => TcpListener::from(fd), // systemd's socket
///     None => TcpListener::bind("127.0.0.1:8080")?, // started by hand
/// };
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// tokio's do not: go through std's, and make the socket non-blocking
/// first (a passed socket is blocking, and tokio requires the flag):
///
/// ```no_run
/// # async fn serve() -> std::io::Result<()> {
/// let listener = match daemon_runtime::listen_fds().into_iter().next() {
///     Some((fd, _name)) => {
///         let listener = std::net::TcpListener::from(fd);
///         listener.set_nonblocking(true)?;
///         tokio::net::TcpListener::from_std(listener)?
///     }
///     None => tokio::net::TcpListener::bind("127.0.0.1:8080").await?,
/// };
/// # drop(listener);
/// # Ok(())
/// # }
/// ```
pub fn listen_fds() -> Vec<(OwnedFd, Option<String>)> {
    let Some(range) = passed() else { return Vec::new() };
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Vec::new();
    }
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let mut names = names.split(':').map(|name| Some(name.to_string()).filter(|name| !name.is_empty()));
    let mut taken = Vec::with_capacity(range.len());
    TAKEN_COUNT.store(range.len() as RawFd, Ordering::SeqCst);
    for fd in range {
        let name = names.next().flatten();
        if crate::steps::fds::fd_flags(fd).is_err() {
            continue; // announced but not open: nothing to own
        }
        // SAFETY: by the protocol, descriptors 3 .. 3 + LISTEN_FDS belong to
        // the process LISTEN_PID names, this one; the runtime's start keeps
        // them open and never uses them, and `TAKEN` hands them out once.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // Cannot fail on an open descriptor; if it did, the socket is still
        // this process's, only inherited by what it executes.
        let _ = fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
        taken.push((owned, name));
    }
    if crate::steps::preflight::ensure_single_threaded().is_ok() {
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            // SAFETY: this process runs one thread (just counted by the
            // kernel), this one, so nothing reads the environment meanwhile.
            unsafe { std::env::remove_var(name) };
        }
    }
    taken
}
