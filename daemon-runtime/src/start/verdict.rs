//! Where the launcher cannot be the daemon's subreaper (macOS; Linux built
//! with `--cfg daemon_portable`, so that the tests run this path), the
//! intermediate process of a double fork stays the daemon's parent until the
//! launcher's verdict, instead of leaving at once.
//!
//! A parent is what pins a pid: until the intermediate process reaps it, the
//! daemon's pid names the daemon (alive or a zombie), even if the body left
//! the process group. So a failed start still stops a daemon that moved to
//! a group or session of its own, which the group's `SIGKILL` misses.
//!
//! The verdict is one byte on a pipe made before the first fork. "Failed"
//! makes the intermediate process kill the daemon and reap it; "succeeded",
//! or the end of file of a launcher killed while it waited, makes it leave
//! at once, as it does with a subreaper: the daemon runs on, orphaned (a
//! launcher killed from outside does not stop its daemon, on any platform).
//! Everything the intermediate process runs is async-signal-safe: `read`,
//! `kill`, `waitpid`, `_exit`.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{self, Pid};

use crate::sysexits::leave;

/// The byte that says the start succeeded: the daemon runs on.
const SUCCEEDED: u8 = b'+';
/// The byte that says the start failed: the daemon is killed.
const FAILED: u8 = b'-';

/// Both ends of the verdict pipe, made before the first fork.
#[derive(Debug)]
pub(crate) struct VerdictPipe {
    /// The intermediate process's end.
    awaited: OwnedFd,
    /// The launcher's end.
    given: OwnedFd,
}

impl VerdictPipe {
    /// The pipe, for a double fork without a subreaper.
    pub(crate) fn new() -> nix::Result<VerdictPipe> {
        let (awaited, given) = crate::start::report::cloexec_pipe()?;
        Ok(VerdictPipe { awaited, given })
    }

    /// The descriptors, to keep while inherited ones are closed.
    pub(crate) fn fds(&self) -> [RawFd; 2] {
        [self.awaited.as_raw_fd(), self.given.as_raw_fd()]
    }

    /// The launcher's side after the first fork.
    pub(crate) fn into_launcher_end(self) -> Verdict {
        Verdict(self.given)
    }

    /// The child's side after the first fork: the end the intermediate
    /// process waits on (the daemon closes it after the second fork).
    pub(crate) fn into_awaited_end(self) -> OwnedFd {
        self.awaited
    }
}

/// The launcher's end: how it tells the intermediate process the outcome.
#[derive(Debug)]
pub(crate) struct Verdict(OwnedFd);

impl Verdict {
    /// The start succeeded: the intermediate process leaves, and the
    /// daemon, orphaned, runs on. If the byte cannot be written (the
    /// intermediate process was killed from outside), the daemon is init's
    /// child already and runs on all the same.
    pub(crate) fn succeeded(self) {
        let _ = unistd::write(&self.0, &[SUCCEEDED]);
    }

    /// The start failed: the intermediate process kills the daemon, reaps it
    /// and exits. Returns once it has exited, unreaped, so that its pid (the
    /// id of the process group it made) is still pinned for the group's
    /// `SIGKILL` that follows.
    pub(crate) fn failed(self, intermediate: Pid) {
        if unistd::write(&self.0, &[FAILED]).is_err() {
            return; // the intermediate process is gone already
        }
        drop(self.0);
        await_exit_unreaped(intermediate);
    }
}

/// Blocks until `child` has exited, leaving it unreaped (`WNOWAIT`).
/// libc's `waitid`: nix has none for macOS.
fn await_exit_unreaped(child: Pid) {
    // A child's pid is positive: it fits `id_t` (unsigned or wider) everywhere.
    let id = child.as_raw() as libc::id_t;
    let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::uninit();
    loop {
        // SAFETY: `info` is valid for writes of a `siginfo_t`, which is all
        // waitid does with it; it is never read here.
        let res = unsafe { libc::waitid(libc::P_PID, id, info.as_mut_ptr(), libc::WEXITED | libc::WNOWAIT) };
        if res == 0 || Errno::last() != Errno::EINTR {
            return;
        }
    }
}

/// The intermediate process, after forking `daemon`: waits for the verdict
/// on `awaited`, kills and reaps the daemon if the start failed, and exits 0.
pub(crate) fn await_in_intermediate(awaited: OwnedFd, daemon: Pid) -> ! {
    let mut byte = [0u8; 1];
    // A read of a pipe fails only when interrupted (or when a fault is
    // injected): retried, since giving up would leave a daemon the launcher
    // may be about to report failed.
    let mut errors_left = 8;
    let failed = loop {
        match unistd::read(&awaited, &mut byte) {
            Err(Errno::EINTR) => {}
            Err(_) if errors_left > 0 => errors_left -= 1,
            Ok(1) => break byte[0] == FAILED,
            // End of file: the launcher was killed and said nothing.
            _ => break false,
        }
    };
    // Waiting for a daemon the kill missed would hang the launcher, which
    // waits for this process: only a delivered SIGKILL is waited for.
    if failed && (0..8).any(|_| kill(daemon, Signal::SIGKILL).is_ok()) {
        crate::start::child::reap(daemon);
    }
    leave(0)
}
