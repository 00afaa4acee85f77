//! A child process's end: waiting for it ([`reap`]) and saying how it
//! ended ([`describe`]). The launcher (its child, and the daemon it
//! adopted), the intermediate process, an upgrade (its new process) and
//! `daemon-run`'s supervisor (PROGRAM, through `__private`) all go
//! through here.

use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

/// Waits for `child` to end and reaps it, retrying `EINTR`; `None` when it
/// cannot be waited for (not a child, or reaped already). Allocates
/// nothing: the intermediate process calls it between the forks.
pub fn reap(child: Pid) -> Option<WaitStatus> {
    loop {
        match waitpid(child, None) {
            Err(Errno::EINTR) => {}
            other => return other.ok(),
        }
    }
}

/// How a child ended, in the words of the launcher's `error: report: the
/// daemon … before it was ready` and of `daemon-run`'s supervisor: `exited
/// with status N` or `was killed by SIGNAL`; `None` for a status that is
/// no end (stopped, continued).
///
/// ```
/// use daemon_runtime::__private::describe;
/// use nix::sys::{signal::Signal, wait::WaitStatus};
/// use nix::unistd::Pid;
/// let pid = Pid::from_raw(42);
/// assert_eq!(describe(WaitStatus::Exited(pid, 3)).as_deref(), Some("exited with status 3"));
/// assert_eq!(describe(WaitStatus::Signaled(pid, Signal::SIGKILL, false)).as_deref(), Some("was killed by SIGKILL"));
/// assert_eq!(describe(WaitStatus::Stopped(pid, Signal::SIGSTOP)), None);
/// ```
pub fn describe(status: WaitStatus) -> Option<String> {
    match status {
        WaitStatus::Exited(_, code) => Some(format!("exited with status {code}")),
        WaitStatus::Signaled(_, signal, _) => Some(format!("was killed by {signal}")),
        _ => None,
    }
}
