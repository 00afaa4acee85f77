//! Step 1's checks, in the launching process before anything is prepared:
//! one thread, not PID 1, descriptors 0 to 2 open.

use std::io;

use nix::unistd;

use crate::error::{Error, Step};
use crate::steps::env_pids;

/// The preflight of [`Daemon::start`](crate::Daemon::start): refuses a
/// process with more than one thread, or (detaching) PID 1 of its namespace;
/// prepares the environment's `LISTEN_PID`/`WATCHDOG_PID` rewrite (detaching);
/// fills closed stdio.
pub(crate) fn check(foreground: bool) -> Result<(), Error> {
    ensure_single_threaded()?;
    if !foreground {
        // SAFETY: the process runs one thread (just checked), so nothing
        // reads or writes the environment concurrently.
        unsafe { env_pids::prepare_rewrite() }.map_err(|errno| Error::Sys {
            step: Step::Preflight,
            errno: crate::error::errno::Errno::of(errno),
        })?;
        if unistd::getpid().as_raw() == 1 {
            return Err(Error::Pid1);
        }
    }
    fill_stdio()
        .map_err(|errno| Error::Sys { step: Step::Preflight, errno: crate::error::errno::Errno::of(errno) })
}

/// Refuses to go on when the process runs more than one thread.
///
/// `fork` copies only the calling thread: a lock another thread held (in
/// `malloc`, in stdio) stays locked forever in the child. The count is the
/// kernel's: field 20 of `/proc/self/stat` on Linux, read into a stack buffer (a
/// directory listing of `/proc/self/task` would cost a 32 KiB buffer);
/// `proc_pidinfo(PROC_PIDTASKINFO)` on macOS; `sysctl(KERN_PROC_PID)` on FreeBSD.
///
/// # Errors
///
/// [`Error::Threads`] with the count, or [`Error::Path`] when `/proc` cannot
/// be read ([`Error::Sys`] when the count cannot be had elsewhere).
///
/// ```
/// // A test harness runs tests on threads, so only the error case is shown.
/// let _ = std::thread::spawn(|| std::thread::park());
/// let error = daemon_runtime::ensure_single_threaded().unwrap_err();
/// assert!(error.to_string().starts_with("preflight: "));
/// ```
pub fn ensure_single_threaded() -> Result<(), Error> {
    match crate::sys::threads()? {
        1 => Ok(()),
        count => Err(Error::Threads { count }),
    }
}

/// Opens `/dev/null` onto whichever of descriptors 0, 1 and 2 is closed.
///
/// A launcher started with a standard stream closed (`prog <&-`) would
/// otherwise hand out 0, 1 or 2 to the next `open` or `pipe`, and the stdio
/// redirection would later overwrite that descriptor: the report pipe, the
/// pid file. Called first thing by [`Daemon::start`](crate::Daemon::start).
///
/// # Errors
///
/// Opening `/dev/null`.
///
/// ```no_run
/// daemon_runtime::fill_closed_stdio()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn fill_closed_stdio() -> io::Result<()> {
    fill_stdio().map_err(io::Error::from)
}

fn fill_stdio() -> nix::Result<()> {
    use nix::fcntl::{OFlag, open};
    use std::os::fd::IntoRawFd;
    for fd in 0..=2 {
        if crate::steps::fds::fd_flags(fd) == Err(nix::errno::Errno::EBADF) {
            // `open` returns the lowest free number: this closed one. It is
            // stdio from now on, owned by no Rust value.
            let opened = open(c"/dev/null", OFlag::O_RDWR, nix::sys::stat::Mode::empty())?;
            if opened.into_raw_fd() != fd {
                return Err(nix::errno::Errno::EBADF);
            }
        }
    }
    Ok(())
}
