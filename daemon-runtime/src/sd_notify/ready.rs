//! Telling the launcher, and a service manager, that the daemon is ready;
//! in the new process of an upgrade, taking the pid file over and telling
//! the old process ([`Handover`]).

use std::os::fd::OwnedFd;
use std::sync::Mutex;

use nix::unistd;

use crate::error::{Failure, Step};
pub(crate) use crate::sd_notify::send::ServiceManager;
use crate::start::report;
use crate::steps::pidfile::Claim;
use crate::sysexits::{self, leave};
use crate::upgrade::state;

/// When the launching command may return.
///
/// ```
/// use daemon_runtime::{Daemon, Ready};
/// let daemon = Daemon::new().ready(Ready::Manual);
/// # drop(daemon);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ready {
    /// As soon as every step succeeded, before the body runs.
    #[default]
    Auto,
    /// When the body calls [`ready`]: after binding its sockets, loading its
    /// configuration... Until then, what the body prints reaches the
    /// launcher's stdout and stderr (copied by the launcher: the daemon never
    /// holds its terminal), and a body that returns an error, panics or exits
    /// makes the launcher fail with what it printed.
    Manual,
}

/// What `ready` still has to do: set by the start in manual mode.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The pipe to the launcher; none in the foreground.
    pub(crate) report: Option<OwnedFd>,
    /// Where standard output and error go once ready; none in the foreground.
    pub(crate) stdio: Option<(OwnedFd, OwnedFd)>,
    /// In the new process of an upgrade: what it does once ready.
    pub(crate) handover: Option<Handover>,
}

static PENDING: Mutex<Option<Pending>> = Mutex::new(None);

pub(crate) fn defer(pending: Pending) {
    *PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(pending);
}

/// Reports that the daemon is ready: with [`Ready::Manual`], switches
/// standard output and error from the launcher's to the configured files (or
/// `/dev/null`) and lets the launcher exit 0; in every mode, sends `READY=1`
/// and `MAINPID` to `$NOTIFY_SOCKET` when a service manager set one (a path
/// or an abstract `@` address).
///
/// Calling it again, or without a launcher waiting, does no harm; after
/// [`notify_reloading`](crate::notify_reloading), calling it again is how a
/// `Type=notify-reload` service says the reload is complete.
///
/// ```no_run
/// let running = daemon_runtime::Daemon::new()
///     .ready(daemon_runtime::Ready::Manual)
///     .start()
///     .unwrap_or_else(|error| error.exit());
/// // An error here is printed by the launcher, which then fails.
/// let listener = std::net::TcpListener::bind("127.0.0.1:8080").expect("bind");
/// daemon_runtime::ready(); // the launcher exits 0: the port accepts connections
/// # drop((running, listener));
/// ```
pub fn ready() {
    let pending = PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    if let Some(pending) = pending {
        if let Some(handover) = pending.handover {
            handover.complete();
        }
        // Output written from now on goes where it was configured to.
        if let Some((stdout, stderr)) = pending.stdio {
            let _ = unistd::dup2_stdout(&stdout);
            let _ = unistd::dup2_stderr(&stderr);
        }
        if let Some(report) = pending.report
            && report::lost(report::send(&report, Ok(())))
        {
            // The launcher waits for a record that cannot arrive and will
            // report a failure: leave rather than run unseen. The launcher,
            // still root, removes the pid file once this process is gone.
            leave(sysexits::EX_OSERR)
        }
    }
    notify_service_manager();
}

/// What the new process of an upgrade (`start/takeover.rs`) does once
/// ready: claim the pid file, tell the old process.
#[derive(Debug)]
pub(crate) struct Handover {
    /// The pipe to the old process.
    pub(crate) report: OwnedFd,
    /// The inherited pid file, to take over.
    pub(crate) claim: Option<Claim>,
    /// Its path, for messages.
    pub(crate) pid_file: Option<std::path::PathBuf>,
}

impl Handover {
    /// Writes this process's pid into the pid file and makes it this
    /// process's, then sends "ready" to the old process. A pid that cannot
    /// be written fails the upgrade (reported, then this process leaves:
    /// the old one keeps the file and serves on).
    pub(crate) fn complete(self) {
        let Handover { report, claim, pid_file } = self;
        if let Some(claim) = claim
            && let Err(errno) = claim.take_over()
        {
            state::share_pid_file(true);
            let failure = Failure::Sys(Step::PidFile, errno);
            let code = failure.into_error(|_| pid_file.clone()).exit_code();
            let _ = report::send(&report, Err(failure));
            leave(code)
        }
        // An old process that is gone (`EPIPE`) waits for nothing: this
        // one holds the lock alone now, and runs on.
        if report::lost(report::send_ready(&report, true)) {
            leave(sysexits::EX_OSERR)
        }
    }
}

/// `READY=1` and `MAINPID=<this pid>` to `$NOTIFY_SOCKET`, when set.
pub(crate) fn notify_service_manager() {
    if let Some(manager) = ServiceManager::from_env() {
        manager.send_ready();
    }
}
