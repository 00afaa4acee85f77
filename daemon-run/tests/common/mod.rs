//! What `daemon-run`'s tests share: the workspace's process harness (the
//! `daemon-test-support` crate), plus the binary under test and a wait for
//! the programs it executes.
#![allow(dead_code)] // each test binary uses a different part

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

pub use daemon_test_support::*;

/// The binary under test.
pub const DAEMON_RUN: &str = env!("CARGO_BIN_EXE_daemon-run");

/// A [`Harness`] starting `daemon-run`.
pub trait DaemonRunHarness {
    /// `daemon-run` with `args`, marked as this test's.
    fn daemon_run<I: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = I>) -> Command;
}

impl DaemonRunHarness for Harness {
    fn daemon_run<I: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = I>) -> Command {
        let mut command = self.command(DAEMON_RUN);
        command.args(args);
        command
    }
}

/// `daemon-run/examples/hello_activated`, a program written for socket
/// activation, built by `cargo test` beside the tests.
pub fn hello_activated() -> std::path::PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let path = deps.parent().unwrap().join("examples").join("hello_activated");
    assert!(path.exists(), "{} is not built: run `cargo test -p daemon-run`", path.display());
    path
}

/// What `hello_activated` answers when it runs as `program`, given the
/// sockets named `names` (comma-separated).
pub fn hello(program: Proc, names: &str) -> String {
    format!("hello from pid {0}: LISTEN_PID={0}, sockets {names}\n", program.0)
}

/// Everything `stream` gives until its end.
pub fn read_all(mut stream: impl std::io::Read) -> String {
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    answer
}

/// Waits until `path` names a live program and that program has settled:
/// the pid file is written before the exec, and the dynamic loader opens
/// files for a moment after it, so descriptors are looked at only once the
/// program is loaded and asleep (the programs these tests run all block).
pub fn wait_for_pid(path: &Path) -> Proc {
    let program = daemon_test_support::wait_for_pid(path);
    eventually(&format!("pid {} settled", program.0), || !program.alive() || settled(program));
    program
}

/// Sleeping (`S`) with the same descriptors twice in a row, none of them a
/// shared library or already gone.
fn settled(program: Proc) -> bool {
    let before = program.fds();
    let asleep = program.state() == "S";
    let loading = before.values().any(|t| t.as_os_str().is_empty() || t.to_string_lossy().contains(".so"));
    asleep && !loading && program.fds() == before
}

/// A program speaking sd_notify, in Python: sleeps `delay`, then sends
/// `READY=1` itself, from a forked child (`child`), or not at all (`never`),
/// then keeps running (or exits at once with `exit`).
pub const NOTIFIER: &str = r#"
import os, socket, sys, time
mode, delay = sys.argv[1], float(sys.argv[2])
time.sleep(delay)
def ready():
    address = os.environ["NOTIFY_SOCKET"]
    if address.startswith("@"):
        address = "\0" + address[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.connect(address)
    s.send(b"READY=1\n")
if mode == "ready":
    ready()
elif mode == "release":
    os.close(3)
    ready()
elif mode == "child":
    if os.fork() == 0:
        ready()
        os._exit(0)
elif mode == "exit":
    sys.exit(0)
time.sleep(600)
"#;

/// True when python3 runs (for [`NOTIFIER`]); otherwise [`skip`]s `test`.
pub fn python3_or_skip(test: &str) -> bool {
    if Command::new("python3").arg("-c").arg("").status().is_ok_and(|status| status.success()) {
        return true;
    }
    skip(test, "python3 is not installed (package python3)");
    false
}
