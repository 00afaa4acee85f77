//! The runnable examples, run as a user would run them.

use crate::common;

use common::{Harness, eventually, example, wait_for_pid};
use nix::sys::wait::WaitStatus;

#[test]
fn pidfile_example_beats_and_stops_cleanly_on_sigterm() {
    let harness = Harness::new("example-pidfile");
    let dir = harness.path("demo");
    let output = harness.run(harness.command(example("pidfile")).arg(&dir));
    assert!(output.status.success(), "{output:?}");
    let pid_file = dir.join("pidfile.pid");
    let daemon = wait_for_pid(&pid_file);
    assert_eq!(daemon.status("Umask"), "0027");
    let log = dir.join("heartbeat.log");
    eventually("two heartbeats are written", || {
        std::fs::read_to_string(&log).is_ok_and(|text| text.lines().count() >= 2)
    });
    let first = std::fs::read_to_string(&log).unwrap();
    assert!(first.starts_with(&format!("heartbeat 0 pid {} ", daemon.0)), "{first}");
    assert_eq!(daemon.terminate(), Some(WaitStatus::Exited(daemon.pid(), 0)));
    assert!(!pid_file.exists(), "pid file left after SIGTERM");
    assert!(std::fs::read_to_string(&log).unwrap().ends_with("stopping on SIGTERM\n"));
}

#[test]
fn minimal_example_runs_detached() {
    let harness = Harness::new("example-minimal");
    let output = harness.run(&mut harness.command(example("minimal")));
    assert!(output.status.success(), "{output:?}");
    let mut daemons = Vec::new();
    eventually("the daemon runs", || {
        daemons = harness.processes();
        daemons.len() == 1
    });
    let daemon = daemons[0];
    assert_eq!(daemon.tty_nr(), 0);
    assert_ne!(daemon.session(), daemon.0);
    assert_eq!(daemon.ppid(), std::process::id() as i32, "orphaned to the test, its subreaper");
}

#[test]
fn tokio_server_example_answers_once_the_launcher_returns() {
    let harness = Harness::new("example-tokio");
    let dir = harness.path("demo");
    let output = harness.run(harness.command(example("tokio_server")).arg(&dir));
    assert!(output.status.success(), "{output:?}");
    // Manual readiness: the port is bound when the launcher has returned.
    let port: u16 = std::fs::read_to_string(dir.join("port")).unwrap().trim().parse().unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(
        &mut std::net::TcpStream::connect(("127.0.0.1", port)).unwrap(),
        &mut answer,
    )
    .unwrap();
    let daemon = wait_for_pid(&dir.join("tokio_server.pid"));
    assert_eq!(answer, format!("hello from pid {}\n", daemon.0));
    let threads: usize = daemon.status("Threads").parse().unwrap();
    assert!(threads > 1, "the multi-thread runtime runs in the daemon ({threads} threads)");
    assert_eq!(daemon.tty_nr(), 0);
    assert_eq!(daemon.terminate(), Some(WaitStatus::Exited(daemon.pid(), 0)));
    assert!(!dir.join("tokio_server.pid").exists());
}

#[test]
fn readiness_example_reports_a_config_error_to_the_launcher() {
    let harness = Harness::new("example-readiness");
    let dir = harness.path("demo");
    let output = harness.run(harness.command(example("readiness")).arg(&dir).arg("--fail"));
    assert_eq!(output.status.code(), Some(70), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Error: \"config: missing key\"\n"), "{stderr}");
    assert!(stderr.ends_with("error: report: the daemon exited before it was ready\n"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "loading the configuration\n",
        "startup output shown"
    );
    assert!(harness.processes().is_empty());
    assert!(!dir.join("readiness.pid").exists());
}

