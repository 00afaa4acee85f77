//! `daemon-run --respawn`: the supervisor and its program, seen from outside.

use crate::common;

use std::path::Path;

use common::{DaemonRunHarness, Harness, Proc, eventually, root_or_skip, text, wait_for_pid};
use daemon_runtime::Status;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;

/// Starts `daemon-run --respawn` with `extra` flags around `program`;
/// returns (supervisor, program) once both run.
fn start(harness: &Harness, extra: &[&str], program: &[&str]) -> (Proc, Proc) {
    let output = harness
        .daemon_run(["--respawn", "--respawn-delay", "10ms", "--pid-file"])
        .arg(harness.path("supervisor.pid"))
        .arg("--child-pid-file")
        .arg(harness.path("program.pid"))
        .args(extra)
        .args(program)
        .output()
        .expect("launch");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let supervisor = wait_for_pid(&harness.path("supervisor.pid"));
    let program = wait_for_pid(&harness.path("program.pid"));
    (supervisor, program)
}

fn verb(harness: &Harness, args: &[&str]) -> i32 {
    let output = harness.daemon_run(args).arg("-p").arg(harness.path("supervisor.pid")).output().unwrap();
    output.status.code().expect("exit code")
}

/// The live program `program.pid` names, once it names one other than `old`.
fn next_program(harness: &Harness, old: Proc) -> Proc {
    let path = harness.path("program.pid");
    let mut next = None;
    eventually("a new pid in --child-pid-file", || {
        next = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .map(Proc)
            .filter(|&proc| proc != old && proc.alive());
        next.is_some()
    });
    next.unwrap()
}

#[test]
fn a_killed_program_is_restarted_and_stop_ends_supervisor_and_program() {
    let harness = Harness::new("respawn_restart");
    let hup = harness.path("hup.log");
    let script = format!("trap 'echo hup >> \"{}\"' HUP; while :; do sleep 1 & wait $!; done", hup.display());
    let (supervisor, program) = start(&harness, &[], &["sh", "-c", &script]);
    assert_eq!(supervisor.comm(), "daemon-run", "the pid file names the supervisor");
    assert_eq!(program.comm(), "sh");
    assert_eq!(program.ppid(), supervisor.0);
    assert_eq!(
        daemon_runtime::status(harness.path("supervisor.pid")).unwrap(),
        Status::Running { pid: supervisor.0 as u32 },
        "the supervisor holds the lock"
    );
    let lock = common::lock_file(&harness.path("supervisor.pid"));
    assert!(
        !program.fds().values().any(|target| target == &harness.path("supervisor.pid") || target == &lock),
        "{:?}",
        program.fds()
    );

    kill(program.pid(), Signal::SIGKILL).unwrap();
    let second = next_program(&harness, program);
    assert_eq!(second.ppid(), supervisor.0);

    // Forwarded: HUP reaches the program, which keeps running.
    assert_eq!(verb(&harness, &["--signal", "HUP"]), 0);
    eventually("the program's HUP trap ran", || std::fs::read_to_string(&hup).is_ok_and(|t| t == "hup\n"));
    assert!(second.alive() && supervisor.alive());

    // --stop: TERM forwarded, the program ends, so does the supervisor.
    assert_eq!(verb(&harness, &["--stop"]), 0);
    assert!(!supervisor.alive());
    eventually("the program is gone", || !second.alive());
    assert!(!harness.path("supervisor.pid").exists());
    assert!(!harness.path("program.pid").exists());
    // The shell's `sleep` too: the supervisor waits for its group to be
    // gone before it exits.
    assert_eq!(harness.processes(), []);
}

#[test]
fn killing_the_supervisor_leaves_no_program_behind() {
    let harness = Harness::new("respawn_orphan");
    let (supervisor, program) = start(&harness, &[], &["sleep", "30"]);
    kill(supervisor.pid(), Signal::SIGKILL).unwrap();
    eventually("the program dies with its supervisor", || !program.alive());
    assert_eq!(program.reap(), Some(WaitStatus::Signaled(program.pid(), Signal::SIGKILL, false)));
    assert_eq!(harness.processes(), []);
}

