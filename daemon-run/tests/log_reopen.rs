//! Issue 26 P and issue 27 item 1: log files of a daemon that drops to
//! `nobody` are created owned by it, so that they can be opened again on
//! SIGHUP, also after a rotation moved them away when the directory is the
//! daemon's; when reopening fails, the message names the user.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::common;
use common::{DaemonRunHarness, Harness, eventually, root_or_skip, text, wait_for_pid};

/// PROGRAM: a line at the start, and one on each SIGHUP (which the
/// supervisor forwards after reopening).
const PROGRAM: &str = "echo start; trap 'echo hup' HUP; while :; do sleep 0.1; done";

/// A directory `nobody` can reach (the checkout may be one it cannot
/// enter), holding `logs`, owned by `owner`, mode 0755.
fn log_directory(owner: u32) -> (tempfile::TempDir, PathBuf) {
    let top = tempfile::tempdir().unwrap();
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let logs = top.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::os::unix::fs::chown(&logs, Some(owner), Some(owner)).unwrap();
    (top, logs)
}

/// `daemon-run --respawn -u nobody -o LOGS/out.log -e LOGS/err.log PROGRAM`.
fn start(harness: &Harness, logs: &Path) {
    let output = harness
        .daemon_run(["--respawn", "--user", "nobody", "--pid-file"])
        .arg(harness.path("d.pid"))
        .arg("--stdout")
        .arg(logs.join("out.log"))
        .arg("--stderr")
        .arg(logs.join("err.log"))
        .args(["sh", "-c", PROGRAM])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

fn hup(harness: &Harness) {
    let output =
        harness.daemon_run(["--signal", "HUP", "--pid-file"]).arg(harness.path("d.pid")).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

fn contents(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn a_daemon_of_nobody_reopens_its_logs_before_and_after_a_rotation() {
    let test = "a_daemon_of_nobody_reopens_its_logs_before_and_after_a_rotation";
    if !root_or_skip(test, "dropping to nobody") {
        return;
    }
    let harness = Harness::new("log_reopen");
    let (_top, logs) = log_directory(65534);
    let (out, err) = (logs.join("out.log"), logs.join("err.log"));
    start(&harness, &logs);
    let supervisor = wait_for_pid(&harness.path("d.pid"));
    eventually("the first line", || contents(&out) == "start\n");
    let made = std::fs::metadata(&out).unwrap();
    assert_eq!((made.uid(), made.gid(), made.mode() & 0o777), (65534, 65534, 0o640), "created for nobody");
    // Without a rotation: the same file, opened again as nobody.
    hup(&harness);
    eventually("the line after the first HUP", || contents(&out) == "start\nhup\n");
    assert_eq!(contents(&err), "", "no complaint: {}", contents(&err));
    // Rotated away: created anew, in the directory that is nobody's.
    std::fs::rename(&out, logs.join("out.log.1")).unwrap();
    hup(&harness);
    eventually("the line after the rotation, in a new file", || contents(&out) == "hup\n");
    assert_eq!(std::fs::metadata(&out).unwrap().uid(), 65534);
    assert_eq!(contents(&logs.join("out.log.1")), "start\nhup\n");
    assert_eq!(contents(&err), "", "no complaint: {}", contents(&err));
    supervisor.kill();
}

#[test]
fn a_reopen_that_fails_after_a_rotation_names_the_user_the_daemon_runs_as() {
    let test = "a_reopen_that_fails_after_a_rotation_names_the_user_the_daemon_runs_as";
    if !root_or_skip(test, "dropping to nobody") {
        return;
    }
    let harness = Harness::new("log_reopen_denied");
    // The directory is root's: nobody cannot create the file anew.
    let (_top, logs) = log_directory(0);
    let (out, err) = (logs.join("out.log"), logs.join("err.log"));
    start(&harness, &logs);
    let supervisor = wait_for_pid(&harness.path("d.pid"));
    eventually("the first line", || contents(&out) == "start\n");
    std::fs::rename(&out, logs.join("out.log.1")).unwrap();
    hup(&harness);
    eventually("the supervisor's complaint", || contents(&err).contains("cannot reopen"));
    let expected = format!(
        "daemon-run: cannot reopen the log files: stdio: {}: Permission denied (os error 13) (the daemon \
         runs as nobody (uid 65534): the file must be writable by that user, and its directory too, to \
         create it anew after a rotation)\n",
        out.display()
    );
    assert_eq!(contents(&err), expected);
    assert!(supervisor.alive(), "a failed reopen does not stop the service");
    supervisor.kill();
}
