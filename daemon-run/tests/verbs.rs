//! `--status`, `--signal`, `--stop`, `--restart` driven from outside, on a
//! program `daemon-run` started, and on a stale file naming a bystander.

use crate::common;

use std::path::Path;

use common::{Bystander, DaemonRunHarness, Harness, Proc, eventually, text, wait_for_pid};

/// Runs `daemon-run` with `args` to completion: (exit code, stdout, stderr).
fn verb(harness: &Harness, args: &[&str], pid_file: &Path) -> (i32, String, String) {
    let output =
        harness.daemon_run(args).arg("--pid-file").arg(pid_file).output().expect("launch daemon-run");
    (output.status.code().expect("exit code"), text(&output.stdout), text(&output.stderr))
}

/// Starts a shell that appends `hup` to `log` on SIGHUP and exits 0 on
/// SIGTERM (or ignores it, with `ignore_term`): it waits on `sleep` so that
/// a signal interrupts it at once.
fn start_shell(harness: &Harness, pid_file: &Path, log: &Path, ignore_term: bool) -> Proc {
    let on_term = if ignore_term { "trap '' TERM" } else { "trap 'exit 0' TERM" };
    let script = format!(
        "trap 'echo hup >> \"{}\"' HUP; {on_term}; while :; do sleep 1 & wait $!; done",
        log.display()
    );
    launch_shell(harness, pid_file, &script);
    wait_for_pid(pid_file)
}

/// Starts `sh -c SCRIPT` under `daemon-run --pid-file PID_FILE`, asserting
/// the start succeeded.
fn launch_shell(harness: &Harness, pid_file: &Path, script: &str) {
    let output = harness
        .daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()])
        .args(["sh", "-c", script])
        .output()
        .expect("launch");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

#[test]
fn status_signal_and_stop_operate_the_running_program() {
    let harness = Harness::new("verbs");
    let pid_file = harness.path("shell.pid");
    let log = harness.path("hup.log");
    let shell = start_shell(&harness, &pid_file, &log, false);

    let (code, stdout, stderr) = verb(&harness, &["--status"], &pid_file);
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (0, format!("running (pid {})\n", shell.0).as_str(), "")
    );

    let (code, _, stderr) = verb(&harness, &["--signal", "HUP"], &pid_file);
    assert_eq!(code, 0, "{stderr}");
    eventually("the shell's HUP trap ran", || std::fs::read_to_string(&log).is_ok_and(|t| t == "hup\n"));
    assert!(shell.alive());

    let (code, _, stderr) = verb(&harness, &["--stop"], &pid_file);
    assert_eq!(code, 0, "{stderr}");
    // Returned only once the process itself is gone (a zombie of this
    // subreaper, or reaped), not merely its lock.
    assert!(!shell.alive(), "--stop returned while pid {} runs", shell.0);
    assert!(!pid_file.exists(), "--stop removes the pid file the program left");
    let (code, stdout, _) = verb(&harness, &["--status"], &pid_file);
    assert_eq!((code, stdout.as_str()), (3, "not running\n"));
    let (code, _, stderr) = verb(&harness, &["--stop"], &pid_file);
    assert_eq!((code, stderr.as_str()), (0, ""), "stopping what is not running succeeds");
    let (code, _, stderr) = verb(&harness, &["--signal", "HUP"], &pid_file);
    assert_eq!(code, 3, "{stderr}");
}

#[test]
fn stop_follows_the_retry_schedule_to_sigkill() {
    let harness = Harness::new("verbs_retry");
    let pid_file = harness.path("stubborn.pid");
    let shell = start_shell(&harness, &pid_file, &harness.path("hup.log"), true);
    let (code, _, stderr) = verb(&harness, &["--stop", "--retry", "TERM/300ms/KILL/5"], &pid_file);
    assert_eq!(code, 0, "{stderr}");
    assert!(!shell.alive());
    assert_eq!(
        shell.reap(),
        Some(nix::sys::wait::WaitStatus::Signaled(shell.pid(), nix::sys::signal::Signal::SIGKILL, false))
    );
    assert!(!pid_file.exists());

    // A schedule without KILL ends with the program still running: exit 1.
    let shell = start_shell(&harness, &pid_file, &harness.path("hup.log"), true);
    let (code, _, stderr) = verb(&harness, &["--stop", "--retry", "TERM/200ms"], &pid_file);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr,
        format!("error: stop: {}: pid {} is still running after the schedule\n", pid_file.display(), shell.0)
    );
    assert!(shell.alive());
}