#[test]
fn a_program_that_exits_0_ends_the_supervisor() {
    let harness = Harness::new("respawn_done");
    let runs = harness.path("runs");
    let script = format!("echo run >> '{}'; sleep 0.2; exit 0", runs.display());
    let (supervisor, _) = start(&harness, &[], &["sh", "-c", &script]);
    assert_eq!(supervisor.reap(), Some(WaitStatus::Exited(supervisor.pid(), 0)));
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "run\n", "not restarted");
}

#[test]
fn a_program_that_keeps_failing_is_given_up_after_the_attempts() {
    let harness = Harness::new("respawn_give_up");
    let runs = harness.path("runs");
    let log = harness.path("supervisor.log");
    let script = format!("echo run >> '{}'; sleep 0.1; exit 3", runs.display());
    let extra = ["--respawn-attempts", "2", "--stderr", log.to_str().unwrap()];
    let (supervisor, _) = start(&harness, &extra, &["sh", "-c", &script]);
    assert_eq!(supervisor.reap(), Some(WaitStatus::Exited(supervisor.pid(), daemon_run::GAVE_UP)));
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "run\n".repeat(3), "the first run and 2 restarts");
    let log = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines[0].ends_with("exited with status 3; restarting in 10ms"), "{log}");
    assert!(lines[1].ends_with("exited with status 3; restarting in 20ms"), "{log}");
    assert!(lines[2].ends_with("giving up"), "{log}");
    assert!(!Path::new(&harness.path("program.pid")).exists());
}

