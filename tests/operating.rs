//! Operating a daemon: status and stop by the pid file's lock, clean
//! termination, log reopening, supervisor detection, the ctl example.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    Bystander, Harness, PROBE, ProbeHarness, Proc, arg, assert_stale_and_nobody_signalled, eventually,
    example, lock_file, stop_and_reap, text, wait_for_pid,
};
use daemon_runtime::{Status, StopOptions, Stopped};
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

#[test]
fn status_tells_running_stale_and_absent_by_the_lock() {
    let harness = Harness::new("status");
    let pid_file = harness.path("d.pid");
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Absent);
    let daemon = harness.start_probe(&["--pid-file", arg(&pid_file)]);
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Running { pid: daemon.0 as u32 });
    daemon.kill();
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Stale);
    assert_eq!(Status::Stale.lsb_code(), 1);
}

#[test]
fn a_stale_file_naming_a_live_unrelated_process_is_never_signalled() {
    let harness = Harness::new("stale-bystander");
    let bystander = Bystander::spawn(&harness);
    let pid_file = harness.path("d.pid");
    std::fs::write(&pid_file, format!("{}\n", bystander.pid())).unwrap();
    assert_stale_and_nobody_signalled(&pid_file);
    bystander.assert_untouched();
    assert!(!pid_file.exists(), "stop removes a stale file nobody holds");
}

/// Waits until a lock on `path` refuses even a shared one: `holder` took it.
fn wait_exclusively_locked(path: &std::path::Path) {
    use std::os::fd::AsRawFd;
    let probe = std::fs::File::open(path).unwrap();
    eventually("the holder has the exclusive lock", || {
        // SAFETY: flock on a descriptor we own, touching no memory.
        let shared = unsafe { libc::flock(probe.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0;
        // SAFETY: as above; releases what the probe got.
        unsafe { libc::flock(probe.as_raw_fd(), libc::LOCK_UN) };
        !shared
    });
}

#[test]
fn a_lock_whose_taker_forked_and_exited_is_held_by_the_child_which_is_named_and_stopped() {
    // Issue 26, item K: `flock` takes LOCK_EX on the shell's descriptor 9
    // and exits; the shell, then `sleep`, keeps the description, and with
    // it the lock, which `/proc/locks` keeps listing under the exited
    // `flock`. Linux searches every process for the real holder: `sleep`
    // is running, signalled and stopped, never the bystander the pid file
    // names. The portable proof (macOS, FreeBSD, `--cfg daemon_portable`)
    // goes by the pid written in the pid file, a bystander that does not
    // have the lock file open: the file is stale there, and replaced.
    let harness = Harness::new("forked-holder");
    let pid_file = harness.path("d.pid");
    let lock = lock_file(&pid_file);
    let bystander = Bystander::spawn(&harness);
    std::fs::write(&pid_file, format!("{}\n", bystander.pid())).unwrap();
    std::fs::write(&lock, "").unwrap();
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut holder = harness
        .command("sh")
        .args(["-c", r#"exec 9<"$1"; flock -x 9; exec sleep 60"#, "sh", arg(&lock)])
        .spawn()
        .unwrap();
    wait_exclusively_locked(&lock);
    let holder_proc = Proc(holder.id() as i32);
    eventually("the lock's taker, `flock`, has exited", || holder_proc.comm() == "sleep");
    if cfg!(daemon_portable) {
        assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Stale);
        assert_eq!(daemon_runtime::signal(&pid_file, Signal::SIGKILL).unwrap(), None);
        let daemon = harness.start_probe(&["--pid-file", arg(&pid_file)]);
        assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", daemon.0));
        holder_proc.assert_untouched("the stranger holding the lock (its `sleep`)");
    } else {
        assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Running { pid: holder.id() });
        let output = harness.launch_probe(&["--pid-file", arg(&pid_file)]);
        assert_eq!(output.status.code(), Some(75), "a second instance started: {output:?}");
        let options = daemon_runtime::StopOptions::new().timeout(common::PATIENCE);
        assert_eq!(daemon_runtime::stop(&pid_file, options).unwrap(), Stopped::Exited { pid: holder.id() });
        assert!(holder.try_wait().unwrap().is_some(), "the holder was not stopped");
        assert!(!pid_file.exists() && !lock.exists());
    }
    bystander.assert_untouched();
    let _ = holder.kill();
    holder.wait().unwrap();
}

#[test]
fn a_live_lock_taker_the_file_does_not_name_is_found_only_through_proc_locks() {
    // Linux's `/proc/locks` names the process that took the lock, and that
    // is the holder; the portable proof knows only the pid written in the
    // file, a bystander here, and so signals nobody. Neither signals it.
    let harness = Harness::new("named-bystander");
    let pid_file = harness.path("d.pid");
    let bystander = Bystander::spawn(&harness);
    std::fs::write(&pid_file, format!("{}\n", bystander.pid())).unwrap();
    let lock = lock_file(&pid_file);
    std::fs::write(&lock, "").unwrap();
    let mut taker = harness.command("flock").args(["-x", arg(&lock), "sleep", "60"]).spawn().unwrap();
    wait_exclusively_locked(&lock);
    let (status, signalled) = if cfg!(daemon_portable) {
        (Status::Stale, None)
    } else {
        (Status::Running { pid: taker.id() }, Some(taker.id()))
    };
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), status);
    assert_eq!(daemon_runtime::signal(&pid_file, Signal::SIGKILL).unwrap(), signalled);
    if signalled.is_some() {
        let killed = taker.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&killed), Some(libc::SIGKILL));
    }
    // A signal sent is pending from the moment `signal` returned until it
    // ends its target (see `Proc::signals`): nothing to wait for.
    bystander.assert_untouched();
    if signalled.is_none() {
        Proc(taker.id() as i32).assert_untouched("the unproven taker");
    }
    // (The taker's `sleep`, holding the lock after a SIGKILL, goes with the harness.)
    let _ = taker.kill();
    taker.wait().unwrap();
}