#[test]
fn foreground_example_detaches_or_stays_as_asked() {
    let harness = Harness::new("example-foreground");
    let dir = harness.path("demo");
    let mut child = harness
        .command(example("foreground"))
        .arg(&dir)
        .arg("--foreground")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let daemon = wait_for_pid(&dir.join("foreground.pid"));
    assert_eq!(daemon.0, child.id() as i32, "--foreground: no fork");
    nix::sys::signal::kill(daemon.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
    let output = harness.run(harness.command(example("foreground")).arg(&dir));
    assert!(output.status.success(), "{output:?}");
    let daemon = wait_for_pid(&dir.join("foreground.pid"));
    assert_ne!(daemon.session(), nix::unistd::getsid(None).unwrap().as_raw(), "detached by default");
}

#[test]
fn privileges_example_runs_as_nobody_without_core_dumps() {
    if !common::root_or_skip("privileges_example_runs_as_nobody_without_core_dumps", "switch to nobody") {
        return;
    }
    let harness = Harness::new("example-privileges");
    let dir = harness.path("demo");
    let output = harness.run(harness.command(example("privileges")).arg(&dir));
    assert!(output.status.success(), "{output:?}");
    let daemon = wait_for_pid(&dir.join("privileges.pid"));
    assert_eq!(daemon.status("Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(daemon.status("CapEff"), "0000000000000000");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", daemon.0)).unwrap();
    assert!(
        limits
            .lines()
            .any(|l| l.starts_with("Max core file size") && l.split_whitespace().nth(4) == Some("0"))
    );
}

#[test]
fn upgrade_example_hands_its_socket_to_the_new_process_on_sigusr2() {
    let harness = Harness::new("example-upgrade");
    let dir = harness.path("demo");
    let output = harness.run(harness.command(example("upgrade")).arg(&dir));
    assert!(output.status.success(), "{output:?}");
    let port: u16 = std::fs::read_to_string(dir.join("port")).unwrap().trim().parse().unwrap();
    let hello = || {
        let mut answer = String::new();
        let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        std::io::Read::read_to_string(&mut client, &mut answer).unwrap();
        answer
    };
    let old = wait_for_pid(&dir.join("upgrade.pid"));
    assert_eq!(hello(), format!("hello from pid {}\n", old.0));
    nix::sys::signal::kill(old.pid(), nix::sys::signal::Signal::SIGUSR2).unwrap();
    assert_eq!(old.reap(), Some(WaitStatus::Exited(old.pid(), 0)), "the old process drains and exits");
    let new = wait_for_pid(&dir.join("upgrade.pid"));
    assert_ne!(new, old);
    assert_eq!(hello(), format!("hello from pid {}\n", new.0), "the same port, the new process");
    let log = std::fs::read_to_string(dir.join("upgrade.log")).unwrap();
    assert!(log.contains(&format!("{}: upgraded to {}", old.0, new.0)), "{log}");
    assert_eq!(new.terminate(), Some(WaitStatus::Exited(new.pid(), 0)));
    assert!(!dir.join("upgrade.pid").exists());
}

#[test]
fn reopen_logs_example_reopens_its_log_on_sighup_while_blocked_in_accept() {
    use std::net::TcpStream;
    let harness = Harness::new("example-reopen-logs");
    let dir = harness.path("demo");
    let output = harness.run(harness.command(example("reopen_logs")).arg(&dir));
    assert!(output.status.success(), "{output:?}");
    let daemon = wait_for_pid(&dir.join("echo.pid"));
    let (log, rotated) = (dir.join("echo.log"), dir.join("echo.log.1"));
    let mut port = String::new();
    eventually("the port is written", || {
        port = std::fs::read_to_string(dir.join("port")).unwrap_or_default();
        port.ends_with('\n')
    });
    let port: u16 = port.trim().parse().unwrap();
    let connect = || drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
    connect();
    eventually("the first connection is logged", || {
        std::fs::read_to_string(&log).is_ok_and(|text| text.starts_with("connection 1 "))
    });
    // logrotate: rename, then SIGHUP to a server blocked in accept().
    eventually("the server waits in accept()", || daemon.state() == "S");
    std::fs::rename(&log, &rotated).unwrap();
    nix::sys::signal::kill(daemon.pid(), nix::sys::signal::Signal::SIGHUP).unwrap();
    eventually("descriptor 1 is the new echo.log", || daemon.fds().get(&1) == Some(&log));
    assert!(daemon.alive(), "SIGHUP reopened the log; it did not end the daemon");
    connect();
    eventually("the next connection is logged in the new file", || {
        std::fs::read_to_string(&log).is_ok_and(|text| text.starts_with("connection 2 "))
    });
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert_eq!(old.lines().count(), 1, "the rotated file keeps the old lines only: {old}");
    assert_eq!(
        daemon.terminate(),
        Some(WaitStatus::Signaled(daemon.pid(), nix::sys::signal::Signal::SIGTERM, false))
    );
    assert!(!dir.join("echo.pid").exists());
}
