//! `daemon-run` started as a user would, its programs inspected from outside.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use clap::CommandFactory;
use common::{
    DaemonRunHarness, Harness, Proc, arg, eventually, lock_file, on_pseudo_terminal, root_or_skip, text,
    wait_for_pid,
};
use daemon_runtime::{Status, Stopped};

/// Runs a prepared `daemon-run` to completion: (exit code, stderr).
fn run(mut command: impl std::borrow::BorrowMut<std::process::Command>) -> (i32, String) {
    let output = command.borrow_mut().output().expect("launch daemon-run");
    (output.status.code().expect("exit code"), text(&output.stderr))
}

#[test]
fn wraps_sleep_with_a_locked_pid_file_that_status_stop_and_a_second_start_honour() {
    let harness = Harness::new("wraps_sleep");
    let pid_file = harness.path("sleep.pid");
    let mut command = harness.daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()]);
    command.args(["--", "sleep", "30"]);
    // A controlling terminal for the launcher, so "detached" is a real claim.
    let _terminal = on_pseudo_terminal(&mut command);
    let status = command.status().expect("launch");
    assert_eq!(status.code(), Some(0));

    let sleep = wait_for_pid(&pid_file);
    assert_eq!(sleep.comm(), "sleep", "the pid file names the wrapped program");
    assert_eq!(sleep.fds().get(&3), Some(&lock_file(&pid_file)), "{:?}", sleep.fds());
    assert_ne!(sleep.session(), sleep.0, "double fork: not a session leader");
    assert_eq!(sleep.tty_nr(), 0, "no controlling terminal");
    for fd in 0..=2 {
        assert_eq!(sleep.fds().get(&fd).map(|p| p.as_path()), Some(Path::new("/dev/null")));
    }
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Running { pid: sleep.0 as u32 });

    let (code, stderr) =
        run(harness.daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()]).args(["--", "sleep", "30"]));
    assert_eq!(code, 75, "{stderr}");
    assert_eq!(
        stderr,
        format!("error: pid file: {}: already running (pid {})\n", pid_file.display(), sleep.0)
    );
    assert_eq!(harness.processes(), [sleep], "the refused start left nothing running");

    let stopped = daemon_runtime::stop(
        &pid_file,
        daemon_runtime::StopOptions::new().timeout(Duration::from_secs(10)).then_kill(false),
    )
    .unwrap();
    assert_eq!(stopped, Stopped::Exited { pid: sleep.0 as u32 });
    sleep.reap();
    // sleep cannot remove the file: `stop` does, once the lock is free.
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Absent);
    let (code, stderr) =
        run(harness.daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()]).args(["--", "sleep", "30"]));
    assert_eq!(code, 0, "{stderr}");
    let again = wait_for_pid(&pid_file);
    assert_ne!(again, sleep);
    assert_eq!(again.comm(), "sleep");
}

#[test]
fn a_missing_program_fails_with_127_before_anything_starts() {
    let harness = Harness::new("missing_program");
    let pid_file = harness.path("missing.pid");
    let (code, stderr) = run(harness.daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()]).args([
        "--",
        "daemon-run-no-such-program",
        "x",
    ]));
    assert_eq!(code, 127, "{stderr}");
    assert_eq!(stderr, "error: exec: daemon-run-no-such-program: No such file or directory (os error 2)\n");
    assert!(!pid_file.exists());
    assert_eq!(harness.processes(), []);

    // A path, and a name looked up inside an empty new root.
    let (code, stderr) = run(harness.daemon_run(["--", "/nonexistent/prog"]));
    assert_eq!(
        (code, stderr.as_str()),
        (127, "error: exec: /nonexistent/prog: No such file or directory (os error 2)\n")
    );
    let root = harness.path("root");
    std::fs::create_dir(&root).unwrap();
    let (code, stderr) =
        run(harness.daemon_run(["--chroot".as_ref(), root.as_os_str(), "--".as_ref(), "sleep".as_ref()]));
    assert_eq!(code, 127, "{stderr}");
    assert_eq!(harness.processes(), []);
}

