//! Waiting for what another process does, with a deadline.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::Proc;

/// How long a test waits for something a daemon does before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Waits until `path` holds a complete line and returns the file's text.
pub fn wait_for_line(path: &Path) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(Instant::now() < deadline, "{} never got a line", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until `path` holds the pid of a live process and returns it.
pub fn wait_for_pid(path: &Path) -> Proc {
    let proc = Proc(wait_for_line(path).trim().parse().expect("pid"));
    assert!(proc.alive(), "pid {} from {} is not running", proc.0, path.display());
    proc
}

/// Waits until `condition` holds, failing the test after [`PATIENCE`].
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
