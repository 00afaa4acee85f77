//! What the tests need to start real processes through `daemon-run` and look
//! at them from outside (a short copy of the workspace's `tests/common`): a
//! subreaper to collect them, a marker to find every process a test started
//! (and kill them all at the end), `/proc` readers, a pseudo-terminal.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// How long a test waits for something a daemon does before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The binary under test.
pub const DAEMON_RUN: &str = env!("CARGO_BIN_EXE_daemon-run");

/// One test's processes: every process started through [`Harness::command`]
/// carries a marker in its environment, inherited by the programs it runs, so
/// dropping the harness finds, kills and reaps each of them.
pub struct Harness {
    token: String,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub fn new(test: &str) -> Harness {
        static SUBREAPER: Once = Once::new();
        // Orphaned daemons are re-parented to this process instead of init,
        // so they can be reaped (`waitpid(pid)`, never -1: tests are threads).
        SUBREAPER.call_once(|| nix::sys::prctl::set_child_subreaper(true).expect("subreaper"));
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        Harness {
            token: format!("{test}-{}-{}", std::process::id(), nanos.as_nanos()),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// `daemon-run` with `args`, marked as this test's, with no stdin.
    pub fn daemon_run<I: AsRef<std::ffi::OsStr>>(&self, args: impl IntoIterator<Item = I>) -> Command {
        let mut command = self.command(DAEMON_RUN);
        command.args(args);
        command
    }

    /// `program`, marked as this test's, with no stdin.
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
}

impl Drop for Harness {
    fn drop(&mut self) {
        for proc in self.processes() {
            let _ = kill(proc.pid(), Signal::SIGKILL);
            proc.reap();
        }
    }
}

const MARKER: &str = "DAEMON_RUN_TEST_MARKER";

/// A process seen through `/proc/PID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc(pub i32);

impl Proc {
    pub fn pid(self) -> Pid {
        Pid::from_raw(self.0)
    }

    pub fn read(self, file: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{file}", self.0))
            .unwrap_or_else(|e| panic!("/proc/{}/{file}: {e}", self.0))
    }

    /// A field of `/proc/PID/status`, such as `Umask` or `Uid`.
    pub fn status(self, field: &str) -> String {
        let prefix = format!("{field}:");
        self.read("status")
            .lines()
            .find_map(|line| line.strip_prefix(&prefix).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {field} in /proc/{}/status", self.0))
    }

    /// `/proc/PID/stat` after the command name: state, ppid, pgrp, session, tty_nr, ...
    fn stat(self) -> Vec<String> {
        let stat = self.read("stat");
        let rest = &stat[stat.rfind(')').expect("stat") + 2..];
        rest.split_whitespace().map(str::to_string).collect()
    }

    pub fn comm(self) -> String {
        self.read("comm").trim_end().to_string()
    }
    pub fn session(self) -> i32 {
        self.stat()[3].parse().unwrap()
    }
    pub fn tty_nr(self) -> i32 {
        self.stat()[4].parse().unwrap()
    }

    pub fn cwd(self) -> PathBuf {
        std::fs::read_link(format!("/proc/{}/cwd", self.0)).expect("cwd")
    }

    /// Open descriptors and what they point to.
    pub fn fds(self) -> BTreeMap<i32, PathBuf> {
        std::fs::read_dir(format!("/proc/{}/fd", self.0))
            .expect("fd dir")
            .flatten()
            .map(|e| {
                (
                    e.file_name().to_str().unwrap().parse().unwrap(),
                    std::fs::read_link(e.path()).unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Sleeping (`S`) with the same descriptors twice in a row, none of
    /// them a shared library or already gone.
    fn settled(self) -> bool {
        let before = self.fds();
        let asleep = self.stat().first().is_some_and(|state| state == "S");
        let loading =
            before.values().any(|t| t.as_os_str().is_empty() || t.to_string_lossy().contains(".so"));
        asleep && !loading && self.fds() == before
    }

    pub fn alive(self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.0))
            .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.starts_with(" Z")))
    }

    /// Collects the exit status if the process is our child (or was
    /// re-parented to us): waits up to [`PATIENCE`].
    pub fn reap(self) -> Option<WaitStatus> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            match waitpid(self.pid(), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::EINTR) => {}
                Ok(status) => return Some(status),
                Err(_) => return None, // not ours
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

/// Waits until `path` holds the pid of a live process and returns it.
pub fn wait_for_pid(path: &Path) -> Proc {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Some(pid) = text.strip_suffix('\n').and_then(|pid| pid.parse().ok())
        {
            let proc = Proc(pid);
            assert!(proc.alive(), "pid {pid} from {} is not running", path.display());
            // The pid file is written before the exec, and the dynamic loader
            // opens files for a moment after it: wait until the program is
            // loaded and asleep (the programs these tests run all block).
            while proc.alive() && !proc.settled() {
                assert!(Instant::now() < deadline, "pid {pid} never settled");
                std::thread::sleep(Duration::from_millis(1));
            }
            return proc;
        }
        assert!(Instant::now() < deadline, "{} never got a pid", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until `condition` holds, failing the test after [`PATIENCE`].
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Makes `command` run in a new session whose controlling terminal is a fresh
/// pseudo-terminal, with stdio on it. Returns the master side, to keep open
/// while the command runs.
pub fn on_pseudo_terminal(command: &mut Command) -> std::os::fd::OwnedFd {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave = std::fs::File::from(pty.slave);
    command.stdin(slave.try_clone().unwrap()).stdout(slave.try_clone().unwrap()).stderr(slave);
    // SAFETY: setsid and ioctl are async-signal-safe; nothing allocates.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()?;
            if libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    pty.master
}

/// Text of a captured stream, for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// True when the tests run as root; otherwise prints, past the test
/// harness's capture, that `test` is skipped and why, and returns false.
pub fn root_or_skip(test: &str, needs: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: needs root to {needs}");
    false
}