#[test]
fn respawn_as_nobody_runs_supervisor_and_program_as_nobody() {
    if !root_or_skip("respawn_as_nobody_runs_supervisor_and_program_as_nobody", "switch users") {
        return;
    }
    let harness = Harness::new("respawn_user");
    let (supervisor, program) = start(&harness, &["--user", "nobody"], &["sleep", "30"]);
    for proc in [supervisor, program] {
        assert_eq!(proc.status("Uid"), "65534\t65534\t65534\t65534", "{}", proc.comm());
    }
    kill(program.pid(), Signal::SIGKILL).unwrap();
    let second = next_program(&harness, program);
    assert_eq!(second.status("Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(verb(&harness, &["--stop"]), 0);
    eventually("the program is gone", || !second.alive());
}

#[test]
fn respawn_flags_need_respawn() {
    let harness = Harness::new("respawn_usage");
    for args in [
        &["--child-pid-file", "x", "--", "sleep", "1"][..],
        &["--respawn-delay", "1s", "--", "sleep", "1"],
        &["--respawn", "--respawn-attempts", "0", "--", "sleep", "1"],
    ] {
        let output = harness.daemon_run(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output.stderr));
    }
    assert_eq!(harness.processes(), []);
}

#[test]
fn syslog_output_is_relayed_one_record_per_line() {
    let harness = Harness::new("respawn_syslog");
    let socket = harness.path("log.socket");
    let receiver = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
    receiver.set_read_timeout(Some(common::PATIENCE)).unwrap();
    let extra = [
        "--stdout",
        "syslog:daemon.info",
        "--stderr",
        "syslog:local3.err",
        "--tag",
        "web",
        "--syslog-socket",
    ];
    let extra = [&extra[..], &[socket.to_str().unwrap()]].concat();
    let script = "echo out1; echo err1 >&2; printf 'a\\nb'; sleep 30";
    let (supervisor, program) = start(&harness, &extra, &["sh", "-c", script]);
    let mut records: Vec<String> = Vec::new();
    let mut receive = |count: usize| {
        let mut buffer = [0u8; 1024];
        while records.len() < count {
            let n = receiver.recv(&mut buffer).expect("a syslog record in time");
            records.push(text(&buffer[..n]));
        }
        records.clone()
    };
    let mut first = receive(3);
    first.sort();
    let (info, err) = (3 * 8 + 6, 19 * 8 + 3);
    let at = |priority: u32, pid: i32, line: &str| format!("<{priority}>web[{pid}]: {line}");
    let mut expected = [at(info, program.0, "a"), at(err, program.0, "err1"), at(info, program.0, "out1")];
    expected.sort();
    assert_eq!(first, expected);
    // The partial line goes out when its stream ends; the supervisor's own
    // message follows standard error to the log.
    kill(program.pid(), Signal::SIGKILL).unwrap();
    let all = receive(5);
    assert_eq!(all[3], at(info, program.0, "b"), "{all:?}");
    let supervisor_says = format!("<{err}>web[{}]: daemon-run: ", supervisor.0);
    let killed = format!("sh (pid {}) was killed by SIGKILL; restarting in 10ms", program.0);
    assert!(all[4].starts_with(&supervisor_says) && all[4].ends_with(&killed), "{all:?}");
}

#[test]
fn syslog_output_needs_a_log_socket() {
    let harness = Harness::new("respawn_syslog_usage");
    let missing = harness.path("no.socket");
    let output = harness
        .daemon_run([
            "--respawn",
            "--stdout",
            "syslog:daemon.info",
            "--syslog-socket",
            missing.to_str().unwrap(),
        ])
        .args(["-p", harness.path("x.pid").to_str().unwrap(), "--", "sleep", "1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(73), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: syslog: {}: No such file or directory (os error 2) \
             (no syslog daemon listens there? name its socket with --syslog-socket PATH)\n",
            missing.display()
        )
    );
    assert!(!harness.path("x.pid").exists());
    assert_eq!(harness.processes(), []);
}

/// `start` with `--ready notify` around [`common::NOTIFIER`] in `mode`.
fn start_notify(harness: &Harness, extra: &[&str], mode: &str) -> std::process::Output {
    harness
        .daemon_run(["--respawn", "--respawn-delay", "10ms", "--ready", "notify", "--pid-file"])
        .arg(harness.path("supervisor.pid"))
        .arg("--child-pid-file")
        .arg(harness.path("program.pid"))
        .args(extra)
        .args(["--", "python3", "-c", common::NOTIFIER, mode, "0.3"])
        .output()
        .expect("launch")
}

#[test]
fn ready_notify_returns_once_the_first_instance_sent_ready() {
    let harness = Harness::new("respawn_notify");
    if !common::python3_or_skip("ready_notify_returns_once_the_first_instance_sent_ready") {
        return;
    }
    let started = std::time::Instant::now();
    let output = start_notify(&harness, &[], "ready");
    assert_eq!((output.status.code(), text(&output.stderr).as_str()), (Some(0), ""));
    assert!(started.elapsed() >= std::time::Duration::from_millis(300), "returned before READY=1");
    let supervisor = wait_for_pid(&harness.path("supervisor.pid"));
    let program = wait_for_pid(&harness.path("program.pid"));
    assert_eq!(supervisor.comm(), "daemon-run");
    assert_eq!(program.ppid(), supervisor.0);
    let environ = program.read("environ");
    // The supervisor's own receiver (the runtime's NotifyReceiver, bound by its pid).
    let socket = format!("NOTIFY_SOCKET=@daemon-runtime/{}/", supervisor.0);
    assert!(environ.split('\0').any(|var| var.starts_with(&socket)), "{environ:?}");
    // The restarted instance sends READY=1 again, to a supervisor already
    // ready: it keeps running, and so does the new program.
    kill(program.pid(), Signal::SIGKILL).unwrap();
    let second = next_program(&harness, program);
    assert!(supervisor.alive());
    assert_eq!(verb(&harness, &["--stop"]), 0);
    eventually("the program is gone", || !second.alive());
    assert_eq!(harness.processes(), []);
}

#[test]
fn ready_notify_fails_when_the_first_instance_exits_or_is_late() {
    let harness = Harness::new("respawn_notify_fails");
    if !common::python3_or_skip("ready_notify_fails_when_the_first_instance_exits_or_is_late") {
        return;
    }
    // The supervisor is the runtime's body, which calls `ready()` on
    // PROGRAM's READY=1: the message names what PROGRAM did not send.
    let late =
        "error: ready: not ready after 1s: PROGRAM did not send READY=1 to $NOTIFY_SOCKET (sd_notify(3))\n";
    for (mode, extra, message) in [
        ("exit", &[][..], "error: report: the daemon exited before it was ready\n"),
        ("never", &["--ready-timeout", "1s"][..], late),
        // READY=1 from another process than PROGRAM does not count.
        ("child", &["--ready-timeout", "1s"][..], late),
    ] {
        let output = start_notify(&harness, extra, mode);
        assert_eq!((output.status.code(), text(&output.stderr).as_str()), (Some(70), message), "{mode}");
        assert_eq!(harness.processes(), [], "{mode}");
        assert!(!harness.path("supervisor.pid").exists(), "{mode}");
        assert!(!harness.path("program.pid").exists(), "{mode}");
    }
}

#[test]
fn log_files_are_reopened_on_hup_and_hup_is_forwarded() {
    let harness = Harness::new("respawn_reopen");
    let log = harness.path("out.log");
    let rotated = harness.path("out.log.1");
    let script =
        "trap 'echo after; echo err-after >&2' HUP; echo before; while :; do sleep 1 & wait $!; done";
    let extra = ["--stdout", log.to_str().unwrap(), "--stderr", log.to_str().unwrap()];
    let (supervisor, program) = start(&harness, &extra, &["sh", "-c", script]);
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    eventually("the first line in the log", || read(&log) == "before\n");
    std::fs::rename(&log, &rotated).unwrap();
    kill(supervisor.pid(), Signal::SIGHUP).unwrap();
    eventually("the program's next lines in a new file", || {
        let mut lines: Vec<String> = read(&log).lines().map(String::from).collect();
        lines.sort();
        lines == ["after", "err-after"]
    });
    assert_eq!(read(&rotated), "before\n", "the renamed file keeps the earlier line");
    assert!(program.alive(), "the program handled the forwarded HUP");
    assert_eq!(verb(&harness, &["--stop"]), 0);
    eventually("the program is gone", || !program.alive());
}

/// A `/proc/PID/status` signal set (`SigBlk`, `SigCgt`) as a number.
fn signal_set(proc: Proc, field: &str) -> u64 {
    u64::from_str_radix(&proc.status(field), 16).unwrap()
}

#[test]
fn the_supervisor_watches_signals_by_its_build_and_program_starts_unblocked() {
    let harness = Harness::new("respawn_signals");
    let (supervisor, program) = start(&harness, &[], &["sleep", "30"]);
    let bit = |signal: Signal| 1u64 << (signal as i32 - 1);
    let forwarded = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGUSR1, Signal::SIGUSR2];
    let forwarded = forwarded.into_iter().fold(0, |set, signal| set | bit(signal));
    let watched = forwarded | bit(Signal::SIGCHLD);
    let (blocked, caught) = (signal_set(supervisor, "SigBlk"), signal_set(supervisor, "SigCgt"));
    if cfg!(daemon_portable) {
        // signal-hook's handlers, writing to the self-pipe: nothing blocked.
        assert_eq!((blocked & watched, caught & watched), (0, watched), "{blocked:x} {caught:x}");
    } else {
        // Blocked for good and read from a signalfd: no SIGCHLD handler.
        assert_eq!(
            (blocked & watched, caught & bit(Signal::SIGCHLD)),
            (watched, 0),
            "{blocked:x} {caught:x}"
        );
    }
    assert_eq!(signal_set(program, "SigBlk"), 0, "PROGRAM's mask is emptied before the exec");
    // Still forwarded and seen ending, by either means.
    kill(program.pid(), Signal::SIGKILL).unwrap();
    let second = next_program(&harness, program);
    assert_eq!(verb(&harness, &["--stop"]), 0);
    eventually("the program is gone", || !second.alive());
    assert!(!supervisor.alive());
    assert_eq!(harness.processes(), []);
}

