//! [`Prepared`]: what step 1 builds in the launcher for both sides of the
//! fork. Built by `start.rs`; the daemon's side (`detached.rs`) and the
//! launcher's (`launcher.rs`) each implement their half on it, so neither
//! imports the other nor the start.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::time::Duration;

use nix::sys::stat::Mode;

use crate::path::cstr::CStringArray;
use crate::sd_notify::ready::{Ready, ServiceManager};
use crate::sd_notify::receive::NotifySocket;
use crate::start::report::Relay;
use crate::steps::pidfile;
use crate::steps::privileges::Credentials;

/// Everything the daemon's side needs, built before the first fork so that
/// nothing between the forks allocates, formats or resolves a name.
pub(crate) struct Prepared {
    pub(crate) umask: Mode,
    pub(crate) core_dumps: bool,
    pub(crate) double_fork: bool,
    pub(crate) ready: Ready,
    pub(crate) timeout: Duration,
    /// The configured paths, for messages and the launcher's cleanup.
    pub(crate) chroot: Option<CString>,
    pub(crate) chdir: CString,
    pub(crate) pid_file: Option<CString>,
    /// The directories, walked in the launcher (see [`crate::path::walk`]):
    /// the daemon enters them with `fchdir`, never by path.
    pub(crate) chroot_dir: Option<OwnedFd>,
    pub(crate) chdir_dir: Option<OwnedFd>,
    pub(crate) pid_location: Option<pidfile::Location>,
    pub(crate) credentials: Option<Credentials>,
    /// Taken by the stdio step.
    pub(crate) devnull: Option<OwnedFd>,
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
    /// With manual readiness: where stdout and stderr go once ready.
    pub(crate) deferred_stdio: Option<(OwnedFd, OwnedFd)>,
    /// With manual readiness: stdout and stderr until then, relayed by the launcher.
    pub(crate) relay: Option<Relay>,
    /// With [`Daemon::exec`]: the program and its arguments.
    pub(crate) exec: Option<Exec>,
    /// `$NOTIFY_SOCKET`, resolved now so that the daemon reports to it
    /// without allocating.
    pub(crate) service_manager: Option<ServiceManager>,
}

/// A program to execute in place of the daemon's body: C strings and the
/// null-terminated pointer array `execv` wants, built before forking.
pub(crate) struct Exec {
    pub(crate) program: CString,
    /// The program's path, then its arguments.
    pub(crate) argv: CStringArray,
    /// With [`Daemon::exec_notify`]: the socket the program reports on.
    pub(crate) notify: Option<NotifySocket>,
}
