//! Issue 18's attacks on `daemon-run` (items 7 to 10), staged as a user
//! would meet them, proving from outside that root is not steered.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{DaemonRunHarness, Harness, Proc, root_or_skip, text, wait_for_pid};

fn run(command: &mut std::process::Command) -> (i32, String) {
    let output = command.output().expect("launch daemon-run");
    (output.status.code().expect("exit code"), text(&output.stderr))
}

/// `/proc/PID/environ` as a map.
fn environ(daemon: Proc) -> BTreeMap<String, String> {
    let raw = std::fs::read(format!("/proc/{}/environ", daemon.0)).expect("environ");
    text(&raw)
        .split('\0')
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (name, value) = entry.split_once('=').expect("NAME=value");
            (name.to_string(), value.to_string())
        })
        .collect()
}

/// [`environ`], without the announcement of the pid file's lock, which
/// PROGRAM gets whatever its environment (issue 27.2): checked to name
/// descriptor 3 and PROGRAM itself.
fn environ_besides_the_lock(daemon: Proc) -> BTreeMap<String, String> {
    let mut env = environ(daemon);
    assert_eq!(env.remove("DAEMON_LOCK_FD").as_deref(), Some("3"), "{env:?}");
    assert_eq!(env.remove("DAEMON_LOCK_PID"), Some(daemon.0.to_string()), "{env:?}");
    env
}

/// PROGRAM's arguments after `argv[0]`, from `/proc/PID/cmdline`.
fn arguments(daemon: Proc) -> Vec<String> {
    daemon.read("cmdline").split('\0').skip(1).filter(|a| !a.is_empty()).map(str::to_string).collect()
}

#[test]
fn flags_after_program_are_its_arguments_and_never_opened() {
    let harness = Harness::new("flags_after_program");
    let pid_file = harness.path("args.pid");
    let victim = harness.path("victim");
    let victim_err = harness.path("victim-err");
    // `sh -c SCRIPT sh ARGS...`: sh stays (it waits for sleep) with ARGS
    // in its command line.
    let script = "sleep 30; :";
    let (code, stderr) = run(harness
        .daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()])
        .args(["sh", "-c", script, "sh", "--stdout"])
        .arg(&victim)
        .arg("-e")
        .arg(&victim_err)
        .args(["--foreground", "hi"]));
    assert_eq!(code, 0, "{stderr}");
    let daemon = wait_for_pid(&pid_file);
    let expected =
        ["-c", script, "sh", "--stdout", victim.to_str().unwrap(), "-e", victim_err.to_str().unwrap()];
    assert_eq!(arguments(daemon), [&expected[..], &["--foreground", "hi"]].concat());
    assert!(!victim.exists(), "--stdout after PROGRAM was taken as daemon-run's own");
    assert!(!victim_err.exists(), "-e after PROGRAM was taken as daemon-run's own");
    let own_session = Proc(std::process::id() as i32).session();
    assert_ne!(daemon.session(), own_session, "--foreground after PROGRAM was obeyed");
    assert_eq!(daemon.fds().get(&1).map(|p| p.as_path()), Some(Path::new("/dev/null")));
}

#[test]
fn path_lookup_skips_dot_and_empty_entries() {
    let harness = Harness::new("path_dot");
    let planted = harness.path("planted");
    std::fs::create_dir(&planted).unwrap();
    let ran = harness.path("planted-ran");
    // A program only the working directory has, and one that shadows sleep.
    common::write_script(
        &planted.join("daemon-run-only-here"),
        &format!("touch '{}'; exec sleep 30", ran.display()),
    );
    common::write_script(&planted.join("sleep"), &format!("touch '{}'; exec /bin/sleep 30", ran.display()));

    for path in [".:/usr/bin:/bin", ":/usr/bin:/bin", "/usr/bin::/bin:.", "planted:/usr/bin:/bin"] {
        let pid_file = harness.path("only.pid");
        let (code, stderr) = run(harness
            .daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()])
            .args(["--", "daemon-run-only-here"])
            .env("PATH", path)
            .current_dir(if path.starts_with("planted") { harness.dir.path() } else { &planted }));
        assert_eq!(code, 127, "PATH={path}: {stderr}");
        assert!(!pid_file.exists());

        let pid_file = harness.path("sleep.pid");
        let (code, stderr) = run(harness
            .daemon_run(["--pid-file".as_ref(), pid_file.as_os_str()])
            .args(["--", "sleep", "30"])
            .env("PATH", path)
            .current_dir(if path.starts_with("planted") { harness.dir.path() } else { &planted }));
        assert_eq!(code, 0, "PATH={path}: {stderr}");
        let daemon = wait_for_pid(&pid_file);
        let exe = std::fs::read_link(format!("/proc/{}/exe", daemon.0)).unwrap();
        assert!(exe.starts_with("/usr/bin") || exe.starts_with("/bin"), "PATH={path}: ran {exe:?}");
        daemon.terminate();
    }
    assert!(!ran.exists(), "a program planted in the working directory ran");
}