#[test]
fn a_program_that_cannot_be_executed_fails_with_126() {
    let harness = Harness::new("not_executable");
    let pid_file = harness.path("text.pid");
    let file = harness.path("text");
    std::fs::write(&file, "not a program\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stderr) = run(harness.daemon_run([
        "--pid-file".as_ref(),
        pid_file.as_os_str(),
        "--".as_ref(),
        file.as_os_str(),
    ]));
    assert_eq!(code, 126, "{stderr}");
    assert_eq!(stderr, format!("error: exec: {}: Permission denied (os error 13)\n", file.display()));
    assert!(!pid_file.exists());
    assert_eq!(harness.processes(), []);
}

#[test]
fn program_is_found_in_path_and_relative_paths_before_chdir() {
    let harness = Harness::new("lookup");
    let script = harness.path("wrapper.sh");
    common::write_script(&script, "exec sleep 30");

    // A relative path, taken against the launching directory although the
    // daemon runs in `/`.
    let pid_file = harness.path("relative.pid");
    let (code, stderr) = run(harness
        .daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()])
        .args(["--", "./wrapper.sh"])
        .current_dir(harness.dir.path()));
    assert_eq!(code, 0, "{stderr}");
    let daemon = wait_for_pid(&pid_file);
    eventually("the script execs sleep", || daemon.comm() == "sleep");
    assert_eq!(daemon.cwd(), Path::new("/"));

    // A bare name, from the first PATH entry that has it.
    let pid_file = harness.path("path.pid");
    let (code, stderr) = run(harness
        .daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()])
        .args(["--", "wrapper.sh"])
        .env("PATH", format!("/nonexistent:{}:/usr/bin:/bin", harness.dir.path().display())));
    assert_eq!(code, 0, "{stderr}");
    wait_for_pid(&pid_file);
}

#[test]
fn umask_chdir_logs_and_core_limit_reach_the_program() {
    let harness = Harness::new("options");
    let pid_file = harness.path("options.pid");
    let out = harness.path("out.log");
    let err = harness.path("err.log");
    let mut command = harness.daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()]);
    command.args(["--umask", "027", "--no-core-dumps", "--ready-timeout", "30s"]);
    command.arg("--chdir").arg(harness.dir.path());
    command.arg("--stdout").arg(&out).arg("--stderr").arg(&err);
    command.args(["--", "sh", "-c", "echo out; echo err >&2; exec sleep 30"]);
    let (code, stderr) = run(&mut command);
    assert_eq!(code, 0, "{stderr}");

    let daemon = wait_for_pid(&pid_file);
    eventually("sh execs sleep", || daemon.comm() == "sleep");
    assert_eq!(daemon.status("Umask"), "0027");
    assert_eq!(daemon.cwd(), harness.dir.path());
    let core =
        daemon.read("limits").lines().find(|l| l.starts_with("Max core file size")).unwrap().to_string();
    assert_eq!(core.split_whitespace().skip(4).take(2).collect::<Vec<_>>(), ["0", "0"], "{core}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "out\n");
    assert_eq!(std::fs::read_to_string(&err).unwrap(), "err\n");
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o640);
    assert_eq!(daemon.fds().get(&1), Some(&out));
    assert_eq!(daemon.fds().get(&2), Some(&err));
}

#[test]
fn the_umask_is_022_by_default_and_an_explicit_0_is_kept() {
    let harness = Harness::new("umask-default");
    for (flags, expected) in [(&[][..], "0022"), (&["--umask", "0"][..], "0000")] {
        let pid_file = harness.path(&format!("umask{}.pid", flags.len()));
        let mut command = harness.daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()]);
        command.args(flags).args(["--", "sleep", "30"]);
        let (code, stderr) = run(&mut command);
        assert_eq!(code, 0, "{stderr}");
        let daemon = wait_for_pid(&pid_file);
        eventually("sleep runs", || daemon.comm() == "sleep");
        assert_eq!(daemon.status("Umask"), expected, "{flags:?}");
    }
}

