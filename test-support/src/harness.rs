//! One test's processes and temporary directory.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Once;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::{Proc, text};

/// The environment variable marking a test's processes.
const MARKER: &str = "DAEMON_TEST_MARKER";

/// One test's processes: every process started through [`Harness::command`]
/// carries a marker in its environment, inherited by the daemons it forks,
/// so dropping the harness can find and kill each of them.
pub struct Harness {
    token: String,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub fn new(test: &str) -> Harness {
        static SUBREAPER: Once = Once::new();
        // Orphaned daemons are re-parented to this process instead of init,
        // so their exit status can be collected (`waitpid(pid)`, never -1:
        // the test harness runs tests on threads of one process).
        SUBREAPER.call_once(|| become_subreaper().expect("subreaper"));
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        Harness {
            token: format!("{test}-{}-{}", std::process::id(), nanos.as_nanos()),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A command for `program`, marked as this test's, with no inherited stdin.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env(MARKER, &self.token).stdin(Stdio::null());
        command
    }

    /// `path` inside this test's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Every live (not zombie) process carrying this test's marker.
    pub fn processes(&self) -> Vec<Proc> {
        let needle = format!("{MARKER}={}\0", self.token);
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            // A zombie's environ reads as empty: only live processes match.
            let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            if environ.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(Proc(pid));
            }
        }
        found
    }

    /// Runs `command` to completion and captures what it printed.
    pub fn run(&self, command: &mut Command) -> Output {
        command.output().expect("launch")
    }

    /// Asserts a launch failed with `code`, that `message` is its one error
    /// line and the last line of its stderr (startup output may come
    /// before), and that nothing it started still runs.
    #[track_caller]
    pub fn assert_failed(&self, output: &Output, code: i32, message: &str) {
        let stderr = text(&output.stderr);
        assert!(stderr.ends_with(&format!("{message}\n")), "stderr: {stderr}");
        assert_eq!(stderr.matches("error: ").count(), 1, "one error line: {stderr}");
        assert_eq!(output.status.code(), Some(code), "{output:?}");
        assert!(self.processes().is_empty(), "left running: {:?}", self.processes());
    }
}

/// Makes this process the subreaper of its descendants: a daemon whose
/// parent exits is re-parented to it, not to init. Linux:
/// `PR_SET_CHILD_SUBREAPER`; FreeBSD: `procctl(PROC_REAP_ACQUIRE)`; macOS
/// has none, so these tests cannot run there (they are only compiled).
#[cfg(target_os = "linux")]
fn become_subreaper() -> std::io::Result<()> {
    Ok(nix::sys::prctl::set_child_subreaper(true)?)
}

#[cfg(target_os = "freebsd")]
fn become_subreaper() -> std::io::Result<()> {
    let me = libc::id_t::from(std::process::id());
    // SAFETY: PROC_REAP_ACQUIRE takes no data (null) and acts on this process only.
    if unsafe { libc::procctl(libc::P_PID, me, libc::PROC_REAP_ACQUIRE, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
fn become_subreaper() -> std::io::Result<()> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "this system has no subreaper"))
}

impl Drop for Harness {
    fn drop(&mut self) {
        for proc in self.processes() {
            let _ = kill(Pid::from_raw(proc.0), Signal::SIGKILL);
            proc.reap();
        }
    }
}
