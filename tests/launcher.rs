//! What the person who typed the command sees when a start fails: one line
//! on the launcher's stderr, a sysexits code, nothing left running.

mod common;

use std::os::unix::process::CommandExt;
use std::process::Output;
use std::sync::Mutex;

use common::{Harness, PROBE, ProbeHarness, root_or_skip};

/// Tests that run the launcher as `nobody` under a process-count limit must
/// not overlap with each other or with any test that starts a process as
/// `nobody`: each counts `nobody`'s processes.
static AS_NOBODY: Mutex<()> = Mutex::new(());

#[test]
fn a_missing_working_directory_fails_the_start_with_ex_config() {
    let harness = Harness::new("chdir");
    let pid_file = harness.path("d.pid");
    let output = harness.run(
        harness.command(PROBE).args(["--chdir", "/nonexistent/daemon-test"]).arg("--pid-file").arg(&pid_file),
    );
    let message = "error: chdir: /nonexistent/daemon-test: No such file or directory (os error 2)";
    harness.assert_failed(&output, 78, message);
    assert!(!pid_file.exists(), "a failed start left a pid file");
}

#[test]
fn a_working_directory_that_is_a_file_fails_the_start() {
    let harness = Harness::new("chdir-file");
    let file = harness.path("file");
    std::fs::write(&file, "").unwrap();
    let output = harness.run(harness.command(PROBE).arg("--chdir").arg(&file));
    let message = format!("error: chdir: {}: Not a directory (os error 20)", file.display());
    harness.assert_failed(&output, 78, &message);
}

/// Runs the probe as `nobody`, allowed `extra` processes beyond those
/// `nobody` already has (the launcher itself is one).
fn as_nobody_with_process_limit(harness: &Harness, extra: libc::rlim_t) -> Output {
    let _serial = AS_NOBODY.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // A process of nobody's that ends between the count and the fork would
    // leave room for one more: wait for earlier tests' to be gone first.
    common::eventually("no process of nobody's is left", || processes_of(65534) == 0);
    let limit = extra;
    let (_dir, probe) = common::executable_by_nobody(std::path::Path::new(PROBE));
    let mut command = harness.command(&probe);
    command.current_dir("/");
    // The limit is set after setuid: a setuid over the limit would make exec fail.
    let become_nobody = move || {
        common::become_nobody()?;
        let rlimit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
        // SAFETY: `rlimit` is a valid `rlimit`.
        if unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &rlimit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    // SAFETY: the hook runs between fork and exec and only calls setgroups,
    // setgid, setuid and setrlimit, async-signal-safe.
    unsafe { command.pre_exec(become_nobody) };
    harness.run(&mut command)
}

fn processes_of(uid: u32) -> u64 {
    let mut count = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(status) = std::fs::read_to_string(entry.path().join("status"))
            && status
                .lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some(&uid.to_string()))
        {
            count += 1;
        }
    }
    count
}

#[test]
fn a_refused_first_fork_is_reported() {
    if !root_or_skip("a_refused_first_fork_is_reported", "run the launcher as nobody") {
        return;
    }
    let harness = Harness::new("fork-refused");
    let output = as_nobody_with_process_limit(&harness, 1);
    harness.assert_failed(&output, 71, "error: fork: Resource temporarily unavailable (os error 11)");
}

#[test]
fn a_refused_second_fork_is_reported_and_leaves_no_orphan() {
    if !root_or_skip("a_refused_second_fork_is_reported_and_leaves_no_orphan", "run the launcher as nobody") {
        return;
    }
    let harness = Harness::new("second-fork-refused");
    let output = as_nobody_with_process_limit(&harness, 2);
    harness.assert_failed(&output, 71, "error: second fork: Resource temporarily unavailable (os error 11)");
}