#[test]
fn keep_fd_keeps_one_inherited_descriptor_and_closes_the_others() {
    let harness = Harness::new("keep_fd");
    let pid_file = harness.path("keep.pid");
    let kept = harness.path("kept");
    let closed = harness.path("closed");
    // The shell opens fds 7 and 8, then becomes daemon-run.
    let script = format!(
        "exec 7>'{}' 8>'{}'; exec '{}' --keep-fd 7 --pid-file '{}' -- sleep 30",
        kept.display(),
        closed.display(),
        common::DAEMON_RUN,
        pid_file.display()
    );
    let (code, stderr) = run(harness.command("sh").args(["-c", &script]));
    assert_eq!(code, 0, "{stderr}");
    let daemon = wait_for_pid(&pid_file);
    let fds = daemon.fds();
    assert_eq!(fds.get(&7), Some(&kept), "{fds:?}");
    assert_eq!(fds.get(&3), Some(&lock_file(&pid_file)), "{fds:?}");
    assert_eq!(fds.keys().copied().collect::<Vec<_>>(), [0, 1, 2, 3, 7], "{fds:?}");
}

#[test]
fn foreground_runs_the_steps_then_replaces_daemon_run_itself() {
    let harness = Harness::new("foreground");
    let pid_file = harness.path("fg.pid");
    let mut child = harness
        .daemon_run([
            "--foreground".as_ref(),
            "--umask".as_ref(),
            "077".as_ref(),
            "--pid-file".as_ref(),
            pid_file.as_os_str(),
        ])
        .args(["--", "sleep", "30"])
        .spawn()
        .expect("launch");
    let daemon = wait_for_pid(&pid_file);
    assert_eq!(daemon.0 as u32, child.id(), "no fork: the pid file names daemon-run's own pid");
    eventually("daemon-run execs sleep", || daemon.comm() == "sleep");
    assert_eq!(daemon.status("Umask"), "0077");
    assert_eq!(daemon.fds().get(&3), Some(&lock_file(&pid_file)));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn user_nobody_runs_the_program_as_uid_65534() {
    if !root_or_skip("user_nobody_runs_the_program_as_uid_65534", "switch users") {
        return;
    }
    let harness = Harness::new("user");
    let pid_file = harness.path("nobody.pid");
    let (code, stderr) = run(harness
        .daemon_run(["--user".as_ref(), "nobody".as_ref(), "--pid-file".as_ref(), pid_file.as_os_str()])
        .args(["--", "sleep", "30"]));
    assert_eq!(code, 0, "{stderr}");
    let daemon = wait_for_pid(&pid_file);
    assert_eq!(daemon.comm(), "sleep");
    assert_eq!(daemon.status("Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(daemon.fds().get(&3), Some(&lock_file(&pid_file)), "the lock survives the privilege drop");
}

#[test]
fn a_program_that_exits_at_once_still_counts_as_started() {
    // `--ready exec` proves the exec, not that the program stays up.
    let harness = Harness::new("exits_at_once");
    let pid_file = harness.path("short.pid");
    let (code, stderr) = run(harness
        .daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()])
        .args(["--", "sh", "-c", "exit 3"]));
    assert_eq!(code, 0, "{stderr}");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    // Re-parented to this subreaper: collect it.
    let status = Proc(pid).reap();
    assert_eq!(status, Some(nix::sys::wait::WaitStatus::Exited(Proc(pid).pid(), 3)));
    assert_eq!(daemon_runtime::status(&pid_file).unwrap(), Status::Stale);
}

/// `daemon-run --ready notify` around [`common::NOTIFIER`], or `None` without python3.
fn notify_run(
    harness: &Harness,
    test: &str,
    extra: &[&str],
    mode: &str,
    delay: &str,
) -> Option<(i32, String)> {
    if !common::python3_or_skip(test) {
        return None;
    }
    let pid_file = harness.path("notify.pid");
    let mut args: Vec<&std::ffi::OsStr> = vec!["--ready".as_ref(), "notify".as_ref(), "--pid-file".as_ref()];
    args.push(pid_file.as_os_str());
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    Some(run(harness.daemon_run(args).args(["--", "python3", "-c", common::NOTIFIER, mode, delay])))
}

#[test]
fn ready_notify_returns_once_the_program_sends_ready() {
    let harness = Harness::new("notify-ready");
    let started = std::time::Instant::now();
    let Some((code, stderr)) =
        notify_run(&harness, "ready_notify_returns_once_the_program_sends_ready", &[], "ready", "0.5")
    else {
        return;
    };
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert!(started.elapsed() >= std::time::Duration::from_millis(500), "returned before READY=1");
    let pid: i32 = std::fs::read_to_string(harness.path("notify.pid")).unwrap().trim().parse().unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        cmdline.split('\0').next().unwrap().ends_with("python3"),
        "the pid file names the program: {cmdline:?}"
    );
}