#[test]
fn a_ready_timeout_too_long_to_represent_is_a_usage_error_before_anything_starts() {
    let harness = Harness::new("huge_timeout");
    let pid_file = harness.path("huge.pid");
    for timeout in
        ["18446744073709551615s", "18446744073709551615m", "99999999999999999999999ms", "86401s", "1441m"]
    {
        let (code, stderr) = run(harness
            .daemon_run([
                "--pid-file".as_ref(),
                pid_file.as_os_str(),
                "--ready-timeout".as_ref(),
                timeout.as_ref(),
            ])
            .args(["--", "sleep", "30"]));
        assert_eq!(code, 2, "{timeout}: {stderr}");
        assert!(stderr.contains("at most 1 day"), "{timeout}: {stderr}");
        assert!(!pid_file.exists(), "{timeout}");
        assert_eq!(harness.processes(), [], "{timeout}");
    }
    // A day is accepted.
    let (code, stderr) = run(harness
        .daemon_run([
            "--pid-file".as_ref(),
            pid_file.as_os_str(),
            "--ready-timeout".as_ref(),
            "1440m".as_ref(),
        ])
        .args(["--", "sleep", "30"]));
    assert_eq!(code, 0, "{stderr}");
    wait_for_pid(&pid_file);
}

#[test]
fn user_gets_its_own_home_user_logname_and_shell() {
    if !root_or_skip("user_gets_its_own_home_user_logname_and_shell", "switch users") {
        return;
    }
    let harness = Harness::new("user_env");
    let pid_file = harness.path("env.pid");
    let (code, stderr) = run(harness
        .daemon_run(["--user", "nobody", "--pid-file"])
        .arg(&pid_file)
        .args(["--", "sleep", "30"])
        .env("HOME", "/root")
        .env("USER", "root")
        .env("LOGNAME", "root")
        .env("SHELL", "/bin/bash")
        .env("ROOT_SECRET", "kept without --clear-env"));
    assert_eq!(code, 0, "{stderr}");
    let env = environ(wait_for_pid(&pid_file));
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    assert_eq!(env.get("HOME").map(String::as_str), nobody.dir.to_str());
    assert_eq!(env.get("USER").map(String::as_str), Some("nobody"));
    assert_eq!(env.get("LOGNAME").map(String::as_str), Some("nobody"));
    assert_eq!(env.get("SHELL").map(String::as_str), nobody.shell.to_str());
    assert_eq!(env.get("ROOT_SECRET").map(String::as_str), Some("kept without --clear-env"));

    // --clear-env: the kept names, the account's variables and a safe PATH.
    let pid_file = harness.path("clear.pid");
    let (code, stderr) = run(harness
        .daemon_run([
            "--user",
            "nobody",
            "--clear-env",
            "--keep-env",
            "DAEMON_TEST_MARKER",
            "--keep-env",
            "LANG",
        ])
        .args(["--keep-env", "UNSET_VARIABLE", "--pid-file"])
        .arg(&pid_file)
        .args(["--", "sleep", "30"])
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8")
        .env("PATH", ".:/root/bin:/usr/bin:/bin")
        .env_remove("UNSET_VARIABLE")
        .env("ROOT_SECRET", "must not reach the program"));
    assert_eq!(code, 0, "{stderr}");
    let env = environ_besides_the_lock(wait_for_pid(&pid_file));
    let names: Vec<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(names, ["DAEMON_TEST_MARKER", "HOME", "LANG", "LOGNAME", "PATH", "SHELL", "USER"], "{env:?}");
    assert_eq!(env["PATH"], daemon_run::SAFE_PATH);
    assert_eq!(env["LANG"], "C.UTF-8");
    assert_eq!(env["USER"], "nobody");
}

#[test]
fn clear_env_keeps_only_the_named_variables_and_a_safe_path() {
    let harness = Harness::new("clear_env");
    let pid_file = harness.path("clear.pid");
    let (code, stderr) = run(harness
        .daemon_run(["--clear-env", "--keep-env", "DAEMON_TEST_MARKER", "--pid-file"])
        .arg(&pid_file)
        .args(["--", "sleep", "30"])
        .env("SECRET", "x"));
    assert_eq!(code, 0, "{stderr}");
    let env = environ_besides_the_lock(wait_for_pid(&pid_file));
    assert_eq!(env.keys().map(String::as_str).collect::<Vec<_>>(), ["DAEMON_TEST_MARKER", "PATH"], "{env:?}");
    assert_eq!(env["PATH"], daemon_run::SAFE_PATH);

    // --keep-env PATH keeps the caller's PATH; --keep-env needs --clear-env.
    let pid_file = harness.path("path.pid");
    let (code, stderr) = run(harness
        .daemon_run(["--clear-env", "--keep-env", "DAEMON_TEST_MARKER", "--keep-env", "PATH", "--pid-file"])
        .arg(&pid_file)
        .args(["--", "sleep", "30"])
        .env("PATH", "/usr/bin:/bin"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(environ(wait_for_pid(&pid_file))["PATH"], "/usr/bin:/bin");
    let (code, _) = run(&mut harness.daemon_run(["--keep-env", "PATH", "--", "sleep", "30"]));
    assert_eq!(code, 2);
    let (code, _) = run(&mut harness.daemon_run(["--clear-env", "--keep-env", "A=B", "--", "sleep", "30"]));
    assert_eq!(code, 2);
}
