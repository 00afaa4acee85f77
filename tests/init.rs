//! `init`: run as root in the daemon before the privilege drop, its value
//! handed to `main`; its error fails the start with nothing left behind.

use crate::common;

use std::io::Read;
use std::net::{TcpListener, TcpStream};

use common::{Harness, example, root_or_skip, text, wait_for_pid};
use nix::sys::wait::WaitStatus;

const INIT_FAILS: &str = env!("CARGO_BIN_EXE_attr_init_fails");

#[test]
fn init_binds_port_80_as_root_and_main_serves_it_as_nobody() {
    let test = "init_binds_port_80_as_root_and_main_serves_it_as_nobody";
    if !root_or_skip(test, "bind port 80 and switch to nobody") {
        return;
    }
    // The example needs the port itself: skip, saying why, where it is taken.
    if let Err(error) = TcpListener::bind("127.0.0.1:80") {
        common::skip(test, format_args!("cannot bind 127.0.0.1:80 here: {error}"));
        return;
    }
    let harness = Harness::new("init-privileged");
    let dir = harness.path("demo");
    let output = harness.run(harness.command(example("init_privileged")).arg(&dir));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(text(&output.stderr), "");

    let daemon = wait_for_pid(&dir.join("init_privileged.pid"));
    assert_eq!(daemon.status("Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(daemon.status("Gid"), "65534\t65534\t65534\t65534");
    // Bound as root before the drop, and ready once the launcher returned.
    let mut answer = String::new();
    TcpStream::connect("127.0.0.1:80").unwrap().read_to_string(&mut answer).unwrap();
    assert_eq!(answer, "hello from uid 65534\n");
    assert_eq!(daemon.terminate(), Some(WaitStatus::Exited(daemon.pid(), 0)));
}

#[test]
fn a_failing_init_fails_the_start_with_its_display_and_ex_unavailable() {
    let harness = Harness::new("init-fails");
    let pid_file = harness.path("d.pid");
    let output = harness.run(harness.command(INIT_FAILS).env("PROBE_PID_FILE", &pid_file));
    assert_eq!(text(&output.stderr), "error: init: cannot open /etc/myd.key\n");
    assert_eq!(output.status.code(), Some(69), "{output:?}");
    assert!(harness.processes().is_empty(), "left running: {:?}", harness.processes());
    assert!(!pid_file.exists(), "pid file left behind");
}