#[test]
fn ready_notify_refuses_a_program_that_released_the_lock_before_ready() {
    // Issue 27.2: a program that really lets its lock go (it closes
    // descriptor 3) before `READY=1` is stopped and the start fails with
    // 70, nothing left; a `#[daemon]` program no longer does (it keeps the
    // announced lock: tests/attribute.rs).
    let harness = Harness::new("notify-release");
    let test = "ready_notify_refuses_a_program_that_released_the_lock_before_ready";
    let Some((code, stderr)) = notify_run(&harness, test, &[], "release", "0") else {
        return;
    };
    let pid_file = harness.path("notify.pid");
    let prefix = format!("error: pid file: {}: the program (pid ", pid_file.display());
    assert!(stderr.starts_with(&prefix) && stderr.contains("released its lock"), "{stderr}");
    assert_eq!((code, stderr.lines().count()), (70, 1), "{stderr}");
    assert_eq!(harness.processes(), []);
    assert!(!pid_file.exists(), "the pid file no one held was left");
}

#[test]
fn ready_notify_ignores_ready_from_another_process() {
    let harness = Harness::new("notify-spoof");
    let Some((code, stderr)) = notify_run(
        &harness,
        "ready_notify_ignores_ready_from_another_process",
        &["--ready-timeout", "1s"],
        "child",
        "0",
    ) else {
        return;
    };
    assert_eq!(
        (code, stderr.as_str()),
        (
            70,
            "error: ready: not ready after 1s: PROGRAM did not send READY=1 to $NOTIFY_SOCKET (sd_notify(3))\n"
        )
    );
    assert_eq!(harness.processes(), []);
    assert!(!harness.path("notify.pid").exists());
}

#[test]
fn ready_notify_fails_when_the_program_exits_first() {
    let harness = Harness::new("notify-exit");
    let Some((code, stderr)) =
        notify_run(&harness, "ready_notify_fails_when_the_program_exits_first", &[], "exit", "0")
    else {
        return;
    };
    assert_eq!((code, stderr.as_str()), (70, "error: report: the daemon exited before it was ready\n"));
    assert_eq!(harness.processes(), []);
    assert!(!harness.path("notify.pid").exists());
}

#[test]
fn ready_notify_times_out_and_leaves_nothing() {
    let harness = Harness::new("notify-timeout");
    let Some((code, stderr)) = notify_run(
        &harness,
        "ready_notify_times_out_and_leaves_nothing",
        &["--ready-timeout", "300ms"],
        "never",
        "0",
    ) else {
        return;
    };
    assert_eq!(
        (code, stderr.as_str()),
        (
            70,
            "error: ready: not ready after 300ms: PROGRAM did not send READY=1 to $NOTIFY_SOCKET (sd_notify(3))\n"
        )
    );
    assert_eq!(harness.processes(), []);
    assert!(!harness.path("notify.pid").exists());
}

#[test]
fn usage_errors_exit_2() {
    let harness = Harness::new("usage");
    for args in [
        &["--umask", "8", "--", "sleep"][..],
        &["--ready-timeout", "30", "--", "sleep"],
        &[],
        &["--keep-fd", "2", "--", "sleep"],
    ] {
        let (code, stderr) = run(harness.daemon_run(args));
        assert_eq!(code, 2, "{args:?}: {stderr}");
    }
    assert_eq!(harness.processes(), []);
}

/// The `## daemon-run` section of the README, up to the next `##` heading.
fn readme_section() -> &'static str {
    let readme = include_str!("../../README.md");
    let start = readme.find("\n## daemon-run\n").expect("a `## daemon-run` section");
    let section = &readme[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |end| end + 3);
    &section[..end]
}

