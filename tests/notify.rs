//! The sd_notify protocol as a service manager receives it: a Unix datagram
//! socket with `SO_PASSCRED`, so every message comes with the sender's pid
//! as the kernel saw it (`SCM_CREDENTIALS`), and each one is checked for
//! its text and its sender.
//!
//! Linux only: `SO_PASSCRED` is Linux's, and so are the notifications (the
//! daemon ignores `$NOTIFY_SOCKET` on macOS and FreeBSD).
#![cfg(target_os = "linux")]

use crate::common;

use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

use common::{Harness, PROBE, Proc, arg, wait_for_pid};
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use nix::sys::wait::WaitStatus;

const NOTIFIER: &str = env!("CARGO_BIN_EXE_notifier");

/// The test's `$NOTIFY_SOCKET`.
struct Manager {
    socket: UnixDatagram,
}

impl Manager {
    fn bind(path: &Path) -> Manager {
        let socket = UnixDatagram::bind(path).unwrap();
        setsockopt(&socket, sockopt::PassCred, &true).unwrap();
        socket.set_read_timeout(Some(common::PATIENCE)).unwrap();
        Manager { socket }
    }

    /// The next message: its sender's pid (from the kernel) and its text.
    fn next(&self) -> (i32, String) {
        let mut buf = [0u8; 4096];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut control = nix::cmsg_space!(libc::ucred);
        let message = recvmsg::<()>(self.socket.as_raw_fd(), &mut iov, Some(&mut control), MsgFlags::empty())
            .expect("a notification within the test's patience");
        let pid = message
            .cmsgs()
            .unwrap()
            .find_map(|cmsg| match cmsg {
                ControlMessageOwned::ScmCredentials(credentials) => Some(credentials.pid()),
                _ => None,
            })
            .expect("SCM_CREDENTIALS");
        let bytes = message.bytes;
        (pid, common::text(&buf[..bytes]))
    }

    /// The next message, asserting it comes from `daemon`.
    fn next_from(&self, daemon: Proc) -> String {
        let (pid, text) = self.next();
        assert_eq!(pid, daemon.0, "{text:?} was sent by another process");
        text
    }
}

/// `CLOCK_MONOTONIC` in microseconds, as `MONOTONIC_USEC` counts.
fn monotonic_usec() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec.
    assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) }, 0);
    now.tv_sec as u64 * 1_000_000 + now.tv_nsec as u64 / 1000
}

/// Checks the notifier's messages after its start: ready, status, reload
/// (stamped between `before` and now), ready, timeout, watchdog.
fn assert_protocol(manager: &Manager, daemon: Proc, watchdog: &str, before: u64) {
    let ready = format!("MAINPID={}\nREADY=1\n", daemon.0);
    assert_eq!(manager.next_from(daemon), ready, "the runtime's readiness");
    assert_eq!(manager.next_from(daemon), format!("STATUS=watchdog {watchdog}\n"));
    let reloading = manager.next_from(daemon);
    let stamp: u64 = reloading
        .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{reloading:?}"))
        .parse()
        .unwrap();
    assert!(
        (before..=monotonic_usec()).contains(&stamp),
        "MONOTONIC_USEC={stamp} is not the monotonic clock"
    );
    assert_eq!(manager.next_from(daemon), ready, "ready again after the reload");
    assert_eq!(manager.next_from(daemon), "EXTEND_TIMEOUT_USEC=1500000\n");
    assert_eq!(manager.next_from(daemon), "WATCHDOG=1\n");
}

#[test]
fn every_notification_reaches_the_manager_from_the_daemons_pid() {
    let harness = Harness::new("notify-all");
    let socket = harness.path("notify.sock");
    let manager = Manager::bind(&socket);
    let before = monotonic_usec();
    let output = harness.run(
        harness
            .command(NOTIFIER)
            .env("NOTIFY_SOCKET", &socket)
            .env("WATCHDOG_USEC", "5000000")
            .env("PROBE_OUT", harness.path("probe.out")),
    );
    assert!(output.status.success(), "{output:?}");
    let daemon = wait_for_pid(&harness.path("probe.out"));
    assert_protocol(&manager, daemon, "Some(5s)", before);
    assert_eq!(daemon.terminate(), Some(WaitStatus::Exited(daemon.pid(), 0)));
    assert_eq!(manager.next_from(daemon), "STOPPING=1\n", "sent when main returns");
}

