//! The launcher's side after the fork: wait for the daemon's report, then
//! exit 0, or stop what is left of the start and say what failed.
//!
//! Whatever the outcome but success, nothing of the start is left alive, and
//! only processes proven to be the start's are signalled. The launcher is a
//! child subreaper from before the fork, so the daemon, orphaned by the
//! intermediate process, becomes its child: a pid that cannot name another
//! process until the launcher reaps it. Where there is no subreaper, the
//! intermediate process stays the daemon's parent until the verdict
//! (`verdict.rs`).

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::deadline::Deadline;
use crate::error::Failure;
use crate::error::{Error, Step};
use crate::path::cstr::as_path;
use crate::sd_notify::ready::Ready;
use crate::sd_notify::receive::NotReady;
use crate::start::child::{describe, reap};
use crate::start::plan::Launcher;
use crate::start::report::{self, Outcome, Received};
use crate::start::verdict::Verdict;
use crate::sys;

/// How long a failed start's killed processes may take to close the report
/// pipe (a process the body moved out of the group could hold it forever).
const WRITERS_GONE: Duration = Duration::from_secs(1);

/// How long a failed start's launcher keeps killing and reaping the orphans
/// its subreaper role gave it (each killed one may have made more).
const ORPHANS_GONE: Duration = Duration::from_secs(1);

/// Makes the launcher the subreaper of what it forks: the daemon, orphaned
/// by the intermediate process, is re-parented to the launcher instead of
/// init, so its pid stays its own until the launcher reaps it.
///
/// Linux: `PR_SET_CHILD_SUBREAPER`; FreeBSD: `procctl(PROC_REAP_ACQUIRE)`;
/// macOS has no such thing (see [`sys::SUBREAPER`]).
pub(crate) fn adopt_orphans() -> Result<(), Error> {
    sys::subreaper(true)
        .map_err(|errno| Error::Sys { step: Step::Fork, errno: crate::error::errno::Errno::of(errno) })
}

impl Launcher {
    /// Reads the daemon's report. Exits 0 on "ready"; otherwise stops every
    /// process of the start, removes a pid file no one holds, and returns
    /// the error.
    pub(crate) fn wait_for_report(
        mut self,
        child: Pid,
        from_daemon: OwnedFd,
        verdict: Option<Verdict>,
    ) -> Error {
        let Received { outcome, daemon, pipe } =
            report::receive(from_daemon, self.timeout, self.paths.program.is_some(), self.relay.as_ref());
        let daemon = match self.double_fork {
            true => daemon.and_then(|pid| i32::try_from(pid).ok()).map(Pid::from_raw),
            false => Some(child),
        };
        // A step up to the pid file's failed, or the file was refused or
        // held: it is not this start's (the pid file step removes what it
        // made itself), so it is left alone.
        let may_have_made_pid_file = match &outcome {
            Outcome::Failed(Failure::Sys(step, _)) => !matches!(
                step,
                Step::Setsid
                    | Step::SecondFork
                    | Step::Stdio
                    | Step::Limits
                    | Step::Chroot
                    | Step::Chdir
                    | Step::PidFile
            ),
            Outcome::Failed(Failure::Refused(_) | Failure::AlreadyRunning(_) | Failure::LockedUnseen(_)) => {
                false
            }
            _ => true,
        };
        let error = match outcome {
            Outcome::Ready { pid } => {
                let notified = match &mut self.notify {
                    None => Ok(()),
                    Some(notify) => {
                        let notified = notify.await_ready(pid, self.timeout);
                        // Ready or not, no one else may receive what the
                        // program sends later (issue 26 C).
                        notify.remove_file();
                        notified
                    }
                };
                // A program that reported ready by `READY=1` ran its own
                // code first: it may have closed the lock's descriptor
                // (issue 27.2). At the exec report it has run none yet, so
                // there is nothing to check then.
                let notified = match (notified, &self.leftover, &self.paths.pid_file) {
                    (Ok(()), Some(leftover), Some(path))
                        if self.notify.is_some() && !leftover.held_by(pid) =>
                    {
                        Err(Ok(LockGone { path: as_path(path), pid }))
                    }
                    (notified, ..) => notified.map_err(Err),
                };
                match notified {
                    Ok(()) => {
                        if let Some(verdict) = verdict {
                            verdict.succeeded();
                        }
                        if self.double_fork {
                            // The intermediate process, gone right after the second fork.
                            reap(child);
                        }
                        std::process::exit(0)
                    }
                    Err(Ok(LockGone { path, pid })) => {
                        self.stop(child, daemon, &pipe, verdict);
                        Error::LockReleased { path, pid }
                    }
                    Err(Err(NotReady::Exited)) => {
                        self.stop(child, daemon, &pipe, verdict);
                        Error::Died { status: None }
                    }
                    Err(Err(NotReady::TimedOut)) => {
                        self.stop(child, daemon, &pipe, verdict);
                        // The program was to send `READY=1`, not call `ready()`.
                        Error::NotReady { timeout: self.timeout, manual: false }
                    }
                }
            }
            Outcome::Failed(failure) => {
                self.stop(child, daemon, &pipe, verdict);
                self.paths.error(failure)
            }
            Outcome::InitFailed(message) => {
                self.stop(child, daemon, &pipe, verdict);
                Error::Init { message }
            }
            Outcome::Silent => {
                // Every writer exited: the child's status says how, when it
                // is the daemon, or the intermediate process failed.
                // An intermediate process that exited 0 did its job: its
                // child, the daemon, died without a word.
                let status = self.stop(child, daemon, &pipe, verdict);
                let done =
                    |status: &WaitStatus| self.double_fork && matches!(status, WaitStatus::Exited(_, 0));
                Error::Died { status: status.filter(|status| !done(status)).and_then(describe) }
            }
            Outcome::TimedOut => {
                self.stop(child, daemon, &pipe, verdict);
                // With `exec`, the program was to send `READY=1`, not call `ready()`.
                let manual = self.ready == Ready::Manual && self.paths.program.is_none();
                Error::NotReady { timeout: self.timeout, manual }
            }
        };
        if may_have_made_pid_file && let Some(leftover) = &self.leftover {
            // The daemon may have created it and died, or dropped
            // privileges and could not remove it: no one holds it now.
            leftover.remove_if_stale();
        }
        // The caller may go on after the error: orphans are init's again.
        let _ = sys::subreaper(false);
        error
    }

