//! Whether PROGRAM has ended, checked each time the supervisor wakes.
//!
//! On Linux, `waitid(WNOWAIT)` sees the end without reaping: while the
//! zombie keeps its pid, its process group id cannot be reused, so the
//! supervisor's `killpg` of what is left of the group surely reaches
//! PROGRAM's processes only. Elsewhere, and on Linux built with `--cfg
//! daemon_portable`, `waitpid(WNOHANG)` (macOS's `waitid` is not one nix
//! offers) reaps at once: the group id then stays unused by others only
//! while a process of the group lives, which is the case where the
//! `killpg` matters; with the group empty, a new process would have to be
//! given that very pid and make itself a group leader between the reaping
//! and the `killpg`, microseconds apart, to be signalled.

use nix::errno::Errno;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

/// PROGRAM has ended: seen, on Linux not yet reaped.
pub struct Ended {
    child: Pid,
    /// Already reaped (the portable path): how it ended.
    status: Option<WaitStatus>,
}

/// `Some` once `child` has ended (or cannot be waited for any more).
#[cfg(all(target_os = "linux", not(daemon_portable)))]
pub fn ended(child: Pid) -> Option<Ended> {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    match waitid(Id::Pid(child), WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT) {
        Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => None,
        _ => Some(Ended { child, status: None }),
    }
}

/// `Some` once `child` has ended (or cannot be waited for any more).
#[cfg(not(all(target_os = "linux", not(daemon_portable))))]
pub fn ended(child: Pid) -> Option<Ended> {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => None,
        Ok(status) => Some(Ended { child, status: Some(status) }),
        Err(_) => Some(Ended { child, status: Some(WaitStatus::Exited(child, 0)) }),
    }
}

impl Ended {
    /// Reaps PROGRAM, if not done yet: how it ended.
    pub fn reap(self) -> WaitStatus {
        let status = self.status.or_else(|| daemon_runtime::__private::reap(self.child));
        status.unwrap_or(WaitStatus::Exited(self.child, 0))
    }
}
