//! The new process of an upgrade ([`crate::Upgrade`]): a start that found
//! `DAEMON_UPGRADE` addressed to it (`upgrade/state.rs`) takes these steps
//! on the daemon's half of its plan instead of forking.
//!
//! It is already detached: the old daemon's child, in its session, which
//! it does not lead, without a terminal. So it skips steps 4 to 6 (`fork`,
//! `setsid`, second `fork`), and at step 10 adopts the inherited locked
//! descriptor of the pid file instead of opening and locking it again
//! (locking it again would fail: the old process holds it). It takes the
//! others: stdio (7), umask and limits (8), chroot and working directory
//! (9), `init` and the privilege drop (11). Until it is ready, the pid file
//! is shared: neither a failure nor a signal here removes or unlocks it
//! (the old process still holds the same lock and serves). Once ready
//! (12), it writes its pid into the file, takes over its removal, and
//! reports on the old process's pipe, as a daemon reports to its launcher.
//!
//! A failure is reported on that pipe and the process leaves with the
//! code a launcher would have exited with.

use std::fmt::Display;
use std::os::fd::OwnedFd;

use crate::builder::Running;
use crate::error::{Error, Failure, Step};
use crate::sd_notify::ready::{self, Handover, Pending, Ready};
use crate::start::detach::{drop_privileges, enter_steps, redirect_stdio, run_init};
use crate::start::plan::{Detach, Paths};
use crate::start::report;
use crate::steps::pidfile::{self, PidFile};
use crate::sysexits::leave;
use crate::upgrade::state::{self, Inherited};

/// Reports `failure` to the old process and leaves with its code; the
/// shared pid file is left as it is.
fn fail(report: &OwnedFd, failure: Failure, paths: &Paths) -> ! {
    state::share_pid_file(true);
    let code = paths.error(failure).exit_code();
    let _ = report::send(report, Err(failure));
    leave(code)
}

impl Detach {
    /// The new process's steps (see the module's docs).
    pub(crate) fn take_over<T, E: Display>(
        self,
        paths: &Paths,
        inherited: Inherited,
        init: impl FnOnce() -> Result<T, E>,
    ) -> (Running, T) {
        let Detach {
            umask,
            core_dumps,
            double_fork: _,
            ready,
            chroot_dir,
            chdir_dir,
            pid_file,
            handed_lock: _,
            credentials,
            stdio,
            program: _,
            service_manager,
        } = self;
        let Inherited { lock, report } = inherited;
        // Shared from the first step: the old process still owns the file.
        state::share_pid_file(lock.is_some());
        if let Err(errno) = redirect_stdio(stdio, Ready::Auto, false) {
            fail(&report, Failure::Sys(Step::Stdio, errno), paths)
        }
        if let Err(failure) = enter_steps(umask, core_dumps, chroot_dir, chdir_dir) {
            fail(&report, failure, paths)
        }
        let (pid_file, claim) = match (pid_file, lock) {
            (Some((path, location)), Some(lock)) => match pidfile::adopt(&location, lock) {
                Ok(locked) => {
                    let mut pid_file = PidFile::from_lock(path, location, locked);
                    let claim = pid_file.claim();
                    (Some(pid_file), Some(claim))
                }
                Err(failure) => fail(&report, failure, paths),
            },
            // The old process had no pid file: this one locks its own now.
            (Some((path, location)), None) => match pidfile::lock_at(&location) {
                Ok(locked) => {
                    let mut pid_file = PidFile::from_lock(path, location, locked);
                    pid_file.remove_on_termination();
                    (Some(pid_file), None)
                }
                Err(failure) => fail(&report, failure, paths),
            },
            // This one has none configured: the old process's stays its own.
            (None, lock) => {
                drop(lock);
                state::share_pid_file(false);
                (None, None)
            }
        };
        // A failure from here removes a pid file this process locked
        // itself; an adopted one stays the old process's.
        let value = match run_init(init) {
            Ok(value) => value,
            Err(text) => {
                drop(pid_file);
                report::send_init_failure(&report, &text);
                leave(Error::Init { message: String::new() }.exit_code())
            }
        };
        if let Err(failure) = drop_privileges(credentials.as_ref()) {
            drop(pid_file);
            fail(&report, failure, paths)
        }
        let handover = Handover { report, claim, pid_file: paths.pid_file_seen_from_outside() };
        match ready {
            Ready::Auto => {
                handover.complete();
                if let Some(manager) = &service_manager {
                    manager.send_ready();
                }
            }
            Ready::Manual => {
                ready::defer(Pending { report: None, stdio: None, handover: Some(handover) });
            }
        }
        std::mem::forget(credentials);
        (Running::new(pid_file), value)
    }
}