#[test]
fn the_watchdog_is_for_the_process_watchdog_pid_names() {
    let harness = Harness::new("notify-watchdog-pid");
    let socket = harness.path("notify.sock");
    let manager = Manager::bind(&socket);
    let before = monotonic_usec();
    // In the foreground the daemon is the shell's process: `$$` names it.
    let script = format!("WATCHDOG_PID=$$ exec {NOTIFIER} --foreground");
    let mut child = harness
        .command("/bin/sh")
        .args(["-c", &script])
        .env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", "250000")
        .env("PROBE_OUT", harness.path("probe.out"))
        .spawn()
        .unwrap();
    let daemon = wait_for_pid(&harness.path("probe.out"));
    assert_eq!(daemon.0, child.id() as i32);
    assert_protocol(&manager, daemon, "Some(250ms)", before);
    kill(daemon.pid(), Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(manager.next_from(daemon), "STOPPING=1\n");

    // Detached from the process WATCHDOG_PID names, the daemon takes over.
    let script = format!("WATCHDOG_PID=$$ exec {NOTIFIER}");
    let output = harness.run(
        harness
            .command("/bin/sh")
            .args(["-c", &script])
            .env("NOTIFY_SOCKET", &socket)
            .env("WATCHDOG_USEC", "250000")
            .env("PROBE_OUT", harness.path("took-over.out")),
    );
    assert!(output.status.success(), "{output:?}");
    let took_over = wait_for_pid(&harness.path("took-over.out"));
    assert_protocol(&manager, took_over, "Some(250ms)", before);

    // Detached, the daemon is not the process WATCHDOG_PID names: another one.
    let output = harness.run(
        harness
            .command(NOTIFIER)
            .env("NOTIFY_SOCKET", &socket)
            .env("WATCHDOG_USEC", "250000")
            .env("WATCHDOG_PID", std::process::id().to_string())
            .env("PROBE_OUT", harness.path("detached.out")),
    );
    assert!(output.status.success(), "{output:?}");
    let detached = wait_for_pid(&harness.path("detached.out"));
    assert_protocol(&manager, detached, "None", before);
}

#[test]
fn the_termination_handler_sends_stopping_before_the_daemon_dies() {
    let harness = Harness::new("notify-sigterm");
    let socket = harness.path("notify.sock");
    let manager = Manager::bind(&socket);
    let pid_file = harness.path("d.pid");
    let output = harness.run(
        harness
            .command(PROBE)
            .args(["--pid-file", arg(&pid_file), "--body-no-handler"])
            .env("NOTIFY_SOCKET", &socket)
            .env("PROBE_OUT", harness.path("probe.out")),
    );
    assert!(output.status.success(), "{output:?}");
    let daemon = wait_for_pid(&harness.path("probe.out"));
    let ready = format!("MAINPID={}\nREADY=1\n", daemon.0);
    assert_eq!(manager.next_from(daemon), ready, "the runtime's readiness");
    assert_eq!(manager.next_from(daemon), ready, "the body's ready()");
    assert_eq!(daemon.terminate(), Some(WaitStatus::Signaled(daemon.pid(), Signal::SIGTERM, false)));
    assert_eq!(manager.next_from(daemon), "STOPPING=1\n", "from the signal handler");
    assert!(!pid_file.exists());
}

#[test]
fn a_manager_that_does_not_read_never_blocks_the_daemon() {
    let harness = Harness::new("notify-full");
    let socket = harness.path("notify.sock");
    let manager = Manager::bind(&socket);
    // Fill the manager's queue until the kernel refuses more.
    let sender = UnixDatagram::unbound().unwrap();
    sender.set_nonblocking(true).unwrap();
    while sender.send_to(b"FILLER=1", &socket).is_ok() {}
    let output = harness.run(
        harness.command(NOTIFIER).env("NOTIFY_SOCKET", &socket).env("PROBE_OUT", harness.path("probe.out")),
    );
    assert!(output.status.success(), "{output:?}");
    // Every notification of the start and the body was dropped, not waited on.
    let daemon = wait_for_pid(&harness.path("probe.out"));
    assert_eq!(daemon.terminate(), Some(WaitStatus::Exited(daemon.pid(), 0)), "and it stops");
    drop(manager);
}
