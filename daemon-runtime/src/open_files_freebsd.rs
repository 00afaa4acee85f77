//! Whether a process has a given file open, on FreeBSD: the `kinfo_file`
//! records of `sysctl {CTL_KERN, KERN_PROC, KERN_PROC_FILEDESC, pid}`, one
//! per descriptor, compared by `kf_file_fsid` and `kf_file_fileid` (what
//! `stat` reports as `st_dev` and `st_ino`), and required to carry
//! `KF_FLAG_HASLOCK` (`flock` was called on that open file). Allocation-free;
//! compiled, not yet run on a real FreeBSD.

use std::mem::offset_of;
use std::os::fd::{BorrowedFd, RawFd};

use nix::errno::Errno;

use crate::resolve::Inode;

/// How many bytes of records are read. The kernel packs them (a record is
/// cut after its path) and stops at the last whole one that fits; they
/// come in descriptor order, and a pid file's lock sits at a low descriptor
/// (the lowest free after stdio when the daemon took it).
const BUF: usize = 32 * 1024;

/// `struct kinfo_file` (`<sys/user.h>`, FreeBSD 12 and later): libc keeps
/// its union private, so the vnode fields are read at their offsets. The
/// union follows `kf_offset`; in its `kf_file` member, `kf_file_type` and
/// the spare `int[3]` and `uint64_t[30]` come before `kf_file_fsid`,
/// `kf_file_rdev` and `kf_file_fileid`.
const UNION: usize = offset_of!(libc::kinfo_file, kf_offset) + 8;
const FSID: usize = UNION + 4 + 3 * 4 + 30 * 8;
const FILEID: usize = FSID + 16;
/// The smallest record: everything up to its path.
const MIN_RECORD: usize = offset_of!(libc::kinfo_file, kf_path);

// The layout read above: `KINFO_FILE_SIZE`, and a 304-byte union.
const _: () = assert!(size_of::<libc::kinfo_file>() == 1392);
const _: () = assert!(offset_of!(libc::kinfo_file, kf_status) == UNION + 304 && FILEID + 8 <= UNION + 304);

/// The records' buffer, aligned as the kernel aligns them.
#[repr(C, align(8))]
struct Records([u8; BUF]);

/// Whether process `pid` has the file `file` open, with a lock, on a
/// descriptor other than `skip`: `None` when that cannot be told (another
/// user's process, or more descriptors than are read). `/proc` is not needed.
pub(crate) fn has_open(
    _proc: Option<BorrowedFd<'_>>,
    pid: u32,
    file: Inode,
    skip: Option<RawFd>,
) -> Option<bool> {
    let pid = libc::c_int::try_from(pid).ok()?;
    let mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_FILEDESC, pid];
    let mut records = Records([0; BUF]);
    let mut len = BUF;
    // SAFETY: sysctl reads the four-entry name we own, writes at most `len`
    // bytes into the buffer we own and stores how many it wrote in `len`.
    let res = unsafe {
        libc::sysctl(mib.as_ptr(), 4, records.0.as_mut_ptr().cast(), &mut len, std::ptr::null(), 0)
    };
    if res != 0 {
        return match Errno::last() {
            Errno::ESRCH => Some(false), // no such process
            _ => None,                   // EPERM: another user's
        };
    }
    let records = &records.0[..len.min(BUF)];
    let mut at = 0;
    while let Some(size) = int(records, at).and_then(|size| usize::try_from(size).ok()) {
        let Some(record) = records.get(at..at + size).filter(|_| size >= MIN_RECORD) else { break };
        at += size;
        let vnode = int(record, offset_of!(libc::kinfo_file, kf_type)) == Some(libc::KF_TYPE_VNODE);
        let fd = int(record, offset_of!(libc::kinfo_file, kf_fd));
        let flags = int(record, offset_of!(libc::kinfo_file, kf_flags)).unwrap_or(0);
        if !vnode || fd.is_none() || fd == skip || flags & libc::KF_FLAG_HASLOCK == 0 {
            continue;
        }
        if (long(record, FSID), long(record, FILEID)) == (Some(file.0), Some(file.1)) {
            return Some(true);
        }
    }
    // A listing that (nearly) filled the buffer may have left records out.
    if len + size_of::<libc::kinfo_file>() > BUF { None } else { Some(false) }
}

fn int(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn long(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}
