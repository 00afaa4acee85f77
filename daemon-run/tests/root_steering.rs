//! What the program `daemon-run --user nobody` executes cannot make root do:
//! rewrite its root-owned pid file through the inherited lock (descriptor
//! 3), or have root open a log file through a link it planted.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{DaemonRunHarness, Harness, arg, eventually, root_or_skip, text, wait_for_pid};
use daemon_runtime::Stopped;

fn open_to_nobody(harness: &Harness) {
    std::fs::set_permissions(harness.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_program_run_as_nobody_cannot_rewrite_its_pid_file_through_descriptor_3() {
    if !root_or_skip(
        "a_program_run_as_nobody_cannot_rewrite_its_pid_file_through_descriptor_3",
        "switch to nobody",
    ) {
        return;
    }
    let harness = Harness::new("tamper-fd-3");
    open_to_nobody(&harness);
    let pid_file = harness.path("d.pid");
    let out = harness.path("attempts");
    std::fs::write(&out, "").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o666)).unwrap();
    // Truncate it by reopening the descriptor for writing, then write to it
    // as it is; each attempt's exit status is recorded, then it sleeps.
    let script = r#"(: > /proc/self/fd/3) 2>/dev/null; echo "reopen $?" >> "$1"
        (printf 1 >&3) 2>/dev/null; echo "write $?" >> "$1"
        exec sleep 60"#;
    let output = harness
        .daemon_run([
            "--user",
            "nobody",
            "--pid-file",
            pid_file.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let program = wait_for_pid(&pid_file);
    eventually("the attempts are made", || program.comm() == "sleep");
    let attempts = std::fs::read_to_string(&out).unwrap();
    assert_eq!(attempts.lines().count(), 2, "{attempts}");
    assert!(attempts.lines().all(|line| !line.ends_with(" 0")), "an attempt succeeded: {attempts}");
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", program.0));
    let flags = program.read("fdinfo/3");
    let flags = flags.lines().find_map(|line| line.strip_prefix("flags:")).expect("flags").trim();
    let flags = u32::from_str_radix(flags, 8).unwrap();
    assert_eq!(flags & libc::O_ACCMODE as u32, libc::O_RDONLY as u32, "fd 3 flags {flags:o}");
    let stopped = daemon_runtime::stop(
        &pid_file,
        daemon_runtime::StopOptions::new().timeout(common::PATIENCE).then_kill(false),
    )
    .unwrap();
    assert_eq!(stopped, Stopped::Exited { pid: program.0 as u32 });
    assert!(!pid_file.exists(), "stop removes the file nobody could not");
}

#[test]
fn a_log_file_link_planted_by_nobody_is_refused_with_73() {
    if !root_or_skip("a_log_file_link_planted_by_nobody_is_refused_with_73", "chown a link to nobody") {
        return;
    }
    let harness = Harness::new("log-link");
    open_to_nobody(&harness);
    let victim = harness.path("shadow");
    std::fs::write(&victim, "root:secret\n").unwrap();
    let logs = harness.path("logs");
    std::fs::create_dir(&logs).unwrap();
    std::os::unix::fs::chown(&logs, Some(65534), Some(65534)).unwrap();
    let log = logs.join("app.log");
    std::os::unix::fs::symlink(&victim, &log).unwrap();
    std::os::unix::fs::lchown(&log, Some(65534), Some(65534)).unwrap();
    let output = harness
        .daemon_run(["--user", "nobody", "--stdout", log.to_str().unwrap(), "--", "echo", "overwritten"])
        .output()
        .unwrap();
    assert_eq!(
        text(&output.stderr),
        format!("error: stdio: {}: is a symbolic link, refusing to follow it\n", log.display())
    );
    assert_eq!(output.status.code(), Some(73));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root:secret\n");
    assert!(Path::new(&victim).exists());
    assert_eq!(harness.processes(), []);
}

#[test]
fn a_child_pid_file_through_a_directory_link_planted_by_nobody_is_refused() {
    if !root_or_skip(
        "a_child_pid_file_through_a_directory_link_planted_by_nobody_is_refused",
        "chown a link to nobody",
    ) {
        return;
    }
    let harness = Harness::new("child-pid-link");
    open_to_nobody(&harness);
    // A file of root's that nobody may not touch, in a directory of root's.
    let private = harness.path("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let victim = private.join("c.pid");
    std::fs::write(&victim, "root:secret\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    // nobody's directory on the configured path, and in it a link of
    // nobody's that leads to root's directory.
    let evil = harness.path("evil");
    std::fs::create_dir(&evil).unwrap();
    std::os::unix::fs::chown(&evil, Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::symlink(&private, evil.join("run")).unwrap();
    std::os::unix::fs::lchown(evil.join("run"), Some(65534), Some(65534)).unwrap();
    let child_pid_file = evil.join("run/c.pid");
    let pid_file = harness.path("d.pid");
    let output = harness
        .daemon_run(["--respawn", "--pid-file", arg(&pid_file), "--child-pid-file", arg(&child_pid_file)])
        .args(["--", "sleep", "30"])
        .output()
        .unwrap();
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: pid file: {}: a parent directory is a symbolic link owned by uid 65534, refusing to follow it\n",
            child_pid_file.display()
        )
    );
    assert_eq!(output.status.code(), Some(73));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root:secret\n", "the target was written");
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "the target was chmodded");
    let names: Vec<_> =
        std::fs::read_dir(&private).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(names, ["c.pid"], "something was created in root's directory");
    assert!(!pid_file.exists());
    assert_eq!(harness.processes(), []);
}

/// A directory of root's that nobody may not enter, holding `s.sock`, a
/// `0600` file of root's: what the attacks below aim at.
fn root_only_victim(harness: &Harness) -> std::path::PathBuf {
    let private = harness.path("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(private.join("s.sock"), "root:secret\n").unwrap();
    std::fs::set_permissions(private.join("s.sock"), std::fs::Permissions::from_mode(0o600)).unwrap();
    private
}

/// A directory of nobody's on the configured path.
fn nobodys_directory(harness: &Harness) -> std::path::PathBuf {
    let evil = harness.path("evil");
    std::fs::create_dir(&evil).unwrap();
    std::os::unix::fs::chown(&evil, Some(65534), Some(65534)).unwrap();
    evil
}

/// Issue 26 A, before the start: nobody owns a directory above the
/// socket's and planted a link there to a directory of root's. Root used
/// to bind through it, creating a `0666` socket in root's directory; the
/// walk now refuses the link, as for the pid file.
#[test]
fn a_listen_socket_through_a_directory_link_planted_by_nobody_is_refused() {
    let test = "a_listen_socket_through_a_directory_link_planted_by_nobody_is_refused";
    if !root_or_skip(test, "chown a link to nobody") {
        return;
    }
    let harness = Harness::new("listen-link");
    open_to_nobody(&harness);
    let private = harness.path("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let evil = nobodys_directory(&harness);
    std::os::unix::fs::symlink(&private, evil.join("run")).unwrap();
    std::os::unix::fs::lchown(evil.join("run"), Some(65534), Some(65534)).unwrap();
    let socket = evil.join("run/s.sock");
    let pid_file = harness.path("d.pid");
    let listen = format!("unix:{}", socket.display());
    let output = harness
        .daemon_run(["--user", "nobody", "--pid-file", arg(&pid_file), "--listen", &listen])
        .args(["--", "sleep", "30"])
        .output()
        .unwrap();
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: listen: {listen}: a parent directory is a symbolic link owned by uid 65534, refusing to follow it\n"
        )
    );
    assert_eq!(output.status.code(), Some(73));
    let names: Vec<_> =
        std::fs::read_dir(&private).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert!(names.is_empty(), "something was created in root's directory: {names:?}");
    assert!(!pid_file.exists());
    assert_eq!(harness.processes(), []);
}

/// Issue 26 A, after the start: PROGRAM, run as nobody, renames the
/// socket's directory away (its parent is nobody's), puts a link to a
/// directory of root's in its place, and exits before `READY=1`. The failed
/// start's cleanup used to remove the socket by path, through the link: a
/// `0600` file of root's went. It now removes, through the directory it
/// bound in, only the socket it bound.
#[test]
fn a_failed_start_removes_its_socket_where_it_was_bound_not_through_a_swapped_parent() {
    let test = "a_failed_start_removes_its_socket_where_it_was_bound_not_through_a_swapped_parent";
    if !root_or_skip(test, "switch to nobody") {
        return;
    }
    let harness = Harness::new("listen-swap");
    open_to_nobody(&harness);
    let private = root_only_victim(&harness);
    let evil = nobodys_directory(&harness);
    std::fs::create_dir(evil.join("run")).unwrap();
    std::os::unix::fs::chown(evil.join("run"), Some(65534), Some(65534)).unwrap();
    let listen = format!("unix:{}", evil.join("run/s.sock").display());
    let pid_file = harness.path("d.pid");
    let script = r#"mv "$1/run" "$1/old" && ln -s "$2" "$1/run" && exit 3"#;
    let output = harness
        .daemon_run([
            "--user",
            "nobody",
            "--ready",
            "notify",
            "--pid-file",
            arg(&pid_file),
            "--listen",
            &listen,
        ])
        .args(["--", "sh", "-c", script, "sh", arg(&evil), arg(&private)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(70), "{}", text(&output.stderr));
    assert!(
        std::fs::read_link(evil.join("run")).is_ok(),
        "the program did not swap: {}",
        text(&output.stderr)
    );
    assert_eq!(std::fs::read_to_string(private.join("s.sock")).unwrap(), "root:secret\n", "root's file went");
    assert!(!evil.join("old/s.sock").exists(), "the socket bound was left");
    assert!(!pid_file.exists());
    assert_eq!(harness.processes(), []);
}
