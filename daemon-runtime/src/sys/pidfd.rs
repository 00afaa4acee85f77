//! Process descriptors (`pidfd_open(2)`, `pidfd_send_signal(2)`, `poll(2)`
//! on a pidfd): Linux's [`ProcessHandle`], the proof that a signal reaches
//! the process that was checked, not whatever reused its pid. Used under
//! `--cfg daemon_portable` as well, since Linux has no kqueue. nix has no
//! wrappers.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags};
use nix::sys::signal::Signal;

use crate::deadline::Deadline;

/// `pidfd_open(2)`: a descriptor that names process `pid` for as long as
/// it is held, whatever the pid is reused for afterwards.
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor
    // or -1; nix has no wrapper.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just returned to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// One process, pinned by a pidfd (always close-on-exec). Allocation-free.
#[derive(Debug)]
pub(crate) struct ProcessHandle(OwnedFd);

/// Readable once the process has exited: to `poll` beside other descriptors.
impl AsFd for ProcessHandle {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl ProcessHandle {
    /// Pins process `pid`; `ESRCH` when there is none (or only a thread of
    /// that number, `EINVAL`).
    pub(crate) fn open(pid: u32) -> io::Result<ProcessHandle> {
        pidfd_open(pid).map(ProcessHandle)
    }

    /// Whether the process has not exited yet: while it has not, its pid
    /// names it and no other.
    pub(crate) fn alive(&self) -> bool {
        !self.wait_exit(Duration::ZERO)
    }

    /// `pidfd_send_signal(2)`: `signal` to this process, whatever its pid has
    /// become; `ESRCH` once it has been reaped.
    pub(crate) fn signal(&self, signal: Signal) -> io::Result<()> {
        // SAFETY: a valid pidfd, a signal number, no siginfo (null), no flags.
        let res = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if res < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    /// Waits up to `timeout` for the process to exit; whether it has. The
    /// pidfd becomes readable the moment it does.
    pub(crate) fn wait_exit(&self, timeout: Duration) -> bool {
        let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLIN)];
        // A pidfd that cannot be polled tells nothing: taken as gone, so
        // that nothing is signalled on its word.
        Deadline::after(timeout).poll(&mut fds).unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_sees_its_process_exit_and_no_successor() {
        let mut child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
        let handle = ProcessHandle::open(child.id()).unwrap();
        assert!(handle.alive());
        assert!(!handle.wait_exit(Duration::from_millis(20)));
        handle.signal(Signal::SIGKILL).unwrap();
        assert!(handle.wait_exit(Duration::from_secs(60)), "the pidfd turns readable at exit");
        assert!(!handle.alive(), "a zombie has exited");
        child.wait().unwrap();
        assert_eq!(handle.signal(Signal::SIGTERM).unwrap_err().raw_os_error(), Some(libc::ESRCH));
        assert_eq!(ProcessHandle::open(child.id()).unwrap_err().raw_os_error(), Some(libc::ESRCH));
    }
}