#[test]
fn stop_signals_the_holder_and_waits_for_the_lock() {
    let harness = Harness::new("stop");
    let pid_file = harness.path("d.pid");
    let daemon = harness.start_probe(&["--pid-file", arg(&pid_file)]);
    let options = StopOptions::new().timeout(common::PATIENCE).then_kill(false);
    let (stopped, ended) = stop_and_reap(daemon, &pid_file, options);
    assert_eq!(stopped, Stopped::Exited { pid: daemon.0 as u32 });
    assert_eq!(ended, Some(WaitStatus::Exited(daemon.pid(), 0)));
    assert!(!pid_file.exists());
}

#[test]
fn stop_sends_the_signal_its_options_name() {
    let harness = Harness::new("stop-signal");
    let pid_file = harness.path("d.pid");
    let daemon = harness.start_probe(&["--pid-file", arg(&pid_file)]);
    let options = StopOptions::new().signal(Signal::SIGUSR1).timeout(common::PATIENCE).then_kill(false);
    let (stopped, ended) = stop_and_reap(daemon, &pid_file, options);
    assert_eq!(stopped, Stopped::Exited { pid: daemon.0 as u32 });
    // The probe handles only SIGTERM: SIGUSR1's default action ended it.
    assert_eq!(ended, Some(WaitStatus::Signaled(daemon.pid(), Signal::SIGUSR1, false)));
    assert!(!pid_file.exists());
}

#[test]
fn stop_escalates_to_sigkill_when_sigterm_is_ignored() {
    let harness = Harness::new("stop-kill");
    let pid_file = harness.path("d.pid");
    let daemon = harness.start_probe(&["--pid-file", arg(&pid_file), "--body-ignore-term"]);
    let options = StopOptions::new().timeout(Duration::from_millis(300));
    let (stopped, ended) = stop_and_reap(daemon, &pid_file, options);
    assert_eq!(stopped, Stopped::Killed { pid: daemon.0 as u32 });
    assert_eq!(ended, Some(WaitStatus::Signaled(daemon.pid(), Signal::SIGKILL, false)));
    assert!(!pid_file.exists(), "stop removes the file a killed daemon could not");
}

