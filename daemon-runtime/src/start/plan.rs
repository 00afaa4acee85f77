//! The plan of a start, built in the launching process before the first
//! fork (step 1), and split at the fork as std's process code splits a
//! spawn ("ours, theirs"): [`Launcher`] holds what the launching process
//! keeps to wait for the report and to clean up after a failure;
//! [`Detach`] holds what the daemon uses to take its steps. Each side owns
//! only its half, so neither reaches into the other's.
//!
//! Nothing in the daemon's half is built after the fork: every name is
//! resolved, every path walked, every C string and pointer array built
//! here, so that nothing between the forks allocates, formats or resolves.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::stat::Mode;

use crate::error::Failure;
use crate::error::Step;
use crate::path::cstr::as_path;
use crate::sd_notify::ready::{Ready, ServiceManager};
use crate::sd_notify::receive::NotifyReceiver;
use crate::start::program::Program;
use crate::start::report::Relay;
use crate::steps::pidfile;
use crate::steps::privileges::Credentials;

/// Both halves, until the fork splits them (or, in the foreground, the
/// daemon's half runs here and the launcher's names the paths in errors).
pub(crate) struct Plan {
    pub(crate) launcher: Launcher,
    pub(crate) daemon: Detach,
}

/// The launching process's half: how long to wait, what to relay, and the
/// configured paths, for messages and for removing a pid file no one holds.
pub(crate) struct Launcher {
    pub(crate) timeout: Duration,
    pub(crate) double_fork: bool,
    pub(crate) ready: Ready,
    pub(crate) paths: Paths,
    /// With manual readiness: the read ends of the daemon's stdout and stderr.
    pub(crate) relay: Option<Relay>,
    /// With [`Daemon::exec_notify`](crate::builder::Daemon::exec_notify):
    /// where the program sends `READY=1`.
    pub(crate) notify: Option<NotifyReceiver>,
    /// The pid file's directory as the daemon walked it (inside its
    /// chroot), to remove a file a failed start left there.
    pub(crate) leftover: Option<pidfile::Leftover>,
    /// The launcher's children before the fork, where it is a subreaper
    /// that can list them: a failed start kills and reaps every other child
    /// (the start's orphans), never these.
    pub(crate) children_before: Option<Vec<u32>>,
}

/// The configured paths, absolute, as the user wrote them.
pub(crate) struct Paths {
    pub(crate) chroot: Option<CString>,
    pub(crate) chdir: CString,
    pub(crate) pid_file: Option<CString>,
    /// With [`Daemon::exec`](crate::builder::Daemon::exec): the program.
    pub(crate) program: Option<CString>,
}

/// The daemon's half: the steps after the fork, on what step 1 prepared.
pub(crate) struct Detach {
    pub(crate) umask: Mode,
    pub(crate) core_dumps: bool,
    pub(crate) double_fork: bool,
    pub(crate) ready: Ready,
    /// The directories the launcher walked (see [`crate::path::walk`]):
    /// the daemon enters them with `fchdir`, never by path.
    pub(crate) chroot_dir: Option<OwnedFd>,
    pub(crate) chdir_dir: OwnedFd,
    /// The pid file's path (what [`PidFile::path`](crate::PidFile::path)
    /// says) and its walked directory.
    pub(crate) pid_file: Option<(CString, pidfile::Location)>,
    /// The pid file's lock that the launcher which executed this program
    /// handed down (`steps/lock_handover.rs`): kept by the daemon, never by
    /// the launcher, so the lock stays held wherever the daemon runs.
    pub(crate) handed_lock: Option<OwnedFd>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) stdio: Stdio,
    /// With [`Daemon::exec`](crate::builder::Daemon::exec): what runs in
    /// place of a body.
    pub(crate) program: Option<Program>,
    /// `$NOTIFY_SOCKET`, resolved now so that the daemon reports to it
    /// without allocating.
    pub(crate) service_manager: Option<ServiceManager>,
}

/// Step 7's descriptors.
pub(crate) struct Stdio {
    pub(crate) devnull: OwnedFd,
    /// The log files; `/dev/null` where none is configured.
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
    /// With manual readiness: the write ends of the relay, stdout and stderr
    /// until `ready()`.
    pub(crate) relay: Option<[OwnedFd; 2]>,
}

impl Plan {
    /// The descriptors step 1 opened, which closing the inherited ones keeps.
    /// Pushed one by one: a chain of iterators here cost some 4 KiB of code.
    pub(crate) fn own_fds(&self, keep: &mut Vec<RawFd>) {
        let daemon = &self.daemon;
        let stdio = &daemon.stdio;
        let owned = [
            Some(&stdio.devnull),
            stdio.stdout.as_ref(),
            stdio.stderr.as_ref(),
            daemon.chroot_dir.as_ref(),
            daemon.handed_lock.as_ref(),
        ];
        for fd in owned.into_iter().flatten().chain([&daemon.chdir_dir]) {
            keep.push(fd.as_raw_fd());
        }
        for fd in stdio.relay.iter().flatten() {
            keep.push(fd.as_raw_fd());
        }
        if let Some((_, location)) = &daemon.pid_file {
            keep.extend(location.fds());
        }
        if let Some(notify) = &self.launcher.notify {
            keep.push(notify.raw_fd());
        }
        if let Some(relay) = &self.launcher.relay {
            keep.extend(relay.fds());
        }
        if let Some(leftover) = &self.launcher.leftover {
            keep.push(leftover.raw_fd());
        }
    }
}

impl Launcher {
    /// In the daemon, right after the fork: the launcher's descriptors are
    /// closed, its strings left to the daemon's exit (the daemon frees
    /// nothing it need not, DESIGN.md invariant 2).
    pub(crate) fn close_in_daemon(self) {
        let Launcher {
            timeout: _,
            double_fork: _,
            ready: _,
            paths,
            relay,
            notify,
            leftover,
            children_before,
        } = self;
        std::mem::forget(children_before);
        drop(relay);
        if let Some(notify) = notify {
            notify.close_in_daemon();
        }
        if let Some(leftover) = leftover {
            leftover.close_in_daemon();
        }
        std::mem::forget(paths);
    }
}

impl Paths {
    /// Turns what a step reported into an error naming the configured path.
    pub(crate) fn error(&self, failure: Failure) -> crate::error::Error {
        failure.into_error(|step| match step {
            Step::Chdir => Some(as_path(&self.chdir)),
            Step::Chroot => self.chroot.as_deref().map(as_path),
            Step::PidFile => self.pid_file.as_deref().map(as_path),
            Step::Exec => self.program.as_deref().map(as_path),
            _ => None,
        })
    }

    /// The pid file's path as the launcher sees it (inside the chroot for the daemon).
    pub(crate) fn pid_file_seen_from_outside(&self) -> Option<PathBuf> {
        let pid_file = as_path(self.pid_file.as_deref()?);
        Some(match &self.chroot {
            Some(root) => as_path(root).join(pid_file.strip_prefix("/").unwrap_or(&pid_file)),
            None => pid_file,
        })
    }
}
