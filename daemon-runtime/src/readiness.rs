//! Telling the launcher, and a service manager, that the daemon is ready.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::Mutex;

use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr, sendto, socket};

use nix::unistd;

use crate::report;

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
/// Calling it again, or without a launcher waiting, does no harm.
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
            crate::detached::leave(crate::sysexits::EX_OSERR)
        }
        notify_service_manager();
    }
}

/// `READY=1` and `MAINPID=<this pid>` to `$NOTIFY_SOCKET`, when set.
pub(crate) fn notify_service_manager() {
    if let Some(manager) = ServiceManager::from_env() {
        manager.send_ready();
    }
}

/// `$NOTIFY_SOCKET`, a path or an abstract address written `@name` (the
/// `sd-notify` crate handles only paths), resolved in the launcher so that
/// the daemon can report between the forks without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServiceManager {
    address: UnixAddr,
}

impl ServiceManager {
    pub(crate) fn from_env() -> Option<ServiceManager> {
        let address = std::env::var_os("NOTIFY_SOCKET")?;
        let address = match address.as_bytes().strip_prefix(b"@") {
            Some(name) => UnixAddr::new_abstract(name),
            None => UnixAddr::new(address.as_os_str()),
        };
        address.ok().map(|address| ServiceManager { address })
    }

    /// Sends `MAINPID=<this pid>` and `READY=1`. Async-signal-safe: the
    /// message is formatted on the stack. Errors are ignored: a service
    /// manager that cannot be reached times the service out itself.
    pub(crate) fn send_ready(&self) {
        let mut pid = [0u8; 24];
        let pid = crate::pidfile::format_pid(std::process::id(), &mut pid);
        let mut message = [0u8; 48];
        let mut len = 0;
        for part in [b"MAINPID=".as_slice(), pid, b"READY=1\n"] {
            message[len..len + part.len()].copy_from_slice(part);
            len += part.len();
        }
        let Ok(socket) = socket(AddressFamily::Unix, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None) else {
            return;
        };
        let _ = sendto(socket.as_raw_fd(), &message[..len], &self.address, MsgFlags::MSG_NOSIGNAL);
    }
}
