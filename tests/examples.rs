//! The runnable examples, run as a user would run them.

mod common;

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
