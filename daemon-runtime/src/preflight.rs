//! Step 1's checks, in the launching process before anything is prepared:
//! one thread, not PID 1, descriptors 0 to 2 open.

use std::io;

use nix::unistd;

use crate::error::{Error, Step};
use crate::pid_vars;

/// The preflight of [`Daemon::start`](crate::Daemon::start): refuses a
/// process with more than one thread, or (detaching) PID 1 of its namespace;
/// prepares the environment's `LISTEN_PID`/`WATCHDOG_PID` rewrite (detaching);
/// fills closed stdio.
pub(crate) fn check(foreground: bool) -> Result<(), Error> {
    ensure_single_threaded()?;
    if !foreground {
        // SAFETY: the process runs one thread (just checked), so nothing
        // reads or writes the environment concurrently.
        unsafe { pid_vars::prepare_rewrite() }
            .map_err(|errno| Error::Sys { step: Step::Preflight, errno })?;
        if unistd::getpid().as_raw() == 1 {
            return Err(Error::Pid1);
        }
    }
    fill_stdio().map_err(|errno| Error::Sys { step: Step::Preflight, errno })
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
    match threads()? {
        1 => Ok(()),
        count => Err(Error::Threads { count }),
    }
}

/// The kernel's thread count of this process: field 20 of `/proc/self/stat`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn threads() -> Result<usize, Error> {
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    let unreadable = |errno| Error::Path { step: Step::Preflight, path: "/proc/self/stat".into(), errno };
    let stat = nix::fcntl::open(c"/proc/self/stat", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(unreadable)?;
    let mut buf = [0u8; 1024];
    let len = unistd::read(&stat, &mut buf).map_err(unreadable)?;
    thread_count(&buf[..len]).ok_or(unreadable(nix::errno::Errno::EPROTO))
}

/// The kernel's thread count of this process: `proc_pidinfo(PROC_PIDTASKINFO)`.
#[cfg(target_vendor = "apple")]
fn threads() -> Result<usize, Error> {
    let failed = |errno| Error::Sys { step: Step::Preflight, errno };
    // SAFETY: `proc_taskinfo` is plain integers: all-zero is a valid value.
    let mut info: libc::proc_taskinfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::proc_taskinfo>() as libc::c_int;
    // SAFETY: the buffer is ours and `size` bytes long; the call writes at most that.
    let written = unsafe {
        libc::proc_pidinfo(
            unistd::getpid().as_raw(),
            libc::PROC_PIDTASKINFO,
            0,
            (&mut info as *mut libc::proc_taskinfo).cast(),
            size,
        )
    };
    if written != size {
        return Err(failed(nix::errno::Errno::last()));
    }
    usize::try_from(info.pti_threadnum).map_err(|_| failed(nix::errno::Errno::EPROTO))
}

/// The kernel's thread count of this process: `sysctl(KERN_PROC_PID)`'s `ki_numthreads`.
#[cfg(target_os = "freebsd")]
fn threads() -> Result<usize, Error> {
    let failed = |errno| Error::Sys { step: Step::Preflight, errno };
    let mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PID, unistd::getpid().as_raw()];
    // SAFETY: `kinfo_proc` is plain data: all-zero is a valid value.
    let mut info: libc::kinfo_proc = unsafe { std::mem::zeroed() };
    let mut size = std::mem::size_of::<libc::kinfo_proc>();
    // SAFETY: the name is 4 valid integers; the buffer is ours and `size`
    // bytes long, and the call writes at most that, updating `size`.
    let res = unsafe {
        libc::sysctl(
            mib.as_ptr(),
            mib.len() as libc::c_uint,
            (&mut info as *mut libc::kinfo_proc).cast(),
            &mut size,
            std::ptr::null(),
            0,
        )
    };
    nix::errno::Errno::result(res).map_err(failed)?;
    usize::try_from(info.ki_numthreads).map_err(|_| failed(nix::errno::Errno::EPROTO))
}

/// `num_threads` from the text of `/proc/PID/stat`: the 18th field after
/// the command name, which is in parentheses and may itself hold spaces.
#[cfg(any(target_os = "linux", target_os = "android", test))]
fn thread_count(stat: &[u8]) -> Option<usize> {
    let after_name = &stat[stat.iter().rposition(|&b| b == b')')? + 1..];
    let field = std::str::from_utf8(after_name).ok()?.split_ascii_whitespace().nth(17)?;
    field.parse().ok()
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
    use nix::fcntl::{FcntlArg, OFlag, fcntl, open};
    use std::os::fd::{BorrowedFd, IntoRawFd};
    for fd in 0..=2 {
        // SAFETY: the descriptor is only queried (F_GETFD), never closed or kept.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        if fcntl(borrowed, FcntlArg::F_GETFD) == Err(nix::errno::Errno::EBADF) {
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

#[cfg(test)]
mod tests {
    use super::thread_count;

    #[test]
    fn thread_count_survives_odd_command_names() {
        let stat = b"4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 3 0 1 1 1";
        assert_eq!(thread_count(stat), Some(3));
        assert_eq!(thread_count(b"4242 (x) S 1"), None);
    }
}