/// What `program.pid` holds, and its inode; `None` once it is gone.
fn child_pid_file(harness: &Harness) -> Option<(String, u64)> {
    use std::os::unix::fs::MetadataExt;
    let path = harness.path("program.pid");
    Some((std::fs::read_to_string(&path).ok()?, std::fs::metadata(&path).ok()?.ino()))
}

/// Another `daemon-run --respawn` of `sleep 30` with the same two files.
fn start_sleep_again(harness: &Harness) -> std::process::Output {
    let mut command = harness.daemon_run(["--respawn", "--pid-file"]);
    command.arg(harness.path("supervisor.pid")).arg("--child-pid-file").arg(harness.path("program.pid"));
    command.args(["--", "sleep", "30"]).output().expect("launch")
}

#[test]
fn an_old_supervisor_leaves_the_child_pid_file_of_a_new_instance_alone() {
    let harness = Harness::new("respawn_old_supervisor");
    let (old_supervisor, old_program) = start(&harness, &[], &["sleep", "30"]);
    // The old instance's pid file and lock file removed by hand: a second
    // start succeeds and rewrites the same child pid file.
    std::fs::remove_file(harness.path("supervisor.pid")).unwrap();
    std::fs::remove_file(common::lock_file(&harness.path("supervisor.pid"))).unwrap();
    let output = start_sleep_again(&harness);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let supervisor = wait_for_pid(&harness.path("supervisor.pid"));
    assert_ne!(supervisor, old_supervisor);
    let program = next_program(&harness, old_program);
    let before = child_pid_file(&harness).expect("program.pid");
    assert_eq!(before.0, format!("{}\n", program.0));
    kill(old_supervisor.pid(), Signal::SIGTERM).unwrap();
    assert_eq!(old_supervisor.reap(), Some(WaitStatus::Exited(old_supervisor.pid(), 0)));
    assert!(!old_program.alive());
    assert!(program.alive() && supervisor.alive());
    assert_eq!(child_pid_file(&harness), Some(before), "the old supervisor touched the new instance's file");
    assert_eq!(verb(&harness, &["--stop"]), 0);
    eventually("the program is gone", || !program.alive());
    assert!(!harness.path("program.pid").exists(), "the new instance removes its own file");
}