    /// Kills and reaps what is left of a failed start, signalling only by
    /// proof; returns the child's status.
    ///
    /// While the child (intermediate process or daemon) is unreaped, its pid
    /// cannot be reused, nor can the id of the process group its `setsid`
    /// made (the same number): the group holds only the start's processes,
    /// or does not exist yet (`ESRCH`). The daemon's pid comes from its
    /// "started" record, sent before any code of the body ran; once the
    /// intermediate process is reaped the daemon is our child (we are its
    /// subreaper), so that pid is the daemon's, alive or a zombie, until we
    /// reap it, even if the body left the group. A daemon that failed
    /// before saying its pid was in the group: the pipe's end of file says
    /// it is gone.
    ///
    /// Without a subreaper, the intermediate process is still the daemon's
    /// parent (see [`crate::start::verdict`]): told of the failure, it kills and
    /// reaps the daemon first, then exits, unreaped, pinning the group's id.
    fn stop(
        &self,
        child: Pid,
        daemon: Option<Pid>,
        pipe: &OwnedFd,
        verdict: Option<Verdict>,
    ) -> Option<WaitStatus> {
        if let Some(verdict) = verdict {
            verdict.failed(child);
        }
        let _ = killpg(child, Signal::SIGKILL);
        let _ = kill(child, Signal::SIGKILL);
        report::await_end(pipe, WRITERS_GONE);
        let status = reap(child);
        // Without a subreaper the daemon is init's child now: its pid proves nothing.
        if let Some(daemon) = daemon.filter(|&daemon| sys::SUBREAPER && daemon != child) {
            let _ = kill(daemon, Signal::SIGKILL);
            reap(daemon);
        }
        if let Some(before) = &self.children_before {
            kill_orphans(before);
        }
        status
    }
}

/// Kills and reaps every child of the launcher that was not its child
/// before the fork (`before`): the orphans of the start's processes its
/// subreaper role made its own (a descendant of the daemon that left the
/// group with `setsid`, re-parented when the daemon was killed), again
/// until none is left (a killed one's own children come next), for at most
/// [`ORPHANS_GONE`]. The program's own children, listed in `before`, are
/// neither signalled nor reaped. Each pid is signalled while it is our
/// unreaped child, so it names that process; through a pidfd where there
/// is one, as every signal of the crate.
fn kill_orphans(before: &[u32]) {
    Deadline::after(ORPHANS_GONE).retry(Duration::from_millis(1), || {
        let Some(children) = sys::children() else { return Some(()) };
        let mut left = false;
        for pid in children.into_iter().filter(|pid| !before.contains(pid)) {
            let signalled = sys::ProcessHandle::open(pid).and_then(|handle| handle.signal(Signal::SIGKILL));
            let Ok(raw) = i32::try_from(pid) else { continue };
            if signalled.is_err() {
                let _ = kill(Pid::from_raw(raw), Signal::SIGKILL);
            }
            match waitpid(Pid::from_raw(raw), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => left = true,
                _ => {}
            }
        }
        let gone = !left && sys::children().is_some_and(|now| now.iter().all(|pid| before.contains(pid)));
        gone.then_some(())
    });
}

/// A program reported ready without holding its pid file's lock.
struct LockGone {
    path: PathBuf,
    pid: u32,
}