#[test]
fn stop_follows_every_step_of_its_schedule_in_order() {
    // Ignoring TERM, the probe dies of the schedule's second signal (USR2,
    // whose default action ends it), before the final SIGKILL.
    let harness = Harness::new("stop-schedule");
    let pid_file = harness.path("d.pid");
    let daemon = harness.start_probe(&["--pid-file", arg(&pid_file), "--body-ignore-term"]);
    let options =
        StopOptions::new().timeout(Duration::from_millis(300)).then_signal(Signal::SIGUSR2, common::PATIENCE);
    let (stopped, ended) = stop_and_reap(daemon, &pid_file, options);
    assert_eq!(stopped, Stopped::Exited { pid: daemon.0 as u32 });
    assert_eq!(ended, Some(WaitStatus::Signaled(daemon.pid(), Signal::SIGUSR2, false)));
    assert!(!pid_file.exists());

    // A schedule that runs out with the daemon still there is an error
    // naming it, and leaves it running with its file.
    let daemon = harness.start_probe(&["--pid-file", arg(&pid_file), "--body-ignore-term"]);
    let options = StopOptions::new().timeout(Duration::from_millis(100)).then_kill(false);
    let error = daemon_runtime::stop(&pid_file, options).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(error.to_string(), format!("pid {} is still running after the schedule", daemon.0));
    assert!(daemon.alive() && pid_file.exists());
}

#[test]
fn every_terminating_signal_without_a_handler_removes_the_pid_file_and_kills() {
    // Those whose default action also dumps core run without core dumps.
    let signals = [
        (Signal::SIGTERM, false),
        (Signal::SIGINT, false),
        (Signal::SIGHUP, false),
        (Signal::SIGQUIT, true),
        (Signal::SIGUSR1, false),
        (Signal::SIGUSR2, false),
        (Signal::SIGALRM, false),
        (Signal::SIGVTALRM, false),
        (Signal::SIGPROF, false),
        (Signal::SIGIO, false),
        #[cfg(target_os = "linux")]
        (Signal::SIGPWR, false),
        (Signal::SIGXCPU, true),
        (Signal::SIGXFSZ, true),
        #[cfg(target_os = "linux")]
        (Signal::SIGSTKFLT, false),
    ];
    for (signal, dumps_core) in signals {
        let harness = Harness::new("clean-termination");
        let pid_file = harness.path("d.pid");
        let mut args = vec!["--pid-file", arg(&pid_file), "--body-no-handler"];
        if dumps_core {
            args.push("--no-core-dumps");
        }
        let daemon = harness.start_probe(&args);
        nix::sys::signal::kill(daemon.pid(), signal).unwrap();
        assert_eq!(daemon.reap(), Some(WaitStatus::Signaled(daemon.pid(), signal, false)), "{signal}");
        assert!(!pid_file.exists(), "pid file left after {signal}");
    }
}

#[test]
fn a_handler_installed_by_the_body_wins_and_main_removes_the_file() {
    let harness = Harness::new("handler-wins");
    let pid_file = harness.path("d.pid");
    // The probe's body registers SIGTERM with signal-hook, which chains to ours.
    let daemon = harness.start_probe(&["--pid-file", arg(&pid_file)]);
    assert_eq!(daemon.terminate(), Some(WaitStatus::Exited(daemon.pid(), 0)), "main returned normally");
    assert!(!pid_file.exists());
}

#[test]
fn reopen_logs_on_sighup_moves_to_a_new_file_and_loses_no_line() {
    let harness = Harness::new("reopen");
    let log = harness.path("out.log");
    let rotated = harness.path("out.log.1");
    let daemon = harness.start_probe(&["--stdout", arg(&log), "--body-log-lines"]);
    eventually("some lines are logged", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.lines().count() > 20)
    });
    std::fs::rename(&log, &rotated).unwrap();
    nix::sys::signal::kill(daemon.pid(), Signal::SIGHUP).unwrap();
    eventually("lines land in a new file", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.lines().count() > 20)
    });
    assert_eq!(daemon.terminate(), Some(WaitStatus::Exited(daemon.pid(), 0)));
    let all = std::fs::read_to_string(&rotated).unwrap() + &std::fs::read_to_string(&log).unwrap();
    for (expected, line) in all.lines().enumerate() {
        assert_eq!(line, format!("line {expected}"), "a line was lost or doubled");
    }
}

const SUPERVISED: &str = env!("CARGO_BIN_EXE_supervised");

fn supervised(command: &mut Command) -> String {
    let output = command.env_remove("NOTIFY_SOCKET").env_remove("INVOCATION_ID").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    text(&output.stdout).trim().to_string()
}