/// A row of the README's flag table.
#[derive(Debug)]
struct Row {
    /// `--pid-file`.
    flag: String,
    /// `PATH`, for a flag that takes a value.
    value: Option<String>,
    /// Other spellings: `-p`, `--pidfile`.
    aliases: Vec<String>,
    /// The last cell.
    default: String,
}

/// The README's flag table: rows whose first cell starts with `` `--``.
fn readme_flags() -> Vec<Row> {
    readme_section()
        .lines()
        .filter_map(|line| {
            // Flags in code spans: the coming-from table's cells have none.
            let cells: Vec<&str> = line.strip_prefix("| `")?.split(" | ").collect();
            let spellings: Vec<&str> = cells[0].split(", ").map(|s| s.trim_matches('`')).collect();
            let mut words = spellings[0].strip_prefix("--")?.split(' ');
            Some(Row {
                flag: format!("--{}", words.next()?),
                value: words.next().map(str::to_string),
                aliases: spellings[1..].iter().map(|s| s.to_string()).collect(),
                default: cells.last()?.trim_end_matches(" |").trim_end_matches('|').to_string(),
            })
        })
        .collect()
}

/// What `flag` needs around it to parse: a pid file for the verbs, a
/// PROGRAM for a start, `--clear-env` for `--keep-env`.
fn context(flag: &str) -> &'static [&'static str] {
    match flag {
        "--stop" | "--status" | "--signal" | "--upgrade" => &["--pid-file", "x"],
        "--restart" | "--retry" | "--make-pidfile" => &["--pid-file", "x", "--", "true"],
        "--keep-env" => &["--clear-env", "--", "true"],
        "--listen-mode" => &["--listen", "unix:/x", "--", "true"],
        "--child-pid-file" | "--respawn-delay" | "--respawn-attempts" | "--respawn-window" => {
            &["--respawn", "--", "true"]
        }
        _ => &["--", "true"],
    }
}

#[test]
fn the_readme_holds_the_coming_from_table_of_the_help_text() {
    let table = daemon_run::coming_from::markdown();
    assert!(readme_section().contains(&table), "README.md's daemon-run section: paste\n{table}");
    let help = daemon_run::Cli::command().render_help().to_string();
    assert!(help.contains(&daemon_run::coming_from::help()), "{help}");
}

#[test]
fn actions_after_program_are_named_when_the_start_fails() {
    let harness = Harness::new("misplaced_actions");
    let pid_file = harness.path("sleep.pid");
    let start = |extra: &[&str]| {
        run(harness
            .daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()])
            .args(["sleep", "30"])
            .args(extra))
    };
    assert_eq!(start(&[]), (0, String::new()));
    let sleep = wait_for_pid(&pid_file);
    // `--restart` after PROGRAM is PROGRAM's: this is a second start, refused.
    let (code, stderr) = start(&["--restart", "--signal=HUP"]);
    assert_eq!(code, 75, "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: pid file: {}: already running (pid {})\n\
             note: --restart after PROGRAM was passed to it; put it before PROGRAM\n\
             note: --signal after PROGRAM was passed to it; put it before PROGRAM\n",
            pid_file.display(),
            sleep.0
        )
    );
    // Not an action: no note.
    let (code, stderr) = start(&["--restarted"]);
    assert_eq!((code, stderr.lines().count()), (75, 1), "{stderr}");
    assert_eq!(harness.processes(), [sleep], "the refused starts left nothing running, and stopped nothing");
}

