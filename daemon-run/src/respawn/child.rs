//! Whether PROGRAM has ended, checked each time the supervisor wakes.
//!
//! On Linux, `waitid(WNOWAIT)` sees the end without reaping: while the
//! zombie keeps its pid, its process group id cannot be reused, so the
//! supervisor's `killpg` of what is left of the group surely reaches
//! PROGRAM's processes only. Elsewhere, and on Linux built with `--cfg
//! daemon_portable`, `waitpid(WNOHANG)` (macOS's `waitid` is not one nix
//! offers) reaps at once (the runtime's `sys/` chooses between the two:
//! `__private::child_ended`): the group id then stays unused by others only
//! while a process of the group lives, which is the case where the
//! `killpg` matters; with the group empty, a new process would have to be
//! given that very pid and make itself a group leader between the reaping
//! and the `killpg`, microseconds apart, to be signalled.

use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

/// PROGRAM has ended: seen, on Linux not yet reaped.
pub struct Ended {
    child: Pid,
    /// Already reaped (the portable path): how it ended.
    status: Option<WaitStatus>,
}

/// `Some` once `child` has ended (or cannot be waited for any more).
pub fn ended(child: Pid) -> Option<Ended> {
    daemon_runtime::__private::child_ended(child).map(|status| Ended { child, status })
}

impl Ended {
    /// `child`, about to be reaped whether it has ended or not (it was
    /// just sent SIGKILL).
    pub fn unknown(child: Pid) -> Ended {
        Ended { child, status: None }
    }

    /// Reaps PROGRAM, if not done yet: how it ended.
    pub fn reap(self) -> WaitStatus {
        let status = self.status.or_else(|| daemon_runtime::__private::reap(self.child));
        status.unwrap_or(WaitStatus::Exited(self.child, 0))
    }
}

/// The longest the supervisor waits for what is left of PROGRAM's group.
const GROUP_GONE: std::time::Duration = std::time::Duration::from_millis(500);

/// Waits until no process of `group` (PROGRAM's, sent SIGKILL just before,
/// PROGRAM itself reaped) is left, for at most [`GROUP_GONE`]: a SIGKILL
/// takes effect a moment after it is sent, and `--stop` returns once the
/// supervisor has exited, so without this wait a child PROGRAM left (a
/// shell's `sleep`) could outlive `--stop` by that moment. Those reparented
/// to the supervisor (its subreaper, on Linux) are reaped on the way; any
/// other's end is its new parent's to reap.
pub fn await_group_gone(group: Pid) {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    let deadline = std::time::Instant::now() + GROUP_GONE;
    let members = Pid::from_raw(-group.as_raw());
    while nix::sys::signal::killpg(group, None).is_ok() && std::time::Instant::now() < deadline {
        while let Ok(status) = waitpid(members, Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
