//! Whether a process has a given file open, on Linux under `--cfg
//! daemon_portable`: the entries of `/proc/PID/fd`, followed and stat'ed
//! (`proc_fds.rs`), compared by device and inode. This is what macOS
//! (`open_files_macos.rs`) and FreeBSD (`open_files_freebsd.rs`) answer by
//! their own means, so that the portable proof runs in Linux's tests.

use std::os::fd::{BorrowedFd, RawFd};

use nix::errno::Errno;

use crate::proc_fds;
use crate::resolve::{Inode, inode};

/// Whether process `pid` has the file `file` open on a descriptor other
/// than `skip`: `None` when that cannot be told (no `/proc`, or the process
/// is another user's). Allocation-free.
pub(crate) fn has_open(
    proc: Option<BorrowedFd<'_>>,
    pid: u32,
    file: Inode,
    skip: Option<RawFd>,
) -> Option<bool> {
    let proc = proc?;
    let skipped = |name: &[u8]| skip.is_some_and(|fd| name.iter().try_fold(0i32, digit) == Some(fd));
    match proc_fds::any_fd(proc, pid, |name, target| inode(target) == file && !skipped(name)) {
        Ok(found) => Some(found),
        Err(Errno::ENOENT | Errno::ESRCH) => Some(false), // no such process
        Err(_) => None,
    }
}

/// One more decimal digit of a descriptor number (its name in `/proc/PID/fd`).
fn digit(fd: i32, byte: &u8) -> Option<i32> {
    fd.checked_mul(10)?.checked_add(i32::from(byte.checked_sub(b'0')?))
}
