//! Process descriptors (`pidfd_open(2)`, `pidfd_send_signal(2)`): the
//! proof that a signal reaches the process that was checked, not whatever
//! reused its pid. nix has no wrappers.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
#[cfg(target_os = "linux")]
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// `pidfd_open(2)`: a descriptor that names process `pid` for as long as
/// it is held, whatever the pid is reused for afterwards.
#[cfg(target_os = "linux")]
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor
    // or -1; nix has no wrapper.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just returned to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `pidfd_send_signal(2)`: `signal` (0 to ask whether it lives) to the process
/// `pidfd` names, whatever its pid has become. Allocation-free.
#[cfg(target_os = "linux")]
pub(crate) fn pidfd_signal(pidfd: &OwnedFd, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: a valid pidfd, a signal number, no siginfo (null), no flags.
    let res = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if res < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Without pidfds a process cannot be pinned: nothing is signalled.
#[cfg(not(target_os = "linux"))]
pub(crate) fn pidfd_signal(_pidfd: &OwnedFd, _signal: libc::c_int) -> io::Result<()> {
    Err(crate::holder::unsupported())
}

/// Waits until `deadline` for the process `pidfd` names to exit: a pidfd
/// becomes readable at once when it does (reaped or not), so no polling of
/// `/proc` is needed. False at the deadline.
pub(crate) fn exited_by(pidfd: &OwnedFd, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX)) {
            Ok(0) if left.is_zero() => return false,
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) => return true,
            Err(_) => return false,
        }
    }
}
