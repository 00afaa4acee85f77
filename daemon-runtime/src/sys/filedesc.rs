//! FreeBSD's open-files listing of a process, `sysctl {CTL_KERN, KERN_PROC,
//! KERN_PROC_FILEDESC, pid}`, read whole: the sizing and the record scan,
//! kept free of FreeBSD's calls (the `sysctl` comes in as a function) so
//! that Linux's tests run them. `freebsd.rs` gives the real `sysctl`.
//! Allocation-free: a buffer on the caller's stack first, then anonymous
//! `mmap` pages (a system call, not the allocator), as a daemon may run it
//! between the forks.
//!
//! What the kernel does (freebsd-src `sys/kern/kern_descrip.c`, the newest
//! version the index holds, id 54507068; `sys/kern/kern_sysctl.c`):
//! - `sysctl_kern_proc_filedesc` sets `maxlen = req->oldptr != NULL ?
//!   req->oldlen : -1` and exports one record per descriptor;
//!   `export_kinfo_to_sb` returns `ENOMEM` before a record that does not fit
//!   (`if (efbuf->remainder < kif->kf_structsize) return (ENOMEM);`), so no
//!   record is ever cut, and the whole ones before it are still drained to
//!   the caller (`sbuf_finish`).
//! - `sys___sysctl` copies the length out on `ENOMEM` too (`if (error &&
//!   error != ENOMEM) return (error);`): the call fails with `ENOMEM` and
//!   `*oldlenp` is the size of the whole records delivered. A success means
//!   the listing is complete.
//! - A null `oldp` runs the same export unlimited and copies nothing: the
//!   exact size at that instant, which can grow before the next call (more
//!   descriptors, longer paths); libutil's `kinfo_getfile` adds a third.
//!
//! Until issue 22 the buffer was 32 KiB and `ENOMEM` meant "cannot tell":
//! a daemon with some 85 descriptors or more was never found, so `status`
//! said stale and `stop` did nothing while it ran on.

use std::os::fd::RawFd;
use std::ptr::{self, NonNull};

use nix::errno::Errno;

use crate::sys::Inode;

/// `struct kinfo_file` (`<sys/user.h>`, FreeBSD 12 and later), whose union
/// libc keeps private: the offsets read, checked against libc's layout in
/// `freebsd.rs`. The union follows `kf_offset` (at 24); in its `kf_file`
/// member, `kf_file_type`, a spare `int[3]` and `uint64_t[30]` come before
/// `kf_file_fsid`, `kf_file_rdev` and `kf_file_fileid`.
pub(crate) mod layout {
    pub(crate) const STRUCTSIZE: usize = 0;
    pub(crate) const TYPE: usize = 4;
    pub(crate) const FD: usize = 8;
    pub(crate) const FLAGS: usize = 16;
    pub(crate) const UNION: usize = 32;
    pub(crate) const FSID: usize = UNION + 4 + 3 * 4 + 30 * 8;
    pub(crate) const FILEID: usize = FSID + 16;
    /// Everything up to `kf_path`: the smallest record.
    pub(crate) const PATH: usize = 368;
    /// `KINFO_FILE_SIZE`: the largest record.
    pub(crate) const SIZE: usize = 1392;
    /// `KF_TYPE_VNODE` and `KF_FLAG_HASLOCK` (`<sys/user.h>`).
    pub(crate) const TYPE_VNODE: i32 = 1;
    pub(crate) const FLAG_HASLOCK: i32 = 0x80;
}

/// How many times a listing that outgrew its buffer is read again, into
/// twice the room each time.
const TRIES: usize = 4;

/// What one read of the listing gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// Every record, this many bytes of them (or, asked with no buffer,
    /// the size they take).
    Complete(usize),
    /// `ENOMEM`: the whole records that fit, this many bytes of them.
    Partial(usize),
}

/// Reads the listing with `sysctl` (given a buffer to fill, or none to ask
/// the size) until `found` says yes or has seen every record: first into
/// `stack`; when that is too small, into mapped pages sized by a size query
/// plus a third, doubled while the listing keeps outgrowing them. A partial
/// read that `found` says yes to is enough: a record is never cut.
///
/// # Errors
///
/// `sysctl`'s error, or `ENOMEM` when the listing still outgrew its buffer
/// after [`TRIES`] reads, or when no pages could be mapped.
pub(crate) fn search(
    mut sysctl: impl FnMut(Option<&mut [u8]>) -> Result<Read, Errno>,
    stack: &mut [u8],
    mut found: impl FnMut(&[u8]) -> bool,
) -> Result<bool, Errno> {
    let got = sysctl(Some(&mut *stack))?;
    if let Some(answer) = answer(got, stack, &mut found) {
        return Ok(answer);
    }
    let (Read::Complete(need) | Read::Partial(need)) = sysctl(None)?;
    let mut want = need.checked_add(need / 3).and_then(|want| want.checked_add(layout::SIZE));
    for _ in 0..TRIES {
        let mut pages = want.and_then(Pages::new).ok_or(Errno::ENOMEM)?;
        let got = sysctl(Some(pages.bytes()))?;
        if let Some(answer) = answer(got, pages.bytes(), &mut found) {
            return Ok(answer);
        }
        want = want.and_then(|want| want.checked_mul(2));
    }
    Err(Errno::ENOMEM)
}

