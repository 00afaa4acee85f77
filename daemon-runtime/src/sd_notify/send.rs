//! Notifications to a service manager (sd_notify(3)): readiness, status,
//! reloads, shutdown, timeout extensions and the watchdog.
//!
//! Every message is one datagram to `$NOTIFY_SOCKET` (a path, or an abstract
//! address written `@name`, which the `sd-notify` crate cannot reach), sent
//! from a fresh socket with `MSG_DONTWAIT`: a full or absent manager never
//! blocks the daemon, and any thread may send. Without `$NOTIFY_SOCKET` each
//! function does nothing. The manager learns the sender's pid from the
//! kernel (`SCM_CREDENTIALS`), so messages come from the process itself.
//!
//! systemd is Linux's: elsewhere `$NOTIFY_SOCKET` is ignored, as if unset,
//! and every function here does nothing (see `sys/`).

use std::sync::OnceLock;
use std::time::Duration;

use nix::sys::socket::UnixAddr;

use crate::lock::pid_text::decimal;
use crate::sys;

/// `$NOTIFY_SOCKET`, resolved into an address that can be sent to without
/// allocating (between the forks, or from a signal handler).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServiceManager {
    address: UnixAddr,
}

/// The first address resolved in this process (the launcher resolves it
/// before forking), for the termination handler's `STOPPING=1`: a signal
/// handler may read an initialized `OnceLock`, never the environment.
static FOR_SIGNALS: OnceLock<ServiceManager> = OnceLock::new();

impl ServiceManager {
    /// `$NOTIFY_SOCKET`, when it is set and a valid address (never off Linux).
    pub(crate) fn from_env() -> Option<ServiceManager> {
        let address = sys::notify_address(&std::env::var_os("NOTIFY_SOCKET")?)?;
        let manager = ServiceManager { address };
        let _ = FOR_SIGNALS.set(manager);
        Some(manager)
    }

    /// Sends `MAINPID=<this pid>` and `READY=1`. Async-signal-safe: the
    /// message is formatted on the stack. Errors are ignored: a service
    /// manager that cannot be reached times the service out itself.
    pub(crate) fn send_ready(&self) {
        let mut message = Message::new();
        message.push(b"MAINPID=").push_decimal(std::process::id().into()).push(b"\nREADY=1\n");
        self.send(message.bytes());
    }

    /// Sends `MAINPID=<pid>`: after an upgrade, the new process is the
    /// service's main process (sent by the old one, which the manager
    /// still listens to with `NotifyAccess=main`).
    pub(crate) fn send_main_pid(&self, pid: u32) {
        let mut message = Message::new();
        message.push(b"MAINPID=").push_decimal(pid.into()).push(b"\n");
        self.send(message.bytes());
    }

    /// One datagram, never blocking, never raising SIGPIPE. Async-signal-safe.
    fn send(&self, message: &[u8]) {
        sys::send_datagram(&self.address, message);
    }
}

/// `STOPPING=1` to the address resolved before, for the termination signal
/// handler: async-signal-safe (a `OnceLock` read, a stack buffer, `socket`,
/// `sendto`, `close`).
pub(crate) fn send_stopping_from_signal_handler() {
    if let Some(manager) = FOR_SIGNALS.get() {
        manager.send(b"STOPPING=1\n");
    }
}

/// A datagram built on the stack: no allocation, so it can be sent from a
/// signal handler or between the forks.
struct Message {
    buf: [u8; 96],
    len: usize,
}

impl Message {
    fn new() -> Message {
        Message { buf: [0; 96], len: 0 }
    }

    /// Appends `bytes` (cut at the buffer's end: the messages are short and fixed).
    fn push(&mut self, bytes: &[u8]) -> &mut Message {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        self
    }

