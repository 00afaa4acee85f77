//! The pid file: contents, mode, lock, refusals, takeover and removal, each
//! checked on disk and in `/proc` after real launches.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::{Harness, PROBE, ProbeHarness, Proc, eventually, root_or_skip, text, wait_for_pid};
use nix::fcntl::{Flock, FlockArg};
use nix::sys::wait::WaitStatus;

/// Launches the probe with a pid file at `pid_file` (plus `args`).
fn launch(harness: &Harness, pid_file: &Path, args: &[&str]) -> Output {
    harness.launch_probe(&[&["--pid-file", common::arg(pid_file)], args].concat())
}

fn started(harness: &Harness, pid_file: &Path, args: &[&str]) -> Proc {
    harness.start_probe(&[&["--pid-file", common::arg(pid_file)], args].concat())
}

/// Whether the lock file of the pid file `path` is locked.
fn is_locked(path: &Path) -> bool {
    let file = std::fs::File::open(common::lock_file(path)).expect("open the lock file");
    Flock::lock(file, FlockArg::LockExclusiveNonblock).is_err()
}

#[test]
fn pid_file_holds_the_pid_with_mode_0644_under_any_umask_and_stays_locked() {
    let harness = Harness::new("pid-file-contents");
    let pid_file = harness.path("d.pid");
    let daemon = started(&harness, &pid_file, &["--umask", "077"]);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", daemon.0));
    assert_eq!(std::fs::metadata(&pid_file).unwrap().permissions().mode() & 0o7777, 0o644);
    let lock = common::lock_file(&pid_file);
    assert_eq!(std::fs::metadata(lock).unwrap().permissions().mode() & 0o7777, 0o600);
    assert!(is_locked(&pid_file), "the daemon must hold the lock");
}

#[test]
fn a_second_start_is_refused_naming_the_running_pid() {
    let harness = Harness::new("already-running");
    let pid_file = harness.path("d.pid");
    let daemon = started(&harness, &pid_file, &[]);
    let output = launch(&harness, &pid_file, &[]);
    assert_eq!(
        text(&output.stderr),
        format!("error: pid file: {}: already running (pid {})\n", pid_file.display(), daemon.0)
    );
    assert_eq!(output.status.code(), Some(75));
    assert_eq!(harness.processes(), [daemon], "only the first daemon may run");
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", daemon.0));
}

#[test]
fn two_concurrent_starts_give_exactly_one_daemon() {
    let harness = Harness::new("concurrent");
    let pid_file = harness.path("d.pid");
    let launchers: Vec<_> = (0..2)
        .map(|_| {
            let mut command = harness.command(PROBE);
            command.arg("--pid-file").arg(&pid_file).stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    let mut outputs: Vec<_> = launchers.into_iter().map(|l| l.wait_with_output().unwrap()).collect();
    outputs.sort_by_key(|output| output.status.code());
    assert_eq!(outputs[0].status.code(), Some(0), "{outputs:?}");
    assert_eq!(outputs[1].status.code(), Some(75), "{outputs:?}");
    let running = harness.processes();
    assert_eq!(running.len(), 1, "{running:?}");
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", running[0].0));
    assert_eq!(
        text(&outputs[1].stderr),
        format!("error: pid file: {}: already running (pid {})\n", pid_file.display(), running[0].0)
    );
}

#[test]
fn a_stale_unlocked_file_is_taken_over_without_trusting_its_contents() {
    let harness = Harness::new("stale");
    let pid_file = harness.path("d.pid");
    // Names our own, live pid: a start that trusted it would refuse or signal us.
    std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
    let daemon = started(&harness, &pid_file, &[]);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", daemon.0));
}

#[test]
fn the_pid_file_is_removed_when_main_returns() {
    let harness = Harness::new("removed");
    let pid_file = harness.path("d.pid");
    let daemon = started(&harness, &pid_file, &[]);
    assert_eq!(daemon.terminate(), Some(WaitStatus::Exited(daemon.pid(), 0)));
    assert!(!pid_file.exists(), "pid file left behind");
}

#[test]
fn the_lock_is_not_inherited_by_the_daemons_children() {
    let harness = Harness::new("children");
    let pid_file = harness.path("d.pid");
    let daemon = started(&harness, &pid_file, &["--body-spawn-child"]);
    let mut child = None;
    eventually("the daemon's child runs", || {
        child = harness.processes().into_iter().find(|p| p.ppid() == daemon.0);
        child.is_some()
    });
    let child = child.unwrap();
    assert!(!child.fds().values().any(|target| target == &pid_file), "{:?}", child.fds());
    nix::sys::signal::kill(daemon.pid(), nix::sys::signal::Signal::SIGKILL).unwrap();
    daemon.reap();
    assert!(child.alive());
    let second = started(&harness, &pid_file, &[]);
    assert_ne!(second, daemon, "a child of the dead daemon kept its lock");
}

#[test]
fn a_relative_pid_file_is_taken_against_the_launching_directory() {
    let harness = Harness::new("relative");
    let output = harness.run(
        harness
            .command(PROBE)
            .args(["--pid-file", "rel.pid"])
            .current_dir(harness.dir.path())
            .env("PROBE_OUT", harness.path("probe.out")),
    );
    assert!(output.status.success(), "{output:?}");
    let daemon = wait_for_pid(&harness.path("probe.out"));
    assert_eq!(daemon.cwd(), Path::new("/"));
    assert_eq!(std::fs::read_to_string(harness.path("rel.pid")).unwrap(), format!("{}\n", daemon.0));
}

#[test]
fn a_symbolic_link_is_refused_and_its_target_untouched() {
    let harness = Harness::new("symlink");
    let target = harness.path("precious");
    std::fs::write(&target, "precious data\n").unwrap();
    let pid_file = harness.path("d.pid");
    std::os::unix::fs::symlink(&target, &pid_file).unwrap();
    let output = launch(&harness, &pid_file, &[]);
    let message =
        format!("error: pid file: {}: is a symbolic link, refusing to follow it", pid_file.display());
    harness.assert_failed(&output, 73, &message);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious data\n");
}

#[test]
fn a_fifo_is_refused_without_hanging() {
    let harness = Harness::new("fifo");
    let pid_file = harness.path("d.pid");
    nix::unistd::mkfifo(&pid_file, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let output = launch(&harness, &pid_file, &[]);
    harness.assert_failed(
        &output,
        73,
        &format!("error: pid file: {}: not a regular file", pid_file.display()),
    );
}

#[test]
fn a_hard_linked_file_is_refused() {
    let harness = Harness::new("hardlink");
    let other = harness.path("elsewhere");
    std::fs::write(&other, "keep\n").unwrap();
    let pid_file = harness.path("d.pid");
    std::fs::hard_link(&other, &pid_file).unwrap();
    let output = launch(&harness, &pid_file, &[]);
    let message = format!("error: pid file: {}: has 2 hard links, refusing to write it", pid_file.display());
    harness.assert_failed(&output, 73, &message);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "keep\n");
}

#[test]
fn a_file_owned_by_another_user_is_refused() {
    if !root_or_skip("a_file_owned_by_another_user_is_refused", "give a file to nobody") {
        return;
    }
    let harness = Harness::new("foreign");
    let pid_file = harness.path("d.pid");
    std::fs::write(&pid_file, "theirs\n").unwrap();
    std::os::unix::fs::chown(&pid_file, Some(65534), Some(65534)).unwrap();
    let output = launch(&harness, &pid_file, &[]);
    let message = format!(
        "error: pid file: {}: owned by uid 65534, not by the user starting the daemon, refusing to write it",
        pid_file.display()
    );
    harness.assert_failed(&output, 73, &message);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), "theirs\n");
}