#[test]
fn supervised_is_false_for_a_plain_launch() {
    assert_eq!(supervised(Command::new(SUPERVISED).stdin(Stdio::null())), "false");
}

#[test]
fn supervised_under_systemd_variables() {
    for variable in ["NOTIFY_SOCKET", "INVOCATION_ID"] {
        let output = Command::new(SUPERVISED).stdin(Stdio::null()).env(variable, "x").output().unwrap();
        assert_eq!(text(&output.stdout).trim(), "true", "{variable}");
    }
}

#[test]
fn supervised_when_stdin_is_a_socket() {
    let (socket, _peer) = UnixStream::pair().unwrap();
    assert_eq!(
        supervised(Command::new(SUPERVISED).stdin(Stdio::from(std::os::fd::OwnedFd::from(socket)))),
        "true"
    );
}

#[test]
fn supervised_as_pid_1_and_as_a_child_of_pid_1() {
    if !common::root_or_skip("supervised_as_pid_1_and_as_a_child_of_pid_1", "unshare a pid namespace") {
        return;
    }
    let as_init =
        supervised(Command::new("unshare").args(["-fp", "--mount-proc", SUPERVISED]).stdin(Stdio::null()));
    assert_eq!(as_init, "true", "PID 1 of a namespace");
    let script = format!("{SUPERVISED}; exit 0");
    let child_of_init = supervised(
        Command::new("unshare").args(["-fp", "--mount-proc", "sh", "-c", &script]).stdin(Stdio::null()),
    );
    assert_eq!(child_of_init, "true", "parent is PID 1");
}

#[test]
fn a_launcher_that_is_pid_1_refuses_to_detach() {
    if !common::root_or_skip("a_launcher_that_is_pid_1_refuses_to_detach", "unshare a pid namespace") {
        return;
    }
    let harness = Harness::new("pid1");
    let output = harness.run(harness.command("unshare").args(["-fp", "--mount-proc", PROBE]));
    assert_eq!(output.status.code(), Some(78), "{output:?}");
    assert!(
        text(&output.stderr).starts_with("error: preflight: this process is PID 1 of its namespace"),
        "{output:?}"
    );
}

#[test]
fn ctl_example_starts_reports_reloads_and_stops() {
    let harness = Harness::new("ctl");
    let dir = harness.path("ctl");
    let ctl = |action: &str| harness.run(harness.command(example("ctl")).arg(&dir).arg(action));
    assert_eq!(ctl("status").status.code(), Some(3), "not running");
    assert!(ctl("start").status.success());
    let daemon = wait_for_pid(&dir.join("ctl.pid"));
    assert_eq!(text(&ctl("status").stdout), format!("running (pid {})\n", daemon.0));
    assert_eq!(ctl("start").status.code(), Some(75), "a second start is refused");
    assert!(ctl("reload").status.success());
    eventually("the daemon logs its reload", || {
        std::fs::read_to_string(dir.join("ctl.log")).is_ok_and(|t| t.contains("reloaded"))
    });
    let reaper = std::thread::spawn(move || daemon.reap());
    assert_eq!(text(&ctl("stop").stdout), format!("stopped pid {}\n", daemon.0));
    assert_eq!(reaper.join().unwrap(), Some(WaitStatus::Exited(daemon.pid(), 0)));
    assert_eq!(ctl("status").status.code(), Some(3), "stopped cleanly: no pid file");
}

#[test]
fn ctl_example_reports_a_killed_daemon_and_restarts_it() {
    let harness = Harness::new("ctl-restart");
    let dir = harness.path("ctl");
    let pid_file = dir.join("ctl.pid");
    let ctl = |action: &str| harness.run(harness.command(example("ctl")).arg(&dir).arg(action));
    assert!(ctl("start").status.success());
    let killed = wait_for_pid(&pid_file);
    nix::sys::signal::kill(killed.pid(), Signal::SIGKILL).unwrap();
    killed.reap();
    let status = ctl("status");
    assert_eq!(status.status.code(), Some(1), "dead with a pid file: {status:?}");
    assert!(ctl("restart").status.success());
    let restarted = wait_for_pid(&pid_file);
    assert_ne!(restarted, killed);
    assert_eq!(text(&ctl("status").stdout), format!("running (pid {})\n", restarted.0));
}
