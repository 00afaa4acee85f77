//! "Cannot tell" is never "not running" (issue 22, item 3): a pid file whose
//! exclusive lock is held by a process that the caller cannot see or
//! inspect gets `--status` 4 ("unknown") and a failing `--stop` and
//! `--signal`, never "not running" and exit 0, which would let a restart
//! fail with "already running". Each case is staged from outside, with a
//! live lock holder that is never signalled.

use crate::common;

use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command};

use common::{
    DAEMON_RUN, DaemonRunHarness, Harness, Proc, arg, as_nobody, eventually, executable_by_nobody, lock_file,
    root_or_skip, text,
};

/// Runs `command` with `verb` and `--pid-file pid_file`: (exit code, stdout, stderr).
fn verb(mut command: Command, verb: &[&str], pid_file: &Path) -> (i32, String, String) {
    let output = command.args(verb).arg("--pid-file").arg(pid_file).output().expect("run daemon-run");
    (output.status.code().expect("exit code"), text(&output.stdout), text(&output.stderr))
}

/// Root's `flock -x PID_FILE.lock sleep 60` on the pid file's 0600 lock
/// file, once it holds the exclusive lock, with its pid written in the pid
/// file, as a daemon's would be.
fn holder(harness: &Harness, pid_file: &Path) -> Child {
    std::fs::write(pid_file, "").unwrap();
    std::fs::set_permissions(pid_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let lock = lock_file(pid_file);
    std::fs::write(&lock, "").unwrap();
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o600)).unwrap();
    let holder = harness.command("flock").args(["-x", arg(&lock), "sleep", "60"]).spawn().expect("flock");
    let probe = std::fs::File::open(&lock).unwrap();
    eventually("the holder has the exclusive lock", || {
        // SAFETY: flock on a descriptor we own, touching no memory.
        let shared = unsafe { libc::flock(probe.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0;
        // SAFETY: as above; releases what the probe got.
        unsafe { libc::flock(probe.as_raw_fd(), libc::LOCK_UN) };
        !shared
    });
    std::fs::write(pid_file, format!("{}\n", holder.id())).unwrap();
    holder
}

/// The holder was never signalled, and its file is still there.
fn assert_untouched(holder: &mut Child, pid_file: &Path) {
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(holder.try_wait().unwrap().is_none(), "the lock holder was signalled");
    assert!(Proc(holder.id() as i32).alive());
    assert_eq!(
        std::fs::read_to_string(pid_file).unwrap(),
        format!("{}\n", holder.id()),
        "the file was removed"
    );
}

fn end(mut holder: Child) {
    holder.kill().unwrap();
    holder.wait().unwrap();
}

#[test]
fn a_lock_held_from_outside_the_pid_namespace_is_unknown_never_not_running() {
    let test = "a_lock_held_from_outside_the_pid_namespace_is_unknown_never_not_running";
    if !root_or_skip(test, "unshare a pid namespace") {
        return;
    }
    let harness = Harness::new("outside-namespace");
    let pid_file = harness.path("d.pid");
    let mut holder = holder(&harness, &pid_file);
    // `daemon-run` in a pid namespace of its own, with its own /proc: the
    // holder is outside it, and its lock is not in that /proc's list.
    let inside = || {
        let mut command = harness.command("unshare");
        command.args(["-fp", "--mount-proc", DAEMON_RUN]);
        command
    };
    let (code, stdout, stderr) = verb(inside(), &["--status"], &pid_file);
    if cfg!(daemon_portable) {
        // The portable proof (macOS's and FreeBSD's) knows the holder only
        // by the pid written in the file, which names no process in here:
        // it takes a pid namespace as FreeBSD's takes a jail (README).
        assert_eq!(
            (code, stdout.as_str()),
            (1, format!("not running, but {} is left\n", pid_file.display()).as_str())
        );
    } else {
        let message = "cannot tell whether the daemon runs: its lock is held by a process this pid namespace cannot see";
        assert_eq!((code, stdout.as_str()), (4, ""), "{stderr}");
        assert!(stderr.starts_with("error: status: ") && stderr.contains(message), "{stderr}");
        let (code, _, stderr) = verb(inside(), &["--stop", "--retry", "1"], &pid_file);
        assert_eq!(code, 4, "--stop must fail, not say it stopped: {stderr}");
        assert!(stderr.contains(message), "{stderr}");
        let (code, _, stderr) = verb(inside(), &["--signal", "TERM"], &pid_file);
        assert_eq!(code, 4, "{stderr}");
        // A start (issue 26, item E): its own message and exit code, never
        // "already running (the file is locked)" (75), never a replacement.
        // Not as PID 1 of the namespace, which a start refuses: under a shell.
        let mut start = harness.command("unshare");
        start.args(["-fp", "--mount-proc", "sh", "-c", r#""$@"; exit $?"#, "sh", DAEMON_RUN]);
        let output = start.arg("--pid-file").arg(&pid_file).args(["sleep", "600"]).output().unwrap();
        let expected = format!(
            "error: pid file: {}: locked by a process this pid namespace cannot see\n",
            pid_file.display()
        );
        assert_eq!((output.status.code(), text(&output.stderr)), (Some(72), expected));
    }
    assert_untouched(&mut holder, &pid_file);
    // Seen from the holder's own namespace, it is running.
    let (code, stdout, _) = verb(harness.daemon_run(["--status"]), &[], &pid_file);
    assert_eq!((code, stdout), (0, format!("running (pid {})\n", holder.id())));
    end(holder);
}

#[test]
fn a_holder_this_user_cannot_inspect_is_unknown_never_not_running() {
    let test = "a_holder_this_user_cannot_inspect_is_unknown_never_not_running";
    if !root_or_skip(test, "run daemon-run as nobody against root's lock") {
        return;
    }
    let harness = Harness::new("uninspectable");
    std::fs::set_permissions(harness.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pid_file = harness.path("d.pid");
    let mut holder = holder(&harness, &pid_file);
    let (_dir, daemon_run) = executable_by_nobody(Path::new(DAEMON_RUN));
    let as_nobody = || {
        let mut command = harness.command(&daemon_run);
        as_nobody(&mut command);
        command
    };
    let (code, stdout, stderr) = verb(as_nobody(), &["--status"], &pid_file);
    if cfg!(daemon_portable) {
        // macOS's and FreeBSD's means probe the lock itself, and nobody
        // cannot open root's 0600 lock file (issue 26, item D) to probe it.
        let message =
            "cannot tell whether the daemon runs: its lock, or the kernel's list of locks, cannot be read";
        assert_eq!((code, stdout.as_str()), (4, ""), "{stderr}");
        assert!(stderr.starts_with("error: status: ") && stderr.contains(message), "{stderr}");
        let (code, _, stderr) = verb(as_nobody(), &["--stop", "--retry", "1"], &pid_file);
        assert_eq!(code, 4, "--stop must fail, not say it stopped: {stderr}");
        assert!(stderr.contains(message), "{stderr}");
    } else {
        // Linux's own: the pid `/proc/locks` lists for the exclusive lock,
        // unproven (nobody cannot read root's /proc/PID/fdinfo), and which
        // nobody cannot signal: --stop fails with the kernel's EPERM.
        assert_eq!((code, stdout), (0, format!("running (pid {})\n", holder.id())), "{stderr}");
        let (code, _, stderr) = verb(as_nobody(), &["--stop", "--retry", "1"], &pid_file);
        assert_eq!(code, 4, "{stderr}");
        assert!(stderr.contains("Operation not permitted"), "{stderr}");
    }
    let (code, _, stderr) = verb(as_nobody(), &["--signal", "TERM"], &pid_file);
    assert_eq!(code, 4, "{stderr}");
    assert_untouched(&mut holder, &pid_file);
    end(holder);
}
