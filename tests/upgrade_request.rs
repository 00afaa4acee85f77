//! `daemon-run --pid-file P --upgrade` (`daemon_runtime::request_upgrade`)
//! on the upgradable test daemon, from outside: it exits 0 once the new
//! process serves, or prints the new process's error with its code; it
//! refuses a daemon that is not running, one that does not catch SIGUSR2
//! (which the signal would kill), and a user who may not signal it; it
//! believes no reply but the daemon's own, and lets one request wait at a
//! time. `daemon-run` here is the root package's copy of its `main`
//! (`tests/bin/daemon_run_stopped.rs`, which stops only when told to).
//! Linux only: the reply comes on an abstract address (`upgrade/reply.rs`).
#![cfg(target_os = "linux")]

use crate::common;
use crate::upgrade::{INIT_FAILS, Server, UPGRADABLE};

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::process::Output;
use std::time::Duration;

use common::{Harness, ProbeHarness, Proc, arg, eventually, text};
use daemon_runtime::Status;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

const DAEMON_RUN: &str = env!("CARGO_BIN_EXE_daemon_run_stopped");

/// `daemon-run --pid-file PID_FILE --upgrade` as this test's, run to its end.
fn upgrade_command(harness: &Harness, pid_file: &std::path::Path) -> std::process::Command {
    let mut command = harness.command(DAEMON_RUN);
    command.args(["--pid-file", arg(pid_file), "--upgrade", "--ready-timeout", "20s"]);
    command
}

fn outcome(output: &Output) -> (Option<i32>, String, String) {
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

/// Whether an abstract Unix address `name` is bound (`/proc/net/unix`
/// lists it with a leading `@`).
fn bound(name: &str) -> bool {
    let table = std::fs::read_to_string("/proc/net/unix").unwrap_or_default();
    table.lines().any(|line| line.ends_with(&format!(" @{name}")))
}

#[test]
fn daemon_run_upgrade_exits_0_once_the_new_process_serves_or_prints_its_error() {
    let (server, old) = Server::start("upgrade_request");
    server.install(UPGRADABLE);
    let output = server.harness.run(&mut upgrade_command(&server.harness, &server.pid_file));
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    let new: i32 = stdout
        .strip_prefix("upgraded (pid ")
        .and_then(|rest| rest.strip_suffix(&format!(", was {})\n", old.0)))
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("stdout {stdout:?}"));
    // Ready when daemon-run returned: named by the pid file, serving.
    assert_eq!(daemon_runtime::status(&server.pid_file).unwrap(), Status::Running { pid: new as u32 });
    // The old process accepts until it has dropped its listener (it logs
    // "drained" after that): only then is every answer the new process's.
    server.log_line(&format!("{} drained", old.0));
    assert_eq!(server.ask().expect("request"), new as u32);
    assert_eq!(old.reap(), Some(WaitStatus::Exited(old.pid(), 0)));
    let new = Proc(new);

    // A new binary whose init fails: its error and code, the daemon unchanged.
    server.install(INIT_FAILS);
    let output = server.harness.run(&mut upgrade_command(&server.harness, &server.pid_file));
    assert_eq!(
        outcome(&output),
        (Some(69), String::new(), "error: init: cannot open /etc/myd.key\n".to_string())
    );
    assert_eq!(daemon_runtime::status(&server.pid_file).unwrap(), Status::Running { pid: new.0 as u32 });
    assert_eq!(server.ask().expect("request"), new.0 as u32, "the daemon still serves");
    assert_eq!(server.harness.processes(), [new], "the failed process is gone");
    assert!(new.terminate().is_some());
}

