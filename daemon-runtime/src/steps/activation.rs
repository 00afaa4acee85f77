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

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};

use crate::error::Error;

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
const FIRST: RawFd = 3;

/// Whether [`listen_fds`] handed the descriptors out already.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// How many descriptors [`listen_fds`] took before a start: a start keeps
/// them open too, since the values the body holds survive the fork.
static TAKEN_COUNT: AtomicI32 = AtomicI32::new(0);

/// How many descriptors a start found passed to it ([`check`]): read after
/// the fork, where the environment is not parsed again (that allocates).
static CHECKED_COUNT: AtomicI32 = AtomicI32::new(0);

/// The descriptors passed to this very process: `3 .. 3 + LISTEN_FDS` when
/// `LISTEN_PID` is this process's pid (else they are meant for another
/// process, and are strays like any other). Checked as sd_listen_fds(3)
/// checks them (`src/libsystemd/sd-daemon/sd-daemon.c`): a count that is
/// not a number from 1 to `i32::MAX - 3` is refused (its `EINVAL`), and so
/// is one whose descriptors are not all open (its `EBADF` from
/// `fd_cloexec`). The first descriptor that is not open ends the look, so
/// a huge count costs what is open, not what it says.
///
/// # Errors
///
/// [`Error::ListenFds`].
pub(crate) fn passed() -> Result<Option<Range<RawFd>>, Error> {
    let for_us = std::env::var("LISTEN_PID").ok().and_then(|pid| pid.parse::<u32>().ok());
    if for_us != Some(std::process::id()) {
        return Ok(None);
    }
    let Some(value) = std::env::var_os("LISTEN_FDS") else { return Ok(None) };
    let value = value.to_string_lossy().into_owned();
    let count = value.parse::<RawFd>().ok().filter(|&count| count > 0 && count <= RawFd::MAX - FIRST);
    let Some(count) = count else { return Err(Error::ListenFds { value, missing: None }) };
    let range = FIRST..FIRST + count;
    match range.clone().find(|&fd| crate::steps::fds::fd_flags(fd) == Err(Errno::EBADF)) {
        Some(fd) => Err(Error::ListenFds { value, missing: Some(fd) }),
        None => Ok(Some(range)),
    }
}

/// How many descriptors were passed to this process (checked as
/// sd_listen_fds(3) checks them: all open), for
/// `daemon-run --listen`, which puts its own sockets after them.
///
/// # Errors
///
/// [`Error::ListenFds`].
pub fn passed_count() -> Result<RawFd, Error> {
    Ok(passed()?.map_or(0, |range| range.len() as RawFd))
}

/// In the launcher, before anything is closed: the passed descriptors
/// ([`passed`]) are all open, and their count is remembered for [`kept`].
///
/// # Errors
///
/// [`Error::ListenFds`]: the start fails rather than keep strays as sockets.
pub(crate) fn check() -> Result<(), Error> {
    let count = passed_count()?;
    CHECKED_COUNT.store(count, Ordering::SeqCst);
    Ok(())
}

/// The descriptors a start must keep open: those passed to this process
/// (as [`check`] found them), and those [`listen_fds`] already took. The
/// pid file's lock goes above them (`steps/pidfile.rs`). Reads two atomics:
/// callable after the fork.
pub(crate) fn kept() -> Range<RawFd> {
    FIRST..FIRST + CHECKED_COUNT.load(Ordering::SeqCst).max(TAKEN_COUNT.load(Ordering::SeqCst))
}

/// Takes the sockets a service manager passed to this process (socket
/// activation, sd_listen_fds(3)), each with its name from `LISTEN_FDNAMES`
/// (systemd's `FileDescriptorName=`, `systemd-socket-activate --fdname`;
/// `None` when unnamed). Empty when none were passed, when `LISTEN_PID`
/// names another process, when `LISTEN_FDS` announces descriptors that are
/// not open (sd_listen_fds(3) fails then; a start refuses it), and on
/// every call after the first.
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
    // An announcement that does not match the open descriptors hands out
    // nothing: sd_listen_fds(3) returns an error for it.
    let Ok(Some(range)) = passed() else { return Vec::new() };
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Vec::new();
    }
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let mut names = names.split(':').map(|name| Some(name.to_string()).filter(|name| !name.is_empty()));
    let mut taken = Vec::with_capacity(range.len());
    TAKEN_COUNT.store(range.len() as RawFd, Ordering::SeqCst);
    for fd in range {
        let name = names.next().flatten();
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