#[test]
fn a_stale_pid_file_naming_a_bystander_never_gets_it_signalled() {
    let harness = Harness::new("verbs_stale");
    let pid_file = harness.path("stale.pid");
    let bystander = Bystander::spawn(&harness);
    std::fs::write(&pid_file, format!("{}\n", bystander.pid())).unwrap();

    let (code, stdout, _) = verb(&harness, &["--status"], &pid_file);
    assert_eq!(
        (code, stdout.as_str()),
        (1, format!("not running, but {} is left\n", pid_file.display()).as_str())
    );
    for signal in ["TERM", "KILL", "HUP"] {
        let (code, _, _) = verb(&harness, &["--signal", signal], &pid_file);
        assert_eq!(code, 3, "--signal {signal}");
    }
    let (code, _, stderr) = verb(&harness, &["--stop", "--retry", "KILL/1"], &pid_file);
    assert_eq!(code, 0, "{stderr}");
    bystander.assert_untouched();
    assert!(!pid_file.exists(), "the stale file is removed");
}

#[test]
fn restart_stops_the_program_and_starts_it_again_with_the_same_flags() {
    let harness = Harness::new("verbs_restart");
    let pid_file = harness.path("restart.pid");
    let log = harness.path("hup.log");
    let first = start_shell(&harness, &pid_file, &log, false);
    let output = harness
        .daemon_run([
            "--restart".as_ref(),
            "--umask".as_ref(),
            "077".as_ref(),
            "--pid-file".as_ref(),
            pid_file.as_os_str(),
        ])
        .args(["sleep", "30"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(!first.alive());
    let second = wait_for_pid(&pid_file);
    assert_ne!(second, first);
    assert_eq!(second.comm(), "sleep");
    assert_eq!(second.status("Umask"), "0077");

    // Nothing running: a restart is a start.
    let (code, _, stderr) = verb(&harness, &["--stop"], &pid_file);
    assert_eq!(code, 0, "{stderr}");
    let output = harness
        .daemon_run(["--restart".as_ref(), "-p".as_ref(), pid_file.as_os_str()])
        .args(["sleep", "30"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    wait_for_pid(&pid_file);
}

#[test]
fn verbs_need_a_pid_file_and_take_no_program() {
    let harness = Harness::new("verbs_usage");
    for args in [
        &["--stop"][..],
        &["--status"],
        &["--signal", "HUP"],
        &["--signal", "NOSUCH", "-p", "x"],
        &["--stop", "-p", "x", "sleep", "30"],
        &["--stop", "--status", "-p", "x"],
        &["--stop", "--retry", "TERM", "-p", "x"],
        &["--restart", "-p", "x"],
    ] {
        let output = harness.daemon_run(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output.stderr));
    }
    let output = harness.daemon_run(["--pid-flie", "x", "sleep"]).output().unwrap();
    assert!(
        text(&output.stderr).contains("similar argument exists: '--pid-file'"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_program_that_forks_and_exits_leaves_its_child_holding_the_lock_and_running() {
    // Issue 26, item K: the program (a shell) starts `sleep` in the
    // background, which inherits the lock's descriptor, and exits. The
    // kernel's list names the exited shell as the lock's taker; the holder
    // is the child. `--status` names it, a start refuses, `--stop` stops
    // it. The portable proof (macOS, FreeBSD) goes by the pid written in
    // the pid file, the exited shell's: it still takes the file for stale
    // (README, platforms).
    let harness = Harness::new("verbs_forked");
    let pid_file = harness.path("forked.pid");
    let marker = harness.path("child.pid");
    let script = format!("sleep 600 & echo $! > '{}'; exit 0", marker.display());
    launch_shell(&harness, &pid_file, &script);
    let shell = Proc(std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap());
    eventually("the shell has exited", || !shell.alive());
    let child = common::wait_for_pid(&marker);
    let (code, stdout, stderr) = verb(&harness, &["--status"], &pid_file);
    if cfg!(daemon_portable) {
        assert_eq!((code, stdout), (1, format!("not running, but {} is left\n", pid_file.display())));
        return;
    }
    assert_eq!((code, stdout), (0, format!("running (pid {})\n", child.0)), "{stderr}");
    // A second instance is refused, naming the child.
    let output =
        harness.daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()]).args(["sleep", "600"]).output();
    let output = output.expect("launch");
    assert_eq!(output.status.code(), Some(75), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains(&format!("already running (pid {})", child.0)), "{output:?}");
    let (code, _, stderr) = verb(&harness, &["--stop", "--retry", "TERM/5"], &pid_file);
    assert_eq!(code, 0, "{stderr}");
    assert!(!child.alive(), "the child holding the lock was not stopped");
    assert!(!pid_file.exists() && !common::lock_file(&pid_file).exists(), "the files are left");
}