#[test]
fn a_start_refused_as_already_running_leaves_the_child_pid_file_alone() {
    let harness = Harness::new("respawn_duplicate");
    let (supervisor, program) = start(&harness, &[], &["sleep", "30"]);
    let before = child_pid_file(&harness).expect("program.pid");
    assert_eq!(before.0, format!("{}\n", program.0));
    let output = start_sleep_again(&harness);
    assert_eq!(output.status.code(), Some(75), "{}", text(&output.stderr));
    assert_eq!(
        child_pid_file(&harness),
        Some(before),
        "the refused start touched the running instance's file"
    );
    let mut running = harness.processes();
    running.sort_by_key(|proc| proc.0);
    let mut expected = vec![supervisor, program];
    expected.sort_by_key(|proc| proc.0);
    assert_eq!(running, expected);
    assert_eq!(verb(&harness, &["--stop"]), 0);
    eventually("the program is gone", || !program.alive());
}

#[test]
fn a_respawned_program_starts_with_sigpipe_at_its_default() {
    let harness = Harness::new("respawn_sigpipe");
    let (supervisor, program) = start(&harness, &[], &["sleep", "30"]);
    let sigpipe = 1u64 << (libc::SIGPIPE - 1);
    assert_eq!(signal_set(program, "SigIgn") & sigpipe, 0, "PROGRAM starts with SIGPIPE ignored");
    assert_ne!(signal_set(supervisor, "SigIgn") & sigpipe, 0, "the supervisor, a Rust program, ignores it");
    kill(program.pid(), Signal::SIGKILL).unwrap();
    let second = next_program(&harness, program);
    assert_eq!(signal_set(second, "SigIgn") & sigpipe, 0, "a restarted PROGRAM starts with SIGPIPE ignored");
    assert_eq!(verb(&harness, &["--stop"]), 0);
    eventually("the program is gone", || !second.alive());
}

