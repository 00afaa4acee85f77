//! What every integration test of the workspace needs to start real
//! processes and look at them from outside: a subreaper to collect them, a
//! marker to find every process a test started (and kill them all at the
//! end), readers for `/proc/PID/…`, and a pseudo-terminal to launch from.
//! Shared by `tests/common` and `daemon-run/tests/common` (through `#[path]`).

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// How long a test waits for something a daemon does before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

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
        SUBREAPER.call_once(|| nix::sys::prctl::set_child_subreaper(true).expect("subreaper"));
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
}

impl Drop for Harness {
    fn drop(&mut self) {
        for proc in self.processes() {
            let _ = kill(Pid::from_raw(proc.0), Signal::SIGKILL);
            proc.reap();
        }
    }
}

const MARKER: &str = "DAEMON_TEST_MARKER";

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

    /// A field of `/proc/PID/status`, such as `Umask` or `SigIgn`.
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

    /// The command name, `/proc/PID/comm`.
    pub fn comm(self) -> String {
        self.read("comm").trim_end().to_string()
    }

    pub fn state(self) -> String {
        self.stat()[0].clone()
    }
    pub fn ppid(self) -> i32 {
        self.stat()[1].parse().unwrap()
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

    pub fn alive(self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.0)).is_ok() && self.state() != "Z"
    }

    /// Collects the process's exit status if it is our child (or was
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

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(self) -> Option<WaitStatus> {
        kill(self.pid(), Signal::SIGTERM).expect("SIGTERM");
        self.reap()
    }

    /// Sends SIGKILL and waits for the exit status.
    pub fn kill(self) -> Option<WaitStatus> {
        kill(self.pid(), Signal::SIGKILL).expect("SIGKILL");
        self.reap()
    }
}

/// A live process that must never be signalled (what a stale pid file
/// names, say): `sleep 60` by default, killed and reaped when dropped.
pub struct Bystander(pub std::process::Child);

impl Bystander {
    /// Starts `sleep 60` as this test's user.
    pub fn spawn(harness: &Harness) -> Bystander {
        Bystander(harness.command("sleep").arg("60").spawn().expect("bystander"))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Asserts that no signal reached it: it lives, and none is pending.
    /// Every signal a `sleep` can be sent ends it, and one just sent stays
    /// pending until it has, so this needs no waiting.
    pub fn assert_untouched(&self) {
        let status = Proc(self.pid() as i32).read("status");
        let field = |name: &str| status.lines().find_map(|line| line.strip_prefix(name)).map(str::trim);
        let gone = field("State:").is_none_or(|state| state.starts_with(['Z', 'X']));
        let pending = [field("SigPnd:"), field("ShdPnd:")]
            .iter()
            .any(|mask| mask.is_none_or(|m| !m.trim_start_matches('0').is_empty()));
        assert!(!gone && !pending, "the bystander was signalled: {status}");
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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

/// Makes `command` run in a new session whose controlling terminal is a fresh
/// pseudo-terminal, with stdio on it. Returns the master side, which must be
/// kept open while the command runs.
pub fn on_pseudo_terminal(command: &mut Command) -> std::os::fd::OwnedFd {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave = std::fs::File::from(pty.slave);
    command.stdin(slave.try_clone().unwrap()).stdout(slave.try_clone().unwrap()).stderr(slave);
    let take_terminal = || {
        nix::unistd::setsid()?;
        // SAFETY: TIOCSCTTY takes an int argument; 0 is the new stdin, the
        // pseudo-terminal's slave.
        if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    // SAFETY: the closure runs between fork and exec and calls only setsid
    // and ioctl, async-signal-safe, allocating nothing.
    unsafe { command.pre_exec(take_terminal) };
    pty.master
}

/// `SigIgn` of a daemon whose signals were reset: only SIGPIPE ignored.
///
/// Built with `--cfg daemon_portable` on glibc, the reset goes through
/// libc's `sigaction`, which refuses glibc's reserved signals 32 and 33: they
/// keep what the launcher inherited from this test (which is ignored when
/// this test was started through glibc's `posix_spawn`, as cargo does). That
/// is the documented gap of that fallback, and why Linux uses the raw system
/// call by default.
pub fn ignored_after_reset() -> String {
    let sigpipe: u64 = 1 << (libc::SIGPIPE - 1);
    #[cfg(all(daemon_portable, target_env = "gnu"))]
    let sigpipe = sigpipe
        | (u64::from_str_radix(&Proc(std::process::id() as i32).status("SigIgn"), 16).unwrap() & 0b11 << 31);
    format!("{sigpipe:016x}")
}

/// Text of the captured stream, for messages.
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

/// Asserts what the daemon's descriptors point to: 0, 1 and 2 at `stdio`,
/// the numbered ones in `kept` as given, and exactly `others` besides (the
/// pid file, say), whatever numbers they got.
pub fn assert_fds(daemon: Proc, stdio: &Path, kept: &[(i32, &Path)], others: &[&Path]) {
    let mut fds = daemon.fds();
    for fd in 0..=2 {
        assert_eq!(fds.remove(&fd).as_deref(), Some(stdio), "fd {fd} of {:?}", daemon.fds());
    }
    for (fd, target) in kept {
        assert_eq!(fds.remove(fd).as_deref(), Some(*target), "fd {fd} of {:?}", daemon.fds());
    }
    let mut rest: Vec<PathBuf> = fds.into_values().collect();
    let mut others: Vec<PathBuf> = others.iter().map(|p| p.to_path_buf()).collect();
    rest.sort();
    others.sort();
    assert_eq!(rest, others, "descriptors beyond stdio and the kept ones: {:?}", daemon.fds());
}

/// Makes `command` run as `nobody` (uid and gid 65534, no supplementary group).
pub fn as_nobody(command: &mut Command) -> &mut Command {
    // SAFETY: setgroups, setgid and setuid are async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setgroups(&[])?;
            nix::unistd::setgid(nix::unistd::Gid::from_raw(65534))?;
            nix::unistd::setuid(nix::unistd::Uid::from_raw(65534))?;
            Ok(())
        })
    }
}

/// A path as a command-line argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A copy of `program` that `nobody` can execute, in a world-readable
/// temporary directory (the checkout may be one `nobody` cannot enter).
/// Keep the returned directory alive while the copy runs.
pub fn executable_by_nobody(program: &Path) -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let copy = dir.path().join(program.file_name().expect("file name"));
    install_executable(program, &copy);
    (dir, copy)
}

/// Copies `source` to `target`, mode 0755, with `cp`: never through a
/// descriptor open for writing in this process, which the children other
/// tests fork meanwhile would inherit, so that executing `target` fails
/// (ETXTBSY) until they exec.
pub fn install_executable(source: &Path, target: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let copied = Command::new("cp").arg(source).arg(target).status().expect("cp");
    assert!(copied.success(), "cp {} {}", source.display(), target.display());
    std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o755)).expect("chmod program");
}

/// An executable shell script at `path` running `body` (written beside it,
/// then installed by [`install_executable`]).
pub fn write_script(path: &Path, body: &str) {
    let source = path.with_extension("source");
    std::fs::write(&source, format!("#!/bin/sh\n{body}\n")).expect("write script");
    install_executable(&source, path);
}
