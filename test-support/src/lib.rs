//! What every integration test of the workspace needs to start real
//! processes and look at them from outside: a subreaper to collect them, a
//! marker to find every process a test started (and kill them all at the
//! end), readers for `/proc/PID/…`, waits with a deadline, a pseudo-terminal
//! to launch from, and the one way a test says it is skipped.
//!
//! A dev-dependency of the root package (`tests/`) and of `daemon-run`
//! (`daemon-run/tests/`); what only one of them needs stays in its
//! `tests/common/mod.rs`.
//!
//! It compiles for every target CI checks (Linux, macOS, FreeBSD), so the
//! tests do; it runs on Linux only: [`Proc`] and [`Harness::processes`]
//! read Linux's `/proc`, and macOS has no subreaper.

mod harness;
mod load;
mod process;
mod programs;
mod skip;
mod terminal;
mod wait;

use std::path::Path;

pub use harness::Harness;
pub use load::{Load, Seen};
pub use process::{Bystander, Proc, Signals, ignored_after_reset};
pub use programs::{as_nobody, become_nobody, executable_by_nobody, install_executable, write_script};
pub use skip::{installed, installed_or_skip, root_or_skip, skip};
pub use terminal::on_pseudo_terminal;
pub use wait::{PATIENCE, eventually, poll, wait_for_line, wait_for_pid};

/// Text of the captured stream, for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// How an error message ends for `errno`: the C library's text and the
/// number, as `std::io::Error` shows it (`Input/output error (os error 5)`
/// with glibc, `I/O error (os error 5)` with musl). The daemons under test
/// are built for the same target as the tests, so they show the same.
pub fn os_error(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

/// The lock file of the pid file `pid_file`: beside it, its name and
/// `.lock` (what the runtime locks; the pid file only holds the pid).
pub fn lock_file(pid_file: &Path) -> std::path::PathBuf {
    let mut name = pid_file.as_os_str().to_owned();
    name.push(".lock");
    name.into()
}

/// A path as a command-line argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}