    /// Appends `value` in decimal.
    fn push_decimal(&mut self, value: u64) -> &mut Message {
        let mut digits = [0u8; 20];
        self.push(decimal(value, &mut digits))
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Sends `message` when a service manager listens; nothing otherwise.
fn notify(message: &[u8]) {
    if let Some(manager) = ServiceManager::from_env() {
        manager.send(message);
    }
}

/// Tells the service manager what the daemon is doing: `STATUS=<text>`,
/// shown by `systemctl status`. A newline in `text` becomes a space, so the
/// text cannot smuggle in another assignment.
///
/// ```
/// daemon_runtime::notify_status("serving 12 clients");
/// ```
pub fn notify_status(text: &str) {
    let mut message = Vec::with_capacity(text.len() + 8);
    message.extend_from_slice(b"STATUS=");
    message.extend(text.bytes().map(|b| if b == b'\n' { b' ' } else { b }));
    message.push(b'\n');
    notify(&message);
}

/// Tells the service manager that the daemon reloads its configuration:
/// `RELOADING=1` with `MONOTONIC_USEC=<now>`, which systemd's
/// `Type=notify-reload` requires. Call [`ready`](crate::ready) once the
/// reload is complete.
///
/// ```
/// // On SIGHUP:
/// daemon_runtime::notify_reloading();
/// // ... read the configuration again ...
/// daemon_runtime::ready();
/// ```
pub fn notify_reloading() {
    let mut message = Message::new();
    message.push(b"RELOADING=1\nMONOTONIC_USEC=").push_decimal(monotonic_usec()).push(b"\n");
    notify(message.bytes());
}

/// Tells the service manager that the daemon is shutting down:
/// `STOPPING=1`. The crate sends it itself when `main` returns (when
/// [`Running`](crate::Running) is dropped) and when the termination handler
/// it installs for a daemon with a pid file runs; call it earlier when a
/// shutdown takes time.
///
/// ```
/// daemon_runtime::notify_stopping();
/// ```
pub fn notify_stopping() {
    notify(b"STOPPING=1\n");
}

/// Asks the service manager for `extra` more time for the start, reload or
/// stop under way: `EXTEND_TIMEOUT_USEC=<extra>`, counted from now.
///
/// ```
/// // A migration that may take a while before `ready()`:
/// daemon_runtime::notify_extend_timeout(std::time::Duration::from_secs(30));
/// ```
pub fn notify_extend_timeout(extra: std::time::Duration) {
    let usec = u64::try_from(extra.as_micros()).unwrap_or(u64::MAX);
    let mut message = Message::new();
    message.push(b"EXTEND_TIMEOUT_USEC=").push_decimal(usec).push(b"\n");
    notify(message.bytes());
}

/// Keeps the service manager's watchdog from firing: `WATCHDOG=1`. Send it
/// at least every [`watchdog_interval`] (half of it, as sd_watchdog_enabled(3)
/// advises), from the loop whose health it vouches for.
///
/// ```no_run
/// if let Some(interval) = daemon_runtime::watchdog_interval() {
///     loop {
///         // ... one round of work ...
///         daemon_runtime::notify_watchdog();
///         std::thread::sleep(interval / 2);
///     }
/// }
/// ```
pub fn notify_watchdog() {
    notify(b"WATCHDOG=1\n");
}

/// How often the service manager expects [`notify_watchdog`]: `WATCHDOG_USEC`
/// (systemd's `WatchdogSec=`). `None` when it is not set, not a positive
/// number, or when `WATCHDOG_PID` names another process (the watchdog is
/// then that process's duty, as sd_watchdog_enabled(3) decides). A daemon
/// that detached from the process `WATCHDOG_PID` named finds it naming
/// itself: it took over as the service's main process (`Type=forking`).
///
/// ```
/// match daemon_runtime::watchdog_interval() {
///     Some(interval) => println!("ping every {:?}", interval / 2),
///     None => println!("no watchdog"),
/// }
/// ```
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok().filter(|&usec| usec > 0)?;
    if let Some(pid) = std::env::var_os("WATCHDOG_PID") {
        let pid: u32 = pid.to_str()?.parse().ok()?;
        if pid != std::process::id() {
            return None;
        }
    }
    Some(Duration::from_micros(usec))
}

/// `CLOCK_MONOTONIC` in microseconds, the clock systemd compares reloads on.
fn monotonic_usec() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    (now.tv_sec as u64).saturating_mul(1_000_000).saturating_add(now.tv_nsec as u64 / 1000)
}

#[cfg(test)]
mod tests {
    use super::Message;

    #[test]
    fn messages_are_formatted_on_the_stack() {
        let mut message = Message::new();
        message.push(b"MAINPID=").push_decimal(4_194_304).push(b"\n").push_decimal(0);
        assert_eq!(message.bytes(), b"MAINPID=4194304\n0");
        let mut long = Message::new();
        long.push(&[b'x'; 200]).push_decimal(u64::MAX);
        assert_eq!(long.bytes().len(), 96, "cut, never past the buffer");
    }
}
