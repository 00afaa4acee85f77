//! What the root package's integration tests share: the generic harness of
//! `process.rs`, plus the probe daemon (`tests/bin/probe.rs`) and the
//! runnable examples.
#![allow(dead_code)] // each test binary uses a different part

mod process;

use std::path::PathBuf;
use std::process::Output;

pub use process::*;

/// The probe daemon: the builder configured from its arguments.
pub const PROBE: &str = env!("CARGO_BIN_EXE_probe");

/// The path of a runnable example, built by `cargo test` beside the tests.
pub fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let path = deps.parent().unwrap().join("examples").join(name);
    assert!(path.exists(), "example {} is not built: run `cargo test`", path.display());
    path
}

impl Harness {
    /// Runs the probe daemon's launcher with `args`; the daemon's body
    /// writes its pid to this test's `probe.out`.
    pub fn launch_probe(&self, args: &[&str]) -> Output {
        self.run(self.command(PROBE).args(args).env("PROBE_OUT", self.path("probe.out")))
    }

    /// [`launch_probe`](Harness::launch_probe), asserting success, and the
    /// daemon whose body then ran.
    pub fn start_probe(&self, args: &[&str]) -> Proc {
        // Emptied, not removed: a test may have made it writable for `nobody`.
        let _ = std::fs::File::options().write(true).truncate(true).open(self.path("probe.out"));
        let output = self.launch_probe(args);
        assert!(output.status.success(), "launcher failed: {output:?}");
        wait_for_pid(&self.path("probe.out"))
    }

    /// Asserts a launch failed with `code`, that `message` is its one error
    /// line and the last line of its stderr (startup output may come
    /// before), and that nothing it started still runs.
    pub fn assert_failed(&self, output: &Output, code: i32, message: &str) {
        let stderr = text(&output.stderr);
        assert!(stderr.ends_with(&format!("{message}\n")), "stderr: {stderr}");
        assert_eq!(stderr.matches("error: ").count(), 1, "one error line: {stderr}");
        assert_eq!(output.status.code(), Some(code), "{output:?}");
        assert!(self.processes().is_empty(), "left running: {:?}", self.processes());
    }
}