/// What one read says: `found`'s word on a complete listing, a yes among
/// the records that fit, or nothing yet.
fn answer(got: Read, buf: &[u8], found: &mut impl FnMut(&[u8]) -> bool) -> Option<bool> {
    match got {
        Read::Complete(len) => Some(found(&buf[..len.min(buf.len())])),
        Read::Partial(len) => found(&buf[..len.min(buf.len())]).then_some(true),
    }
}

/// Whether the records of `bytes` (whole records, as the kernel packs them)
/// hold a vnode on `file`, flagged `KF_FLAG_HASLOCK`, at a descriptor other
/// than `skip`. Records with a negative `kf_fd` (the working and root
/// directories, the jail, the text, the terminal, the trace file) are not
/// descriptors and are skipped.
pub(crate) fn scan(bytes: &[u8], file: Inode, skip: Option<RawFd>) -> bool {
    let mut at = 0;
    while let Some(size) = int(bytes, at + layout::STRUCTSIZE).and_then(|size| usize::try_from(size).ok()) {
        let Some(record) = bytes.get(at..at + size).filter(|_| size >= layout::PATH) else { break };
        at += size;
        let vnode = int(record, layout::TYPE) == Some(layout::TYPE_VNODE);
        let Some(fd) = int(record, layout::FD) else { continue };
        let flags = int(record, layout::FLAGS).unwrap_or(0);
        if !vnode || fd < 0 || Some(fd) == skip || flags & layout::FLAG_HASLOCK == 0 {
            continue;
        }
        if (long(record, layout::FSID), long(record, layout::FILEID)) == (Some(file.0), Some(file.1)) {
            return true;
        }
    }
    false
}