#[test]
fn oknodo_makes_nothing_to_do_a_success() {
    let harness = Harness::new("oknodo");
    let pid_file = harness.path("sleep.pid");
    let daemon_run =
        |args: &[&str]| run(harness.daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()]).args(args));
    // Nothing running: --signal has nothing to do.
    assert_eq!(daemon_run(&["--signal", "HUP"]).0, 3);
    let (code, stderr) = daemon_run(&["--oknodo", "--signal", "HUP"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr,
        format!("note: signal: {}: not running: nothing to do (--oknodo)\n", pid_file.display())
    );
    // --background and --make-pidfile: what daemon-run does anyway.
    assert_eq!(
        daemon_run(&["--background", "--make-pidfile", "--oknodo", "sleep", "30"]),
        (0, String::new())
    );
    let sleep = wait_for_pid(&pid_file);
    // Running: a start has nothing to do.
    let (code, stderr) = daemon_run(&["--oknodo", "sleep", "30"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "note: pid file: {}: already running (pid {}): nothing to do (--oknodo)\n",
            pid_file.display(),
            sleep.0
        )
    );
    assert_eq!(harness.processes(), [sleep]);
    // A stop that repeats its KILL forever ends it.
    assert_eq!(daemon_run(&["--stop", "--retry", "CONT/100ms/forever/KILL/1s"]), (0, String::new()));
    sleep.reap();
    assert!(!pid_file.exists());
}

#[test]
fn missing_directories_say_how_to_create_them() {
    let harness = Harness::new("missing_directory");
    let missing = harness.path("run/echod");
    let pid_file = missing.join("echod.pid");
    let (code, stderr) =
        run(harness.daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()]).args(["sleep", "30"]));
    assert_eq!(code, 73, "{stderr}");
    let dir = missing.display();
    assert_eq!(
        stderr,
        format!("error: pid file: directory {dir} does not exist (create it: `install -d {dir}`)\n")
    );
    let log = missing.join("echod.log");
    let (code, stderr) =
        run(harness.daemon_run(["--output".as_ref(), log.as_os_str(), "sleep".as_ref(), "30".as_ref()]));
    assert_eq!(code, 73, "{stderr}");
    assert_eq!(
        stderr,
        format!("error: stdio: directory {dir} does not exist (create it: `install -d {dir}`)\n")
    );
    assert_eq!(harness.processes(), []);
    if !root_or_skip("missing_directories_say_how_to_create_them", "to name the user of --user") {
        return;
    }
    let (code, stderr) = run(harness
        .daemon_run(["--pid-file".as_ref(), pid_file.as_os_str(), "-u".as_ref(), "nobody:nogroup".as_ref()])
        .args(["sleep", "30"]));
    assert_eq!(code, 73, "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: pid file: directory {dir} does not exist (create it owned by nobody: `install -d -o nobody {dir}`)\n"
        )
    );
    assert_eq!(harness.processes(), []);
}

#[test]
fn every_flag_in_the_readme_table_is_accepted_by_the_parser_and_vice_versa() {
    let rows = readme_flags();
    assert!(rows.len() >= 20, "flag table not found: {rows:?}");
    let command = daemon_run::Cli::command();
    for Row { flag, value, aliases, default } in &rows {
        let sample = match flag.as_str() {
            "--umask" | "--listen-mode" => "027",
            "--ready-timeout" => "500ms",
            "--ready" => "exec",
            "--keep-fd" => "3",
            "--listen" => "tcp:127.0.0.1:0",
            "--signal" => "HUP",
            "--retry" => "TERM/5/KILL/5",
            "--respawn-delay" | "--respawn-window" => "1s",
            "--respawn-attempts" => "3",
            _ => "x",
        };
        for spelling in std::iter::once(flag).chain(aliases) {
            let mut argv = vec!["daemon-run", spelling.as_str()];
            if value.is_some() {
                argv.push(sample);
            }
            argv.extend(context(flag));
            if let Err(error) = command.clone().try_get_matches_from(&argv) {
                panic!("README flag {spelling} {value:?} is refused: {error}");
            }
        }
        // A value-taking flag given without its value must be refused.
        if value.is_some() {
            assert!(command.clone().try_get_matches_from(["daemon-run", flag.as_str()]).is_err(), "{flag}");
        }
        let arg = command.get_arguments().find(|a| a.get_long() == flag.strip_prefix("--")).unwrap();
        // The value's name is the parser's.
        let names: Vec<&str> = arg.get_value_names().unwrap_or_default().iter().map(|n| n.as_str()).collect();
        match value {
            Some(value) => assert_eq!(names, [value.as_str()], "{flag}"),
            None => {
                assert!(!arg.get_action().takes_values(), "{flag} takes a value the README does not name")
            }
        }
        // Every short flag and alias the parser knows is in the row.
        let mut known: Vec<String> = arg.get_short().map(|c| format!("-{c}")).into_iter().collect();
        known.extend(arg.get_visible_aliases().unwrap_or_default().iter().map(|a| format!("--{a}")));
        assert_eq!(&known, aliases, "{flag}: spellings of the parser and the README");
        // The parser's default, when it has one, is the README's.
        for parser_default in arg.get_default_values() {
            let parser_default = parser_default.to_str().unwrap();
            assert!(
                default.contains(&format!("`{parser_default}`")),
                "{flag}: README says {default}, parser {parser_default}"
            );
        }
    }
    let retry = rows.iter().find(|row| row.flag == "--retry").expect("--retry row");
    assert!(retry.default.contains(&format!("`{}`", daemon_run::DEFAULT_SCHEDULE)), "{retry:?}");
    let documented: Vec<&str> = rows.iter().map(|row| row.flag.as_str()).collect();
    for arg in command.get_arguments() {
        if let Some(long) = arg.get_long().filter(|long| !["help", "version"].contains(long)) {
            assert!(
                documented.contains(&format!("--{long}").as_str()),
                "--{long} is missing from the README table"
            );
        }
    }
}