#[test]
fn daemon_run_upgrade_refuses_a_daemon_not_running_or_not_catching_sigusr2() {
    let harness = Harness::new("upgrade_request_refusals");
    let pid_file = harness.path("d.pid");
    let output = harness.run(&mut upgrade_command(&harness, &pid_file));
    let not_running = format!("error: upgrade: {}: not running\n", pid_file.display());
    assert_eq!(outcome(&output), (Some(3), String::new(), not_running));

    // A program that does not catch SIGUSR2, whose default action ends a
    // process, is not signalled at all.
    let output = harness.run(harness.command(DAEMON_RUN).args(["--pid-file", arg(&pid_file), "sleep", "60"]));
    assert!(output.status.success(), "{output:?}");
    let sleep = common::wait_for_pid(&pid_file);
    let output = harness.run(&mut upgrade_command(&harness, &pid_file));
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(4), "{stderr}");
    let refusal =
        format!("pid {} does not catch SIGUSR2: the signal would end it, not upgrade it\n", sleep.0);
    assert!(stderr.ends_with(&refusal), "{stderr}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(sleep.alive(), "not signalled");
    assert_eq!(sleep.status("ShdPnd"), "0000000000000000");
    assert!(sleep.terminate().is_some());

    // A daemon of this crate that does not upgrade on SIGUSR2 is not told
    // apart (its pid file's handler catches every terminating signal): it
    // dies by it, removing its pid file, and that is what daemon-run says.
    let probe = harness.start_probe(&["--pid-file", arg(&pid_file)]);
    let output = harness.run(&mut upgrade_command(&harness, &pid_file));
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(4), "{stderr}");
    let exited = format!(
        "pid {} exited without reporting its upgrade, and no other process holds the pid file\n",
        probe.0
    );
    assert!(stderr.ends_with(&exited), "{stderr}");
    assert_eq!(probe.reap(), Some(WaitStatus::Signaled(probe.pid(), Signal::SIGUSR2, false)));
    assert!(!pid_file.exists());
}

#[test]
fn only_the_owner_and_root_can_ask_for_an_upgrade() {
    let test = "only_the_owner_and_root_can_ask_for_an_upgrade";
    if !common::root_or_skip(test, "running daemon-run as nobody against root's daemon") {
        return;
    }
    let (server, daemon) = Server::start("upgrade_request_nobody");
    server.harness.open_to_nobody();
    server.install(UPGRADABLE);
    let (_dir, daemon_run) = common::executable_by_nobody(DAEMON_RUN.as_ref());
    let mut command = server.harness.command(&daemon_run);
    command.args(["--pid-file", arg(&server.pid_file), "--upgrade"]);
    let output = server.harness.run(common::as_nobody(&mut command));
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(4), "{stderr}");
    // Linux opens another user's 0600 lock file as a path (`O_PATH`) and
    // proves the holder, which the kernel then refuses to let nobody
    // signal; the portable means cannot look at that file at all.
    let refusal =
        if cfg!(daemon_portable) { "cannot tell whether the daemon runs" } else { "Operation not permitted" };
    assert!(stderr.contains(refusal), "{stderr}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!server.log().contains("upgrade"), "no upgrade ran: {}", server.log());
    assert_eq!(server.harness.processes(), [daemon]);
    assert!(daemon.terminate().is_some());
}

#[test]
fn only_the_daemons_own_reply_is_believed_and_one_request_waits_at_a_time() {
    let (server, old) = Server::start("upgrade_request_forged");
    // The new process's init takes a second: the request stays in flight.
    std::fs::write(server.pid_file.with_extension("pid.slow"), "").unwrap();
    server.install(UPGRADABLE);
    let first = upgrade_command(&server.harness, &server.pid_file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("daemon-run");
    let address = format!("daemon-runtime/upgrade/{}", old.0);
    eventually("the first request waits for its reply", || bound(&address));

    // Another process's word is not the daemon's: a forged failure is ignored.
    let forger = UnixDatagram::unbound().unwrap();
    let to = SocketAddr::from_abstract_name(address.as_bytes()).unwrap();
    forger.send_to_addr(b"failed 1 forged: nothing", &to).expect("send the forged reply");
    forger.send_to_addr(b"ready 1", &to).expect("send the forged reply");

    // A second request while the first waits: refused, nothing signalled.
    let second = server.harness.run(&mut upgrade_command(&server.harness, &server.pid_file));
    let (code, _, stderr) = outcome(&second);
    assert_eq!(code, Some(75), "{stderr}");
    assert!(
        stderr.ends_with(&format!("another request to upgrade pid {} is waiting for its outcome\n", old.0)),
        "{stderr}"
    );

    let first = first.wait_with_output().expect("daemon-run");
    let (code, stdout, stderr) = outcome(&first);
    assert_eq!(code, Some(0), "{stderr}");
    let line = server.log_line(&format!("{} upgraded to ", old.0));
    let new: i32 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(stdout, format!("upgraded (pid {new}, was {})\n", old.0));
    assert!(!server.log().contains("upgrade failed"), "one upgrade only: {}", server.log());
    assert_eq!(old.reap(), Some(WaitStatus::Exited(old.pid(), 0)));
    assert!(Proc(new).terminate().is_some());
}
