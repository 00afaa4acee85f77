//! The open descriptors of a process, as `/proc/PID/fd` lists them, read
//! without allocating through a descriptor of `/proc` (which may have been
//! opened before a chroot). Both Linux proofs of a lock holder search them:
//! `lock/proc_locks.rs` with each descriptor's `fdinfo`, the portable proof
//! (`lock/probe.rs`, under `daemon_portable`) by device and inode only
//! ([`has_open`]).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::fcntl::{self, AtFlags, OFlag};
use nix::sys::stat::{self, FileStat, Mode};

use crate::lock::pid_text::PathBuf64;

/// A descriptor of `/proc`, kept to look into it from inside a chroot.
pub(crate) fn open_proc() -> std::io::Result<Option<OwnedFd>> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    Ok(Some(fcntl::open(c"/proc", flags, Mode::empty())?))
}

/// Calls `each` with the name (its number, in decimal) and the `stat` of
/// the open file of every descriptor of process `pid`, until it returns
/// true; whether it did. `proc` is a descriptor of `/proc`.
///
/// # Errors
///
/// Opening `/proc/PID/fd`: `ENOENT` when there is no such process, `EACCES`
/// when the caller may not look (another user's process, unless root).
pub(crate) fn any_fd(
    proc: BorrowedFd<'_>,
    pid: u32,
    mut each: impl FnMut(&[u8], &FileStat) -> bool,
) -> nix::Result<bool> {
    let mut path = PathBuf64::new();
    path.push_decimal(u64::from(pid));
    path.push(b"/fd");
    let Some(path) = path.as_c_str() else { return Ok(false) };
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let fds = fcntl::openat(proc, path, flags, Mode::empty())?;
    Ok(each_number(fds.as_fd(), usize::MAX, |name| {
        let mut entry = PathBuf64::new();
        entry.push(name);
        let Some(entry_c) = entry.as_c_str() else { return false };
        // Following the magic link stats the open file itself.
        stat::fstatat(&fds, entry_c, AtFlags::empty()).is_ok_and(|target| each(name, &target))
    }))
}

/// The most processes [`any_process`] looks at: far more than a machine
/// runs, so that a scan is bounded whatever `/proc` lists.
pub(crate) const MAX_PROCESSES: usize = 1 << 20;

/// Calls `each` with the pid of every process `/proc` lists (at most
/// [`MAX_PROCESSES`]), until it returns true; whether it did.
/// Allocation-free (a buffer on the stack), so the daemon may call it
/// between the forks.
///
/// # Errors
///
/// Opening `/proc` as a directory.
pub(crate) fn any_process(proc: BorrowedFd<'_>, mut each: impl FnMut(u32) -> bool) -> nix::Result<bool> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let listing = fcntl::openat(proc, c".", flags, Mode::empty())?;
    Ok(each_number(listing.as_fd(), MAX_PROCESSES, |name| {
        crate::lock::pid_text::parse_decimal(name)
            .and_then(|pid| u32::try_from(pid).ok())
            .is_some_and(&mut each)
    }))
}

/// Calls `each` with every all-digit name of the directory `dir` (at most
/// `most` of them) until it returns true; whether it did. `getdents64`
/// into a buffer on the stack: nix has no allocation-free directory reader.
fn each_number(dir: BorrowedFd<'_>, most: usize, mut each: impl FnMut(&[u8]) -> bool) -> bool {
    let mut buf = [0u8; 4096];
    let mut seen = 0;
    loop {
        // SAFETY: getdents64 writes at most `buf.len()` bytes of records into
        // the buffer we own.
        let len =
            unsafe { libc::syscall(libc::SYS_getdents64, dir.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
        if len <= 0 {
            return false;
        }
        let mut at = 0;
        while at < len as usize {
            // struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name.
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            let name = &buf[at + 19..at + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            at += reclen;
            if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
                continue;
            }
            if seen == most {
                return false;
            }
            seen += 1;
            if each(name) {
                return true;
            }
        }
    }
}

/// Whether process `pid` has the file `file` open on a descriptor other
/// than `skip`, by device and inode: what macOS and FreeBSD answer by
/// their own means (`macos.rs`, `freebsd.rs`), so that the portable proof
/// (`lock/probe.rs`) runs in Linux's tests under `daemon_portable`. `None`
/// when that cannot be told (no `/proc`, or the process is another user's).
/// Allocation-free.
pub(crate) fn has_open(
    proc: Option<BorrowedFd<'_>>,
    pid: u32,
    file: crate::sys::Inode,
    skip: Option<std::os::fd::RawFd>,
) -> Option<bool> {
    let proc = proc?;
    let skipped = |name: &[u8]| {
        skip.is_some_and(|fd| crate::lock::pid_text::parse_decimal(name) == u64::try_from(fd).ok())
    };
    match any_fd(proc, pid, |name, target| crate::sys::inode(target) == file && !skipped(name)) {
        Ok(found) => Some(found),
        Err(nix::errno::Errno::ENOENT | nix::errno::Errno::ESRCH) => Some(false), // no such process
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn our_own_descriptors_are_listed_with_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        std::fs::write(&path, "").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let ino = std::fs::metadata(&path).unwrap().ino();
        let proc = fcntl::open(c"/proc", OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        let number = file.as_raw_fd().to_string();
        let mut seen = None;
        let found = any_fd(proc.as_fd(), std::process::id(), |name, target| {
            #[allow(clippy::unnecessary_cast)] // ino_t differs across targets
            let hit = target.st_ino as u64 == ino;
            if hit {
                seen = Some(name.to_vec());
            }
            hit
        });
        assert_eq!(found, Ok(true));
        assert_eq!(seen.as_deref(), Some(number.as_bytes()));
        assert_eq!(any_fd(proc.as_fd(), u32::MAX >> 1, |_, _| true), Err(nix::errno::Errno::ENOENT));
    }
}