#[test]
fn a_directory_at_the_path_is_refused() {
    let harness = Harness::new("directory");
    let pid_file = harness.path("d.pid");
    std::fs::create_dir(&pid_file).unwrap();
    let output = launch(&harness, &pid_file, &[]);
    let message = format!("error: pid file: {}: not a regular file", pid_file.display());
    harness.assert_failed(&output, 73, &message);
}

#[test]
fn a_missing_directory_fails_the_start_and_says_how_to_create_it() {
    let harness = Harness::new("missing-dir");
    let pid_file = harness.path("missing/d.pid");
    let output = launch(&harness, &pid_file, &[]);
    let dir = harness.path("missing");
    let message = format!(
        "error: pid file: directory {} does not exist (create it: `install -d {}`)",
        dir.display(),
        dir.display()
    );
    harness.assert_failed(&output, 73, &message);
}

#[test]
fn an_unwritable_directory_fails_the_start_and_leaves_no_file() {
    if !root_or_skip(
        "an_unwritable_directory_fails_the_start_and_leaves_no_file",
        "run the launcher as nobody",
    ) {
        return;
    }
    let harness = Harness::new("unwritable");
    std::fs::set_permissions(harness.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pid_file = harness.path("d.pid");
    // A copy `nobody` can execute, whatever directory the checkout is in.
    let (_dir, probe) = common::executable_by_nobody(std::path::Path::new(PROBE));
    let mut command = harness.command(&probe);
    command.current_dir("/");
    command.arg("--pid-file").arg(&pid_file);
    common::as_nobody(&mut command);
    let output = harness.run(&mut command);
    let message = format!("error: pid file: {}: Permission denied (os error 13)", pid_file.display());
    harness.assert_failed(&output, 73, &message);
    assert!(!pid_file.exists());
}

#[test]
fn a_start_that_fails_after_creating_the_file_removes_it() {
    // Issue 13.2: the lock refused (ENOLCK), or the created file's stat
    // failing (EIO), each injected in every process of the start.
    let test = "a_start_that_fails_after_creating_the_file_removes_it";
    let Some(strace) = common::installed_or_skip(test, "strace", "strace") else {
        return;
    };
    for (fault, cause) in [
        ("flock:error=ENOLCK:when=1", common::os_error(libc::ENOLCK)),
        ("newfstatat:error=EIO:when=1", common::os_error(libc::EIO)),
    ] {
        let harness = Harness::new("created-removed");
        let pid_file = harness.path("d.pid");
        let mut command = harness.command(&strace);
        command.args(["-f", "-q", "-o", "/dev/null", "-e", &format!("inject={fault}"), PROBE]);
        command.arg("--pid-file").arg(&pid_file).env("PROBE_OUT", harness.path("probe.out"));
        let output = harness.run(&mut command);
        harness.assert_failed(&output, 73, &format!("error: pid file: {}: {cause}", pid_file.display()));
        assert!(!pid_file.exists(), "{fault}: the file this start created was left");
    }
}

#[test]
fn a_failed_start_never_removes_the_file_another_daemon_holds() {
    let harness = Harness::new("held-kept");
    let pid_file = harness.path("d.pid");
    let daemon = started(&harness, &pid_file, &[]);
    let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&pid_file).unwrap());
    let output = launch(&harness, &pid_file, &[]);
    assert_eq!(output.status.code(), Some(75), "{output:?}");
    assert_eq!(std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&pid_file).unwrap()), inode);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", daemon.0));
}