fn int(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn long(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

/// Anonymous pages from `mmap(2)`, unmapped when dropped: no allocator, so
/// usable between the forks. Fresh pages are faulted in as the kernel
/// writes them: `KERN_PROC_FILEDESC` does not wire the caller's buffer,
/// and `export_file_to_sb` drops the descriptor table's lock around the
/// copy (kern_descrip.c).
struct Pages {
    start: NonNull<u8>,
    len: usize,
}

impl Pages {
    /// At least `want` bytes, whole pages.
    fn new(want: usize) -> Option<Pages> {
        // SAFETY: sysconf reads a constant of the system.
        let page =
            usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok().filter(|&page| page > 0)?;
        let len = want.max(1).checked_next_multiple_of(page)?;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANON;
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        // SAFETY: a new private anonymous mapping, placed by the kernel: no
        // memory of ours is touched.
        let start = unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, -1, 0) };
        if start == libc::MAP_FAILED {
            return None;
        }
        Some(Pages { start: NonNull::new(start.cast())?, len })
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `len` bytes mapped readable and writable by `new`, owned by
        // `self` and unmapped only on drop; borrowed mutably once at a time.
        unsafe { std::slice::from_raw_parts_mut(self.start.as_ptr(), self.len) }
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: the mapping `new` made, unmapped once; no slice of it
        // outlives `self`.
        unsafe { libc::munmap(self.start.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: Inode = (0x1234, 99);

    /// One packed record: a descriptor `fd` of `kind`, with `flags`, on the
    /// file `(fsid, fileid)`, its path `path_len` bytes long.
    fn record(fd: i32, kind: i32, flags: i32, file: Inode, path_len: usize) -> Vec<u8> {
        let size = (layout::PATH + path_len + 1).next_multiple_of(8);
        let mut bytes = vec![0u8; size];
        bytes[layout::STRUCTSIZE..][..4].copy_from_slice(&(size as i32).to_ne_bytes());
        bytes[layout::TYPE..][..4].copy_from_slice(&kind.to_ne_bytes());
        bytes[layout::FD..][..4].copy_from_slice(&fd.to_ne_bytes());
        bytes[layout::FLAGS..][..4].copy_from_slice(&flags.to_ne_bytes());
        bytes[layout::FSID..][..8].copy_from_slice(&file.0.to_ne_bytes());
        bytes[layout::FILEID..][..8].copy_from_slice(&file.1.to_ne_bytes());
        bytes[layout::PATH..][..path_len].fill(b'x');
        bytes
    }

    fn locked(fd: i32, file: Inode) -> Vec<u8> {
        record(fd, layout::TYPE_VNODE, layout::FLAG_HASLOCK, file, 40)
    }

    fn other(fd: i32) -> Vec<u8> {
        record(fd, layout::TYPE_VNODE, 0, (7, fd as u64), 200)
    }

    #[test]
    fn the_scan_finds_only_a_locked_vnode_of_the_file_at_a_real_descriptor() {
        let found = |records: &[Vec<u8>], skip| scan(&records.concat(), FILE, skip);
        assert!(found(&[other(0), locked(3, FILE)], None));
        assert!(!found(&[locked(3, FILE)], Some(3)), "the caller's own probe");
        assert!(!found(&[locked(-1, FILE)], None), "the working directory, not a descriptor");
        assert!(!found(&[record(3, layout::TYPE_VNODE, 0, FILE, 40)], None), "flock never called");
        assert!(!found(&[record(3, 2, layout::FLAG_HASLOCK, FILE, 40)], None), "not a vnode");
        assert!(!found(&[locked(3, (0x1234, 98))], None), "another file");
        // A cut record is not read, nor anything after a size of 0.
        let cut = [other(0), locked(3, FILE)].concat();
        assert!(!scan(&cut[..cut.len() - 1], FILE, None));
        assert!(!scan(&[vec![0u8; 8], locked(3, FILE)].concat(), FILE, None));
    }

    /// A process's descriptor table as the kernel exports it: `grow(n)`
    /// more descriptors are opened after each call, when `n` are, as a busy
    /// daemon does.
    struct Kernel {
        records: Vec<Vec<u8>>,
        grow: fn(usize) -> usize,
        calls: Vec<Option<usize>>,
    }

    impl Kernel {
        fn new(records: Vec<Vec<u8>>, grow: fn(usize) -> usize) -> Kernel {
            Kernel { records, grow, calls: Vec::new() }
        }

        /// `sysctl(KERN_PROC_FILEDESC)`: as `sys___sysctl` and
        /// `export_kinfo_to_sb` answer.
        fn sysctl(&mut self, buf: Option<&mut [u8]>) -> Result<Read, Errno> {
            self.calls.push(buf.as_ref().map(|buf| buf.len()));
            let answer = match buf {
                None => Read::Complete(self.records.iter().map(Vec::len).sum()),
                Some(buf) => {
                    let mut len = 0;
                    let mut whole = true;
                    for record in &self.records {
                        if buf.len() - len < record.len() {
                            whole = false;
                            break;
                        }
                        buf[len..len + record.len()].copy_from_slice(record);
                        len += record.len();
                    }
                    if whole { Read::Complete(len) } else { Read::Partial(len) }
                }
            };
            for _ in 0..(self.grow)(self.records.len()) {
                let fd = self.records.len() as i32;
                self.records.insert(3, other(fd));
            }
            Ok(answer)
        }

        fn search(&mut self, stack: usize) -> Result<bool, Errno> {
            let mut stack = vec![0u8; stack];
            search(|buf| self.sysctl(buf), &mut stack, |records| scan(records, FILE, None))
        }
    }

    /// `count` unrelated descriptors, then the locked pid file.
    fn busy(count: usize) -> Vec<Vec<u8>> {
        let mut records: Vec<Vec<u8>> = (0..count as i32).map(other).collect();
        records.push(locked(count as i32, FILE));
        records
    }

    #[test]
    fn a_listing_the_stack_holds_is_read_once() {
        let mut kernel = Kernel::new(busy(10), |_| 0);
        assert_eq!(kernel.search(32 * 1024), Ok(true));
        assert_eq!(kernel.calls, [Some(32 * 1024)]);
        let mut kernel = Kernel::new(busy(10)[..10].to_vec(), |_| 0);
        assert_eq!(kernel.search(32 * 1024), Ok(false), "complete: a miss is an answer");
    }

    #[test]
    fn a_busy_daemon_is_found_past_what_the_stack_holds() {
        // 300 descriptors of ~600 bytes: some 180 KiB, the lock at the end.
        let mut kernel = Kernel::new(busy(300), |_| 0);
        assert_eq!(kernel.search(32 * 1024), Ok(true));
        assert_eq!(kernel.calls.len(), 3, "stack, size, pages: {:?}", kernel.calls);
        let mut kernel = Kernel::new(busy(300)[..300].to_vec(), |_| 0);
        assert_eq!(kernel.search(32 * 1024), Ok(false), "read whole: a miss is an answer");
    }

    #[test]
    fn a_lock_among_the_records_that_fit_needs_no_second_read() {
        let mut records = busy(300);
        records.rotate_right(1); // the pid file first
        let mut kernel = Kernel::new(records, |_| 0);
        assert_eq!(kernel.search(32 * 1024), Ok(true));
        assert_eq!(kernel.calls, [Some(32 * 1024)]);
    }

    #[test]
    fn a_listing_that_grows_between_the_calls_is_read_again_larger() {
        // 300 descriptors opened after each call: more than the third added.
        let mut kernel = Kernel::new(busy(300), |_| 300);
        assert_eq!(kernel.search(32 * 1024), Ok(true));
        assert!(kernel.calls.len() > 3, "read again: {:?}", kernel.calls);
    }

    #[test]
    fn a_listing_that_outgrows_every_buffer_cannot_be_told() {
        // Tripled after each call: faster than the doubled buffer.
        let mut kernel = Kernel::new(busy(10), |n| 2 * n);
        assert_eq!(kernel.search(4096), Err(Errno::ENOMEM));
        assert_eq!(kernel.calls.len(), 2 + TRIES);
    }

    #[test]
    fn the_kernels_refusal_is_passed_on() {
        let mut stack = [0u8; 64];
        let refused = search(|_| Err(Errno::EPERM), &mut stack, |_| true);
        assert_eq!(refused, Err(Errno::EPERM));
    }
}
