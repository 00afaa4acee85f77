//! The steps of the sequence that are more than one `nix` call.
//!
//! `setsid`, `umask` and `chdir` are [`nix::unistd::setsid`],
//! [`nix::sys::stat::umask`] and [`nix::unistd::chdir`] as they are.

use std::os::fd::AsFd;

use nix::unistd;

use crate::error::{Error, Step};

/// Refuses to go on when the process runs more than one thread.
///
/// `fork` copies only the calling thread: a lock another thread held (in
/// `malloc`, in stdio) stays locked forever in the child. Threads are counted
/// in `/proc/self/task`.
///
/// # Errors
///
/// [`Error::Threads`] with the count, or [`Error::Path`] when `/proc` cannot be read.
///
/// ```
/// // A test harness runs tests on threads, so only the error case is shown.
/// let _ = std::thread::spawn(|| std::thread::park());
/// let error = daemon_runtime::ensure_single_threaded().unwrap_err();
/// assert!(error.to_string().starts_with("preflight: "));
/// ```
pub fn ensure_single_threaded() -> Result<(), Error> {
    let tasks = std::fs::read_dir("/proc/self/task").map_err(|error| Error::Path {
        step: Step::Preflight,
        path: "/proc/self/task".into(),
        errno: nix::errno::Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO)),
    })?;
    match tasks.count() {
        1 => Ok(()),
        count => Err(Error::Threads { count }),
    }
}

/// Points standard input, output and error at `target` (normally an open
/// `/dev/null`), so that nothing the daemon does reads or writes a terminal
/// or a pipe it inherited. Async-signal-safe: three `dup2` calls.
///
/// # Errors
///
/// The `errno` of `dup2`.
///
/// ```no_run
/// let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")?;
/// daemon_runtime::redirect_stdio(&null)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn redirect_stdio(target: impl AsFd) -> nix::Result<()> {
    let target = target.as_fd();
    unistd::dup2_stdin(target)?;
    unistd::dup2_stdout(target)?;
    unistd::dup2_stderr(target)
}