#[test]
fn stop_removes_the_child_pid_file_a_killed_supervisor_left() {
    let harness = Harness::new("respawn_stop_child_pid_file");
    let (supervisor, program) = start(&harness, &[], &["sleep", "30"]);
    let child_pid_file = harness.path("program.pid");
    assert!(
        !supervisor.fds().values().any(|target| target == &child_pid_file),
        "the supervisor keeps a descriptor to the child pid file: {:?}",
        supervisor.fds()
    );
    kill(supervisor.pid(), Signal::SIGKILL).unwrap();
    eventually("the program dies with its supervisor", || !program.alive());
    program.reap();
    assert_eq!(std::fs::read_to_string(&child_pid_file).unwrap(), format!("{}\n", program.0));
    let output = harness
        .daemon_run(["--stop", "--pid-file"])
        .arg(harness.path("supervisor.pid"))
        .arg("--child-pid-file")
        .arg(&child_pid_file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(!harness.path("supervisor.pid").exists());
    assert!(!child_pid_file.exists(), "the child pid file naming a dead PROGRAM is left");
}

/// Issue 25 item 7: `--listen` with `--respawn`. The supervisor binds and
/// holds the socket; each PROGRAM it starts gets it on descriptor 3 with
/// `LISTEN_PID` naming that PROGRAM. A PROGRAM killed after serving is
/// restarted, and a connection made while no PROGRAM runs (the restart
/// delay) waits in the socket's backlog and is served by the next one.
/// Before, `--listen` and `--respawn` could not be combined (usage error).
#[test]
fn a_respawned_program_gets_the_same_sockets_and_a_connection_queued_meanwhile_is_served() {
    let harness = Harness::new("respawn_listen");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child_pid_file = harness.path("program.pid");
    let output = harness
        .daemon_run(["--respawn", "--respawn-delay", "1s", "--pid-file"])
        .arg(harness.path("supervisor.pid"))
        .arg("--child-pid-file")
        .arg(&child_pid_file)
        .args(["--listen", &format!("web=tcp:127.0.0.1:{port}"), "--"])
        .arg(common::hello_activated())
        .output()
        .expect("launch");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let supervisor = wait_for_pid(&harness.path("supervisor.pid"));
    let first = wait_for_pid(&child_pid_file);
    assert_eq!(first.ppid(), supervisor.0);
    let connect = || {
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(common::PATIENCE)).unwrap();
        stream
    };
    assert_eq!(common::read_all(connect()), common::hello(first, "web"));
    // One socket, held by both: the supervisor's descriptor 3 is the one
    // PROGRAM serves on.
    let socket = |proc: Proc| proc.fds().get(&3).map(|target| target.to_string_lossy().into_owned());
    assert!(socket(supervisor).is_some_and(|s| s.starts_with("socket:")), "{:?}", supervisor.fds());
    assert_eq!(socket(first), socket(supervisor));

    kill(first.pid(), Signal::SIGKILL).unwrap();
    eventually("the killed program is reaped", || {
        !first.alive() && std::fs::read_to_string(&child_pid_file).is_ok_and(|text| text.trim().is_empty())
    });
    // No PROGRAM runs for the next second: the connection is queued.
    let queued = connect();
    let second = next_program(&harness, first);
    assert_eq!(common::read_all(queued), common::hello(second, "web"), "the queued connection");
    assert_eq!(second.ppid(), supervisor.0);
    assert_eq!(socket(second), socket(supervisor));
    assert_eq!(common::read_all(connect()), common::hello(second, "web"));

    assert_eq!(verb(&harness, &["--stop"]), 0);
    assert!(!supervisor.alive() && !second.alive());
}
