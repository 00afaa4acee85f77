//! What a program sees of its own mistakes: a panicking `init`, a second
//! start inside the daemon, a kept descriptor that is not open. Each is
//! refused loudly, in the launcher's one error line, with nothing left.

use crate::common;

use common::{Harness, ProbeHarness, arg, eventually};
use daemon_runtime::Status;

#[test]
fn an_init_that_panics_is_reported_with_its_message() {
    let harness = Harness::new("init-panic");
    let pid_file = harness.path("d.pid");
    let output = harness.launch_probe(&["--pid-file", arg(&pid_file), "--init-panic", "no key today"]);
    let stderr = common::text(&output.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    assert!(line.starts_with("error: init: panicked at tests/bin/probe.rs:"), "stderr: {stderr}");
    assert!(line.ends_with(": no key today"), "stderr: {stderr}");
    assert_eq!(output.status.code(), Some(daemon_runtime::sysexits::EX_UNAVAILABLE), "{output:?}");
    assert!(harness.processes().is_empty(), "left running: {:?}", harness.processes());
    assert!(!pid_file.exists(), "pid file left behind");
}

#[test]
fn a_second_start_inside_the_daemon_is_refused_and_the_lock_stays_held() {
    let harness = Harness::new("start-again");
    let pid_file = harness.path("d.pid");
    let again = harness.path("again");
    let daemon = harness.start_probe(&["--pid-file", arg(&pid_file), "--body-start-again", arg(&again)]);
    eventually("the second start's outcome", || {
        std::fs::read_to_string(&again).is_ok_and(|text| !text.is_empty())
    });
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        "preflight: this process was already started as a daemon; start, start_with and exec may be \
         called once per process"
    );
    // The first daemon still runs, and still holds its pid file's lock.
    assert!(daemon.alive());
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Running { pid: daemon.0 as u32 });
    daemon.terminate();
}

#[test]
fn a_kept_descriptor_that_is_not_open_fails_the_start_naming_it() {
    let harness = Harness::new("keep-closed");
    let output = harness.launch_probe(&["--keep-fd", "97"]);
    harness.assert_failed(
        &output,
        78,
        "error: close fds: descriptor 97 is to be kept (keep_fds) but is not open",
    );
    let body_ran = std::fs::read_to_string(harness.path("probe.out")).unwrap_or_default();
    assert!(body_ran.is_empty(), "the body ran: {body_ran}");
}
