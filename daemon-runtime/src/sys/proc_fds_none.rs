//! Where there is no `/proc` (macOS, FreeBSD): no descriptor of it, and no
//! listing of a process's descriptors. `lock/proc_locks.rs`, which reads
//! them, compiles everywhere but runs only where `/proc/locks` exists
//! ([`LOCKS_LISTED`](super::LOCKS_LISTED)).

use std::os::fd::{BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::stat::FileStat;

/// No `/proc` to open.
pub(crate) fn open_proc() -> std::io::Result<Option<OwnedFd>> {
    Ok(None)
}

/// No listing: `ENOSYS`.
pub(crate) fn any_fd(
    _proc: BorrowedFd<'_>,
    _pid: u32,
    _each: impl FnMut(&[u8], &FileStat) -> bool,
) -> nix::Result<bool> {
    Err(Errno::ENOSYS)
}

/// No listing: `ENOSYS`.
pub(crate) fn any_process(_proc: BorrowedFd<'_>, _each: impl FnMut(u32) -> bool) -> nix::Result<bool> {
    Err(Errno::ENOSYS)
}
