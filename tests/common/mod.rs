//! What the root package's integration tests share: the workspace's process
//! harness (the `daemon-test-support` crate), plus the probe daemon
//! (`tests/bin/probe.rs`) and the runnable examples.
#![allow(dead_code)] // each test binary uses a different part

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use daemon_runtime::{Status, StopOptions, Stopped};
pub use daemon_test_support::*;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

/// The probe daemon: the builder configured from its arguments.
pub const PROBE: &str = env!("CARGO_BIN_EXE_probe");

/// The path of a runnable example, built by `cargo test` beside the tests.
pub fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let path = deps.parent().unwrap().join("examples").join(name);
    assert!(path.exists(), "example {} is not built: run `cargo test`", path.display());
    path
}

/// The `pidfile` example's daemon in `dir`, once its body runs: its first
/// heartbeat is written after its SIGTERM handler is installed. (Readiness
/// is automatic there: a SIGTERM sent as soon as the pid file exists may
/// still find the crate's handler, which removes the file and dies by the
/// signal, not the body's, which returns from `main`.)
pub fn pidfile_example_running(dir: &std::path::Path) -> Proc {
    let daemon = wait_for_pid(&dir.join("pidfile.pid"));
    eventually("the first heartbeat", || {
        std::fs::read_to_string(dir.join("heartbeat.log")).is_ok_and(|text| text.contains('\n'))
    });
    daemon
}

/// A [`Harness`] starting the probe daemon.
pub trait ProbeHarness {
    /// Runs the probe daemon's launcher with `args`; the daemon's body
    /// writes its pid to this test's `probe.out`.
    fn launch_probe(&self, args: &[&str]) -> Output;

    /// [`launch_probe`](ProbeHarness::launch_probe), asserting success, and
    /// the daemon whose body then ran.
    fn start_probe(&self, args: &[&str]) -> Proc;

    /// Makes this test's directory enterable, and `probe.out` writable, for
    /// `nobody`: for a daemon that drops to it, or an attacker run as it.
    fn open_to_nobody(&self);

    /// A pid file left by a probe daemon killed with SIGKILL (`d.pid`: the
    /// test user's, `0644`, naming a dead pid), and that daemon.
    fn stale_pid_file(&self) -> (PathBuf, Proc);
}

impl ProbeHarness for Harness {
    fn launch_probe(&self, args: &[&str]) -> Output {
        self.run(self.command(PROBE).args(args).env("PROBE_OUT", self.path("probe.out")))
    }

    fn start_probe(&self, args: &[&str]) -> Proc {
        // Emptied, not removed: a test may have made it writable for `nobody`.
        let _ = std::fs::File::options().write(true).truncate(true).open(self.path("probe.out"));
        let output = self.launch_probe(args);
        assert!(output.status.success(), "launcher failed: {output:?}");
        wait_for_pid(&self.path("probe.out"))
    }

    fn open_to_nobody(&self) {
        std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(self.path("probe.out"), "").unwrap();
        std::fs::set_permissions(self.path("probe.out"), std::fs::Permissions::from_mode(0o666)).unwrap();
    }

    fn stale_pid_file(&self) -> (PathBuf, Proc) {
        let pid_file = self.path("d.pid");
        let killed = self.start_probe(&["--pid-file", arg(&pid_file)]);
        assert_eq!(killed.kill(), Some(WaitStatus::Signaled(killed.pid(), Signal::SIGKILL, false)));
        assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), format!("{}\n", killed.0), "stale file left");
        (pid_file, killed)
    }
}

/// Asserts that the pid file at `path` is stale by its lock, whatever pid
/// it names, and that neither `signal` nor `stop` signals anyone (the
/// caller then checks its [`Bystander`]). `stop` may remove the file.
pub fn assert_stale_and_nobody_signalled(path: &Path) {
    assert_eq!(daemon_runtime::status(path).unwrap(), Status::Stale);
    for signal in [Signal::SIGTERM, Signal::SIGKILL] {
        assert_eq!(daemon_runtime::signal(path, signal).unwrap(), None, "{signal} was sent");
    }
    let stopped = daemon_runtime::stop(path, StopOptions::new().timeout(Duration::from_millis(200))).unwrap();
    assert_eq!(stopped, Stopped::NotRunning);
}

/// Stops `daemon`, this test's child, through its pid file at `path`
/// following `options`, then reaps it: what `stop` said, and how the
/// daemon ended. `stop` returns once the process has exited, so the reap
/// finds it at once.
pub fn stop_and_reap(daemon: Proc, path: &Path, options: StopOptions) -> (Stopped, Option<WaitStatus>) {
    let stopped = daemon_runtime::stop(path, options).unwrap();
    (stopped, daemon.reap())
}
