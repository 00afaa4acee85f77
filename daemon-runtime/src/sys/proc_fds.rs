//! The open descriptors of a process, as `/proc/PID/fd` lists them, read
//! without allocating through a descriptor of `/proc` (which may have been
//! opened before a chroot). Both Linux proofs of a lock holder search them:
//! `proc_locks.rs` with each descriptor's `fdinfo`, the portable proof
//! (`probe.rs`, under `daemon_portable`) by device and inode only ([`has_open`]).

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::fcntl::{self, AtFlags, OFlag};
use nix::sys::stat::{self, FileStat, Mode};

/// A descriptor of `/proc`, kept to look into it from inside a chroot.
pub(crate) fn open_proc() -> std::io::Result<OwnedFd> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    Ok(fcntl::open(c"/proc", flags, Mode::empty())?)
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
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: getdents64 writes at most `buf.len()` bytes of records into
        // the buffer we own; nix has no allocation-free directory reader.
        let len = unsafe {
            libc::syscall(libc::SYS_getdents64, fds.as_fd().as_raw_fd(), buf.as_mut_ptr(), buf.len())
        };
        if len <= 0 {
            return Ok(false);
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
            let mut entry = PathBuf64::new();
            entry.push(name);
            let Some(entry_c) = entry.as_c_str() else { continue };
            // Following the magic link stats the open file itself.
            if let Ok(target) = stat::fstatat(&fds, entry_c, AtFlags::empty())
                && each(name, &target)
            {
                return Ok(true);
            }
        }
    }
}

/// A short relative path under `/proc`, built on the stack.
pub(crate) struct PathBuf64 {
    bytes: [u8; 64],
    len: usize,
}

impl PathBuf64 {
    pub(crate) fn new() -> PathBuf64 {
        PathBuf64 { bytes: [0; 64], len: 0 }
    }

    pub(crate) fn push(&mut self, text: &[u8]) {
        let room = self.bytes.len() - 1 - self.len;
        let text = &text[..text.len().min(room)];
        self.bytes[self.len..self.len + text.len()].copy_from_slice(text);
        self.len += text.len();
    }

    pub(crate) fn push_decimal(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.push(crate::lock::pid_text::decimal(n, &mut digits));
    }

    /// The path as a C string (the byte after it is always 0).
    pub(crate) fn as_c_str(&self) -> Option<&CStr> {
        CStr::from_bytes_with_nul(&self.bytes[..=self.len]).ok()
    }
}

/// Whether process `pid` has the file `file` open on a descriptor other
/// than `skip`, by device and inode: what macOS and FreeBSD answer by
/// their own means (`macos.rs`, `freebsd.rs`), so that the portable proof
/// (`probe.rs`) runs in Linux's tests under `daemon_portable`. `None` when
/// that cannot be told (no `/proc`, or the process is another user's).
/// Allocation-free.
#[cfg(linux_portable)]
pub(crate) fn has_open(
    proc: Option<BorrowedFd<'_>>,
    pid: u32,
    file: crate::path::walk::Inode,
    skip: Option<std::os::fd::RawFd>,
) -> Option<bool> {
    let proc = proc?;
    let skipped = |name: &[u8]| {
        skip.is_some_and(|fd| crate::lock::pid_text::parse_decimal(name) == u64::try_from(fd).ok())
    };
    match any_fd(proc, pid, |name, target| crate::path::walk::inode(target) == file && !skipped(name)) {
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