#[test]
fn a_manually_ready_daemon_never_holds_the_launchers_terminal() {
    let harness = Harness::new("relay");
    let mut command = harness.command(PROBE);
    command.args([
        "--ready-manual",
        "--ready-timeout-ms",
        "20000",
        "--body-print",
        "before ready",
        "--body-never-ready",
    ]);
    let master = common::on_pseudo_terminal(&mut command);
    let mut launcher = command.spawn().expect("probe");
    // What the body prints before `ready()` still reaches the terminal,
    // relayed by the launcher, stdout and stderr each.
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while !(seen.contains("before ready\r\n") && seen.contains("before ready (stderr)")) {
        assert!(std::time::Instant::now() < deadline, "not relayed: {seen:?}");
        let mut fds =
            [nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(&master), nix::poll::PollFlags::POLLIN)];
        if nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)).unwrap_or(0) > 0 {
            let mut chunk = [0u8; 256];
            let n = nix::unistd::read(&master, &mut chunk).unwrap_or(0);
            seen.push_str(&common::text(&chunk[..n]));
        }
    }
    let daemons: Vec<_> = harness.processes().into_iter().filter(|p| p.0 != launcher.id() as i32).collect();
    assert!(!daemons.is_empty(), "no daemon found");
    for daemon in daemons {
        for (fd, target) in daemon.fds() {
            let target = target.to_string_lossy().into_owned();
            assert!(
                !target.starts_with("/dev/pts/") && target != "/dev/tty",
                "daemon {} fd {fd}: {target}",
                daemon.0
            );
        }
    }
    let _ = launcher.kill();
    let _ = launcher.wait();
}

#[test]
fn a_daemon_that_dies_before_ready_after_switching_users_leaves_no_pid_file() {
    if !root_or_skip(
        "a_daemon_that_dies_before_ready_after_switching_users_leaves_no_pid_file",
        "switch users",
    ) {
        return;
    }
    // Its daemon runs as `nobody`: it would change the count that the
    // process-limit tests take.
    let _serial = AS_NOBODY.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let harness = Harness::new("died-as-nobody");
    let pid_file = harness.path("d.pid");
    let output = harness.launch_probe(&[
        "--user",
        "nobody",
        "--ready-manual",
        "--pid-file",
        common::arg(&pid_file),
        "--body-panic",
        "boom",
    ]);
    harness.assert_failed(&output, 70, "error: report: the daemon exited before it was ready");
    // `nobody` could not unlink it from root's directory: the launcher did.
    assert!(!pid_file.exists(), "the pid file was left");
}

#[test]
fn a_descendant_of_the_daemon_in_a_session_of_its_own_dies_with_a_failed_start() {
    // Issue 26 L. Without a subreaper (macOS, `--cfg daemon_portable`) the
    // daemon's orphans are init's (here: this test process's), not the
    // launcher's to kill.
    if cfg!(daemon_portable) {
        common::skip(
            "a_descendant_of_the_daemon_in_a_session_of_its_own_dies_with_a_failed_start",
            "no subreaper under daemon_portable: the daemon's orphans are not the launcher's",
        );
        return;
    }
    let harness = Harness::new("setsid-child");
    let output = harness.launch_probe(&["--ready-manual", "--body-setsid-child", "--body-fail", "broken"]);
    // `assert_failed` checks that no process of the start is alive: the
    // `sleep` that called `setsid` neither.
    harness.assert_failed(&output, 70, "error: report: the daemon exited before it was ready");
    // The program's own children, from before the start, are not the start's.
    let before = harness.path("before.pid");
    let output = harness.launch_probe(&[
        "--spawn-before",
        common::arg(&before),
        "--ready-manual",
        "--body-setsid-child",
        "--body-fail",
        "broken",
    ]);
    assert_eq!(output.status.code(), Some(70), "{output:?}");
    let child = common::Proc(std::fs::read_to_string(&before).unwrap().parse().unwrap());
    assert!(child.alive(), "the program's own child was killed");
    assert_eq!(harness.processes(), [child], "only the program's own child is left");
}

#[test]
fn a_late_daemon_that_left_its_process_group_is_still_stopped() {
    let harness = Harness::new("late-setsid");
    let output = harness.launch_probe(&[
        "--ready-manual",
        "--ready-timeout-ms",
        "300",
        "--body-setsid",
        "--body-never-ready",
    ]);
    // `assert_failed` checks that no process of the start is alive.
    harness.assert_failed(
        &output,
        70,
        "error: ready: not ready after 300ms: the body did not call `daemon_runtime::ready()`",
    );
}
