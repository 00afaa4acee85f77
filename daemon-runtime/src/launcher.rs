//! The launcher's side after the fork: wait for the daemon's report, then
//! exit 0 or say what failed.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::error::{self, Error, Step};
use crate::notify::NotReady;
use crate::pidfile;
use crate::readiness::Ready;
use crate::report::{self, Failure, Outcome};
use crate::start::{Prepared, as_path};

impl Prepared {
    /// Reads the daemon's report. Exits 0 on "ready"; returns the error
    /// otherwise, once the failed processes have exited.
    pub(crate) fn wait_for_report(&self, child: Pid, from_daemon: OwnedFd) -> Error {
        let outcome = report::receive(from_daemon, self.timeout, self.exec.is_some(), || {
            // The daemon and anything it started share the process group
            // that `setsid` made, numbered after our child.
            let _ = killpg(child, Signal::SIGKILL);
        });
        // The child is the intermediate process (gone right after the second
        // fork) or, without a double fork, the daemon itself (only waited for
        // when it failed).
        let ready = matches!(outcome, Outcome::Ready { .. });
        let status = if self.double_fork || !ready { reap(child) } else { None };
        match outcome {
            Outcome::Ready { pid } => match self.exec.as_ref().and_then(|exec| exec.notify.as_ref()) {
                None => std::process::exit(0),
                Some(notify) => match notify.await_ready(pid, self.timeout) {
                    Ok(()) => std::process::exit(0),
                    Err(NotReady::Exited) => {
                        // The program held the lock, not its removal: clean up after it.
                        if let Some(path) = self.pid_file_seen_from_outside() {
                            pidfile::remove_if_stale(&path);
                        }
                        Error::Died { status: None }
                    }
                    Err(NotReady::TimedOut) => self.time_out(child),
                },
            },
            Outcome::Failed(failure) => self.error(failure),
            Outcome::InitFailed(message) => Error::Init { message },
            Outcome::Silent => {
                Error::Died { status: status.and_then(|status| describe(status, self.double_fork)) }
            }
            Outcome::TimedOut => self.time_out(child),
        }
    }

    /// The daemon was not ready in time: its process group is killed (again,
    /// harmlessly, when the report pipe's timeout already did) and a pid
    /// file it left is removed.
    fn time_out(&self, child: Pid) -> Error {
        let _ = killpg(child, Signal::SIGKILL);
        if let Some(path) = self.pid_file_seen_from_outside() {
            pidfile::remove_if_stale(&path);
        }
        // With `exec`, the program was to send `READY=1`, not call `ready()`.
        let manual = self.ready == Ready::Manual && self.exec.is_none();
        Error::NotReady { timeout: self.timeout, manual }
    }

    /// The pid file's path as the launcher sees it (inside the chroot for the daemon).
    fn pid_file_seen_from_outside(&self) -> Option<PathBuf> {
        let pid_file = as_path(self.pid_file.as_deref()?);
        Some(match &self.chroot {
            Some(root) => as_path(root).join(pid_file.strip_prefix("/").unwrap_or(&pid_file)),
            None => pid_file,
        })
    }

    /// Turns what a step reported into an error naming the configured path.
    pub(crate) fn error(&self, failure: Failure) -> Error {
        error::from_failure(failure, |step| match step {
            Step::Chdir => Some(as_path(&self.chdir)),
            Step::Chroot => self.chroot.as_deref().map(as_path),
            Step::PidFile => self.pid_file.as_deref().map(as_path),
            Step::Exec => self.exec.as_ref().map(|exec| as_path(&exec.program)),
            _ => None,
        })
    }
}

/// Waits for `child`, retrying `EINTR`.
fn reap(child: Pid) -> Option<WaitStatus> {
    loop {
        match waitpid(child, None) {
            Err(Errno::EINTR) => {}
            other => return other.ok(),
        }
    }
}

/// How the launcher's child ended, when that says something: an
/// intermediate process that exited 0 did its job (its child died silently).
fn describe(status: WaitStatus, double_fork: bool) -> Option<String> {
    match status {
        WaitStatus::Exited(_, 0) if double_fork => None,
        WaitStatus::Exited(_, code) => Some(format!("exited with status {code}")),
        WaitStatus::Signaled(_, signal, _) => Some(format!("was killed by {signal}")),
        _ => None,
    }
}
