//! The pid file's lock that a launcher built on this runtime hands to the
//! program it executes ([`Daemon::exec`](crate::Daemon::exec),
//! `daemon-run`), announced as `LISTEN_FDS` announces sockets:
//! `DAEMON_LOCK_FD=<descriptor>` and `DAEMON_LOCK_PID=<the program's pid>`
//! (written right before the `exec`, `env_pids.rs`).
//!
//! A start of that program (a `#[daemon]` binary run by `daemon-run`)
//! closes the descriptors it inherits, and would close the lock with them:
//! the pid file would then be locked by no one while the daemon runs, and
//! `status` and `stop` would not find it (issue 27.2). Instead, a start
//! that finds the announcement addressed to itself takes the descriptor
//! ([`take`]): kept through step 2, close-on-exec (nothing the daemon runs
//! later inherits it), shared by the detached daemon, so the lock never
//! lapses. What becomes of it then depends on the program's own pid file
//! (`start/detach.rs`, `lock_steps`): the same lock file is adopted, as an
//! upgrade adopts its old process's (`steps/pidfile.rs`, `adopt`); any
//! other pid file, or none, leaves it held beside, for the daemon's life.

use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::stat::{SFlag, fstat};

use crate::lock::flock;
use crate::path::walk;

// The announcement's two variables: named in `env_pids.rs`, the table of
// the variables a start rewrites to a pid.
pub(crate) use crate::steps::env_pids::{LOCK_FD_VARIABLE as FD_VARIABLE, LOCK_PID_VARIABLE as PID_VARIABLE};

/// The announced descriptor, when the announcement is addressed to this
/// process and holds up: `DAEMON_LOCK_PID` is this process's pid, and
/// `DAEMON_LOCK_FD` names an open descriptor above stdio, outside the
/// sockets a service manager passed and outside `keep_fds` (the caller
/// keeps those open itself), on a regular file, whose open file
/// description holds the file's exclusive lock (a `flock(LOCK_EX|LOCK_NB)`
/// on a description that holds it succeeds and changes nothing; one that
/// another description holds fails, and the descriptor is not the lock).
/// It is made close-on-exec. The variables are removed either way, as
/// sd_listen_fds(3) removes its own: they were meant for this process, or
/// for none that a child of it could be.
///
/// An announcement that does not hold up takes nothing: the descriptor is
/// then a stray like any other (closed at step 2 unless kept).
///
/// # Safety
///
/// The process must run one thread (the environment is changed), and the
/// call be made once, before step 2 closes the inherited descriptors.
pub(crate) unsafe fn take(keep_fds: &[RawFd]) -> Option<OwnedFd> {
    let fd = std::env::var_os(FD_VARIABLE)?;
    let pid = std::env::var_os(PID_VARIABLE);
    for name in [FD_VARIABLE, PID_VARIABLE] {
        // SAFETY: the caller guarantees a single thread, so nothing reads
        // the environment meanwhile.
        unsafe { std::env::remove_var(name) };
    }
    let pid: u32 = pid?.to_str()?.parse().ok()?;
    let fd: RawFd = fd.to_str()?.parse().ok()?;
    let passed = crate::steps::activation::kept();
    if pid != std::process::id() || fd <= 2 || passed.contains(&fd) || keep_fds.contains(&fd) {
        return None;
    }
    crate::steps::fds::fd_flags(fd).ok()?;
    // SAFETY: `fd` is open (just checked) and stays so for this borrow: this
    // process runs one thread, and nothing else closes it meanwhile.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    if walk::kind(&fstat(borrowed).ok()?) != SFlag::S_IFREG {
        return None;
    }
    flock(borrowed, libc::LOCK_EX | libc::LOCK_NB).ok()?;
    fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).ok()?;
    // SAFETY: by the protocol the descriptor was left open for this process
    // (its pid named), it is open (checked above), and the variables that
    // named it are gone, so it is taken once; nothing else of the runtime
    // owns it (not a passed socket, not in `keep_fds`).
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}
