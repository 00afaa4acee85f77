//! Service-grade options through the builder: privileges, chroot, core
//! dumps, log files, manual readiness, sd_notify, foreground.

use crate::common;

use std::io::Read;
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::process::Stdio;

use common::{
    Harness, PROBE, ProbeHarness, Proc, arg, eventually, root_or_skip, text, wait_for_line, wait_for_pid,
};
use nix::sys::wait::WaitStatus;

#[test]
fn user_nobody_drops_every_id_group_and_capability() {
    if !root_or_skip("user_nobody_drops_every_id_group_and_capability", "switch to nobody") {
        return;
    }
    let harness = Harness::new("user-nobody");
    harness.open_to_nobody();
    let pid_file = harness.path("d.pid");
    let daemon = harness.start_probe(&["--user", "nobody", "--pid-file", arg(&pid_file)]);
    assert_eq!(daemon.status("Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(daemon.status("Gid"), "65534\t65534\t65534\t65534");
    assert_eq!(daemon.status("Groups"), "65534", "no supplementary root group");
    assert_eq!(daemon.status("CapEff"), "0000000000000000");
    assert_eq!(daemon.status("CapPrm"), "0000000000000000");
    // Created (by root) before the drop, and locked by the daemon.
    assert_eq!(std::fs::metadata(&pid_file).unwrap().uid(), 0);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", daemon.0));
}

#[test]
fn a_numeric_uid_without_passwd_entry_still_clears_supplementary_groups() {
    if !root_or_skip("a_numeric_uid_without_passwd_entry_still_clears_supplementary_groups", "switch users") {
        return;
    }
    let harness = Harness::new("user-numeric");
    harness.open_to_nobody();
    assert!(nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(54321)).unwrap().is_none());
    let daemon = harness.start_probe(&["--user", "54321"]);
    assert_eq!(daemon.status("Uid"), "54321\t54321\t54321\t54321");
    assert_eq!(daemon.status("Gid"), "54321\t54321\t54321\t54321");
    assert_eq!(daemon.status("Groups"), "54321");
}

#[test]
fn an_unknown_user_fails_with_ex_nouser() {
    let harness = Harness::new("user-unknown");
    let output = harness.launch_probe(&["--user", "no-such-user-here"]);
    harness.assert_failed(&output, 67, "error: user: no-such-user-here: no such user");
}

#[test]
fn an_unknown_group_fails_with_ex_nouser() {
    let harness = Harness::new("group-unknown");
    let output = harness.launch_probe(&["--group", "no-such-group-here"]);
    harness.assert_failed(&output, 67, "error: group: no-such-group-here: no such group");
}

#[test]
fn a_non_root_launcher_asking_for_a_user_fails_before_forking() {
    if !root_or_skip(
        "a_non_root_launcher_asking_for_a_user_fails_before_forking",
        "run the launcher as nobody",
    ) {
        return;
    }
    let harness = Harness::new("user-eperm");
    // A copy `nobody` can execute, whatever directory the checkout is in.
    let (_dir, probe) = common::executable_by_nobody(std::path::Path::new(PROBE));
    let mut command = harness.command(&probe);
    command.current_dir("/");
    command.args(["--user", "root"]);
    common::as_nobody(&mut command);
    let output = harness.run(&mut command);
    harness.assert_failed(&output, 77, "error: user: root: Operation not permitted (os error 1)");
}

#[test]
fn chroot_changes_root_and_working_directory() {
    if !root_or_skip("chroot_changes_root_and_working_directory", "chroot") {
        return;
    }
    let harness = Harness::new("chroot");
    let jail = harness.path("jail");
    std::fs::create_dir(&jail).unwrap();
    // Paths the daemon uses after the chroot are inside the jail.
    let output = harness.run(
        harness
            .command(PROBE)
            .args(["--chroot", arg(&jail), "--pid-file", "/d.pid"])
            .env("PROBE_OUT", "/probe.out"),
    );
    assert!(output.status.success(), "{output:?}");
    let daemon = wait_for_pid(&jail.join("probe.out"));
    let root = std::fs::read_link(format!("/proc/{}/root", daemon.0)).unwrap();
    assert_eq!(root, jail);
    assert_eq!(daemon.cwd(), root, "cwd equals root");
    assert_eq!(
        std::fs::read_to_string(jail.join("d.pid")).unwrap(),
        format!("{}\n", daemon.0),
        "pid file inside the jail"
    );
}

#[test]
fn a_missing_chroot_directory_fails_with_ex_config() {
    let harness = Harness::new("chroot-missing");
    let output = harness.launch_probe(&["--chroot", "/nonexistent/jail"]);
    harness.assert_failed(
        &output,
        78,
        "error: chroot: /nonexistent/jail: No such file or directory (os error 2)",
    );
}

#[test]
fn core_dumps_false_sets_the_core_limit_to_zero() {
    let harness = Harness::new("core");
    let daemon = harness.start_probe(&["--no-core-dumps"]);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", daemon.0)).unwrap();
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap();
    assert_eq!(core.split_whitespace().skip(4).take(2).collect::<Vec<_>>(), ["0", "0"], "{core}");
}

#[test]
fn stdout_and_stderr_files_are_appended_and_created_0640() {
    let harness = Harness::new("logs");
    let out = harness.path("out.log");
    let err = harness.path("err.log");
    std::fs::write(&out, "earlier\n").unwrap();
    let daemon =
        harness.start_probe(&["--stdout", arg(&out), "--stderr", arg(&err), "--body-print", "hello"]);
    assert_eq!(daemon.fds()[&1], out);
    assert_eq!(daemon.fds()[&2], err);
    eventually("the body's lines land in the files", || {
        std::fs::read_to_string(&err).is_ok_and(|t| t == "hello (stderr)\n")
    });
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier\nhello\n", "appended");
    assert_eq!(std::fs::metadata(&err).unwrap().permissions().mode() & 0o777, 0o640);
}

#[test]
fn a_panic_after_readiness_lands_in_the_stderr_file() {
    let harness = Harness::new("panic-log");
    let err = harness.path("err.log");
    let output = harness.launch_probe(&["--stderr", arg(&err), "--body-panic", "boom after ready"]);
    assert!(output.status.success());
    eventually("the panic message is logged", || {
        std::fs::read_to_string(&err).is_ok_and(|t| t.contains("boom after ready"))
    });
}

#[test]
fn manual_readiness_returns_only_once_the_port_is_bound() {
    let harness = Harness::new("ready-bind");
    let port_file = harness.path("port");
    let output = harness.run(
        harness
            .command(PROBE)
            .args(["--ready-manual", "--body-bind"])
            .env("PROBE_PORT", &port_file)
            .env("PROBE_OUT", harness.path("probe.out")),
    );
    assert!(output.status.success(), "{output:?}");
    // No waiting: the launcher returned, so the port is bound.
    let port = std::fs::read_to_string(&port_file).expect("port written before ready");
    TcpStream::connect(("127.0.0.1", port.trim().parse::<u16>().unwrap())).expect("connect at once");
}

#[test]
fn what_the_body_prints_before_readiness_reaches_the_launcher() {
    let harness = Harness::new("ready-print");
    let output = harness.launch_probe(&["--ready-manual", "--body-print", "loading config"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stdout), "loading config\n");
    assert_eq!(text(&output.stderr), "loading config (stderr)\n");
}

#[test]
fn an_error_returned_before_readiness_fails_the_launcher() {
    let harness = Harness::new("ready-error");
    let pid_file = harness.path("d.pid");
    let output = harness.launch_probe(&[
        "--ready-manual",
        "--pid-file",
        arg(&pid_file),
        "--body-fail",
        "config is broken",
    ]);
    assert!(text(&output.stderr).contains("Error: \"config is broken\"\n"), "{}", text(&output.stderr));
    harness.assert_failed(&output, 70, "error: report: the daemon exited before it was ready");
    assert!(!pid_file.exists(), "pid file left by a failed start");
}

#[test]
fn a_panic_before_readiness_fails_the_launcher_with_its_message() {
    let harness = Harness::new("ready-panic");
    let pid_file = harness.path("d.pid");
    let output =
        harness.launch_probe(&["--ready-manual", "--pid-file", arg(&pid_file), "--body-panic", "kaboom"]);
    assert!(text(&output.stderr).contains("kaboom"), "{}", text(&output.stderr));
    harness.assert_failed(&output, 70, "error: report: the daemon exited before it was ready");
    assert!(!pid_file.exists(), "pid file left by a failed start");
}

#[test]
fn a_daemon_never_ready_is_killed_after_the_timeout() {
    let harness = Harness::new("ready-timeout");
    let pid_file = harness.path("d.pid");
    let args =
        ["--ready-manual", "--ready-timeout-ms", "300", "--pid-file", arg(&pid_file), "--body-never-ready"];
    let output = harness.launch_probe(&args);
    harness.assert_failed(
        &output,
        70,
        "error: ready: not ready after 300ms: the body did not call `daemon_runtime::ready()`",
    );
    assert!(!pid_file.exists(), "pid file left by a killed daemon");
}

/// Receives one datagram on a socket the test owns, as a service manager would.
fn notification(harness: &Harness, socket: UnixDatagram, address: &str) -> (Proc, String) {
    socket.set_read_timeout(Some(common::PATIENCE)).unwrap();
    let output = harness.run(
        harness.command(PROBE).env("NOTIFY_SOCKET", address).env("PROBE_OUT", harness.path("probe.out")),
    );
    assert!(output.status.success(), "{output:?}");
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("no notification");
    (wait_for_pid(&harness.path("probe.out")), text(&buf[..n]))
}

#[test]
fn readiness_is_sent_to_a_notify_socket_path() {
    let harness = Harness::new("notify-path");
    let path = harness.path("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let (daemon, message) = notification(&harness, socket, arg(&path));
    assert_eq!(message, format!("MAINPID={}\nREADY=1\n", daemon.0));
}

#[test]
#[cfg(target_os = "linux")] // abstract socket addresses
fn readiness_is_sent_to_an_abstract_notify_socket() {
    use std::os::linux::net::SocketAddrExt;
    let harness = Harness::new("notify-abstract");
    let name = format!("daemon-test-{}", std::process::id());
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let socket = UnixDatagram::bind_addr(&address).unwrap();
    let (daemon, message) = notification(&harness, socket, &format!("@{name}"));
    assert_eq!(message, format!("MAINPID={}\nREADY=1\n", daemon.0));
}

#[test]
fn foreground_keeps_the_process_but_applies_umask_and_pid_file() {
    let harness = Harness::new("foreground");
    let pid_file = harness.path("d.pid");
    let out = harness.path("probe.out");
    let mut child = harness
        .command(PROBE)
        .args(["--foreground", "--umask", "077", "--pid-file", arg(&pid_file), "--body-print", "in front"])
        .env("PROBE_OUT", &out)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let daemon = wait_for_pid(&out);
    assert_eq!(daemon.0, child.id() as i32, "no fork in the foreground");
    assert_eq!(daemon.session(), nix::unistd::getsid(None).unwrap().as_raw(), "no setsid");
    assert_eq!(daemon.status("Umask"), "0077");
    assert_eq!(wait_for_line(&pid_file), format!("{}\n", daemon.0));
    nix::sys::signal::kill(daemon.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut printed = String::new();
    child.stdout.take().unwrap().read_to_string(&mut printed).unwrap();
    assert_eq!(printed, "in front\n", "stdio is kept in the foreground");
    assert!(!pid_file.exists());
}

#[test]
fn start_stop_daemon_starts_stops_and_sees_it_running() {
    let test = "start_stop_daemon_starts_stops_and_sees_it_running";
    let Some(ssd) = common::installed_or_skip(test, "start-stop-daemon", "dpkg") else {
        return;
    };
    let harness = Harness::new("start-stop-daemon");
    let dir = harness.path("demo");
    let pid_file = dir.join("pidfile.pid");
    let example = common::example("pidfile");
    let start = || {
        harness.run(
            harness
                .command(&ssd)
                .args(["--start", "--pidfile"])
                .arg(&pid_file)
                .arg("--exec")
                .arg(&example)
                .arg("--")
                .arg(&dir),
        )
    };
    let output = start();
    assert!(output.status.success(), "{output:?}");
    let daemon = common::pidfile_example_running(&dir); // ready when start-stop-daemon returned
    let again = start();
    assert_eq!(again.status.code(), Some(1), "a second --start must find it running: {again:?}");
    assert!(text(&again.stdout).contains("already running"), "{again:?}");
    // The daemon is our child (we are its subreaper): reap it as it exits,
    // or start-stop-daemon would see a zombie that "refused to die".
    let reaper = std::thread::spawn(move || daemon.reap());
    let stop =
        harness.run(harness.command(&ssd).args(["--stop", "--retry", "TERM/5", "--pidfile"]).arg(&pid_file));
    assert!(stop.status.success(), "{stop:?}");
    assert_eq!(reaper.join().unwrap(), Some(WaitStatus::Exited(daemon.pid(), 0)), "stopped cleanly");
    assert!(!pid_file.exists(), "pid file removed on SIGTERM");
}

#[test]
fn start_stop_daemon_notify_await_receives_readiness() {
    let test = "start_stop_daemon_notify_await_receives_readiness";
    let Some(ssd) = common::installed_or_skip(test, "start-stop-daemon", "dpkg") else {
        return;
    };
    let harness = Harness::new("ssd-notify");
    let dir = harness.path("demo");
    let pid_file = dir.join("pidfile.pid");
    // start-stop-daemon creates a NOTIFY_SOCKET and returns only on READY=1.
    let output = harness.run(
        harness
            .command(&ssd)
            .args(["--start", "--notify-await", "--notify-timeout", "10", "--pidfile"])
            .arg(&pid_file)
            .arg("--exec")
            .arg(common::example("pidfile"))
            .arg("--")
            .arg(&dir),
    );
    assert!(output.status.success(), "{output:?}");
    let daemon = common::pidfile_example_running(&dir);
    assert_eq!(daemon.terminate(), Some(WaitStatus::Exited(daemon.pid(), 0)));
}

#[test]
#[cfg(target_os = "linux")] // securebits
fn a_privilege_drop_that_would_not_hold_aborts_the_start() {
    use std::os::unix::process::CommandExt;
    if !root_or_skip("a_privilege_drop_that_would_not_hold_aborts_the_start", "set securebits") {
        return;
    }
    let harness = Harness::new("root-regained");
    let pid_file = harness.path("d.pid");
    let mut command = harness.command(PROBE);
    command.args(["--user", "nobody", "--pid-file", arg(&pid_file)]);
    // SECBIT_NO_SETUID_FIXUP keeps the capabilities across setuid, so
    // `setuid(0)` would succeed afterwards: exactly the drop that must not be trusted.
    let keep_capabilities = || {
        let bits = libc::SECBIT_NO_SETUID_FIXUP as libc::c_ulong;
        // SAFETY: PR_SET_SECUREBITS takes the bits and three unused zeros.
        if unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    // SAFETY: the hook runs between fork and exec and only calls prctl, async-signal-safe.
    unsafe { command.pre_exec(keep_capabilities) };
    let output = harness.run(&mut command);
    harness.assert_failed(
        &output,
        71,
        "error: privileges: root could be regained after dropping privileges; refusing to run",
    );
    assert!(!pid_file.exists(), "a refused start left its pid file");
}