#[test]
fn durations_and_umasks_parse_as_documented() {
    use daemon_run::{parse_duration, parse_umask};
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    for bad in ["", "0s", "30", "1.5s", "-1s", "2h", "s"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse_umask("027"), Ok(0o027));
    assert_eq!(parse_umask("0"), Ok(0));
    assert_eq!(parse_umask("777"), Ok(0o777));
    for bad in ["8", "1000", "", "-1", "+7", "abc"] {
        assert!(parse_umask(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn lookup_inside_a_new_root_names_the_path_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    let program = dir.path().join("bin/prog");
    std::fs::write(&program, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let found = daemon_run::find_program("prog".as_ref(), Some("/usr/bin:/bin".as_ref()), Some(dir.path()));
    assert_eq!(found.unwrap(), Path::new("/bin/prog"));
    let found = daemon_run::find_program("bin/prog".as_ref(), None, Some(dir.path()));
    assert_eq!(found.unwrap(), Path::new("/bin/prog"));
    let missing =
        daemon_run::find_program("sh".as_ref(), Some("/bin".as_ref()), Some(dir.path())).unwrap_err();
    assert_eq!(missing.exit_code(), 127);
}

/// Whether SIGPIPE is ignored by `program` (`SigIgn` of `/proc/PID/status`).
fn ignores_sigpipe(program: Proc) -> bool {
    let ignored = u64::from_str_radix(&program.status("SigIgn"), 16).unwrap();
    ignored & 1 << (libc::SIGPIPE - 1) != 0
}

#[test]
fn program_starts_with_sigpipe_at_its_default_detached_and_in_the_foreground() {
    let harness = Harness::new("sigpipe");
    let pid_file = harness.path("detached.pid");
    let (code, stderr) = run(harness.daemon_run(["--pid-file", arg(&pid_file), "--", "sleep", "30"]));
    assert_eq!(code, 0, "{stderr}");
    let detached = wait_for_pid(&pid_file);
    assert!(!ignores_sigpipe(detached), "SigIgn {}", detached.status("SigIgn"));

    let pid_file = harness.path("foreground.pid");
    let mut foreground =
        harness.daemon_run(["-f", "--pid-file", arg(&pid_file), "--", "sleep", "30"]).spawn().unwrap();
    let program = wait_for_pid(&pid_file);
    assert_eq!(program.0 as u32, foreground.id(), "executed in place of daemon-run");
    assert!(!ignores_sigpipe(program), "SigIgn {}", program.status("SigIgn"));
    foreground.kill().unwrap();
    foreground.wait().unwrap();

    // A program that sends itself SIGPIPE dies of it.
    let status = harness.daemon_run(["-f", "--", "sh", "-c", "kill -PIPE $$"]).status().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?}");
    let output =
        harness.daemon_run(["-f", "--", "sh", "-c", "sh -c 'kill -PIPE $$'; echo $?"]).output().unwrap();
    assert_eq!(text(&output.stdout), "141\n", "a shell sees its child die of SIGPIPE");
}
