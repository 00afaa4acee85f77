//! Waiting for what another process does: one poll with a deadline, and
//! the waits built on it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::Proc;

/// How long a test waits for something a daemon does before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// How long a wait sleeps between two looks.
const INTERVAL: Duration = Duration::from_millis(5);

/// Looks at `probe` until it finds something, or `timeout` has passed:
/// then `None`. The one poll-until-deadline of the tests.
pub fn poll<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(INTERVAL);
    }
}

/// Waits until `condition` holds, failing the test after [`PATIENCE`].
#[track_caller]
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let held = poll(PATIENCE, || condition().then_some(()));
    assert!(held.is_some(), "timed out waiting until {what}");
}

/// Waits until `path` holds a complete line and returns the file's text.
#[track_caller]
pub fn wait_for_line(path: &Path) -> String {
    let line = || std::fs::read_to_string(path).ok().filter(|text| text.ends_with('\n'));
    let Some(text) = poll(PATIENCE, line) else { panic!("{} never got a line", path.display()) };
    text
}

/// Waits until `path` holds the pid of a live process and returns it,
/// once that process no longer has `path` open for writing: a test that
/// then lists its descriptors never sees the one its write of the pid (a
/// probe's `$PROBE_OUT`) had open a moment longer.
#[track_caller]
pub fn wait_for_pid(path: &Path) -> Proc {
    let proc = Proc(wait_for_line(path).trim().parse().expect("pid"));
    assert!(proc.alive(), "pid {} from {} is not running", proc.0, path.display());
    let closed = poll(PATIENCE, || (!writing(proc, path)).then_some(()));
    assert!(closed.is_some(), "pid {} keeps {} open for writing", proc.0, path.display());
    proc
}

/// Whether `proc` has `path` open for writing (`O_WRONLY` or `O_RDWR` in
/// the descriptor's `/proc/PID/fdinfo` flags, which are octal).
fn writing(proc: Proc, path: &Path) -> bool {
    let open = std::fs::read_dir(format!("/proc/{}/fd", proc.0)).into_iter().flatten().flatten();
    open.filter(|entry| std::fs::read_link(entry.path()).is_ok_and(|target| target == path)).any(|entry| {
        let info = format!("/proc/{}/fdinfo/{}", proc.0, entry.file_name().to_string_lossy());
        let info = std::fs::read_to_string(info).unwrap_or_default();
        let flags = info.lines().find_map(|line| line.strip_prefix("flags:"));
        flags
            .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
            .is_some_and(|flags| flags & 0o3 != 0)
    })
}
