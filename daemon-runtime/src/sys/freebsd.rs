//! FreeBSD: the thread count from `sysctl(KERN_PROC_PID)`, the subreaper
//! of `procctl(PROC_REAP_ACQUIRE)`, `close_range`, signals up to 128, and
//! whether a process has a given file open. Compiled and checked against
//! freebsd-src, not yet run on a real FreeBSD.
//!
//! Whether a process has a given file open: the `kinfo_file`
//! records of `sysctl {CTL_KERN, KERN_PROC, KERN_PROC_FILEDESC, pid}`, one
//! per descriptor, compared by `kf_file_fsid` and `kf_file_fileid` (what
//! `stat` reports as `st_dev` and `st_ino`), and required to carry
//! `KF_FLAG_HASLOCK` (`flock` was called on that open file). Allocation-free;
//! compiled, not yet run on a real FreeBSD.

use std::mem::offset_of;
use std::os::fd::{BorrowedFd, RawFd};

use nix::errno::Errno;

use super::signal_table;
use crate::path::walk::Inode;

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

/// The kernel's thread count of this process: `sysctl(KERN_PROC_PID)`'s `ki_numthreads`.
pub(crate) fn threads() -> Result<usize, crate::error::Error> {
    let failed = |errno| crate::error::Error::Sys { step: crate::error::Step::Preflight, errno };
    let mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PID, nix::unistd::getpid().as_raw()];
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

/// FreeBSD has `procctl(PROC_REAP_ACQUIRE)`.
pub(crate) const SUBREAPER: bool = true;

/// Becomes (or ceases to be) the reaper of our descendants' orphans.
pub(crate) fn subreaper(on: bool) -> nix::Result<()> {
    let command = if on { libc::PROC_REAP_ACQUIRE } else { libc::PROC_REAP_RELEASE };
    let me = libc::id_t::from(std::process::id());
    // SAFETY: PROC_REAP_ACQUIRE/RELEASE take no data (null) and act on this process only.
    let res = unsafe { libc::procctl(libc::P_PID, me, command, std::ptr::null_mut()) };
    // Unlike Linux's prctl, acquiring twice fails (EBUSY) and releasing
    // what is not held too (EINVAL): both leave the state asked for.
    if res == -1 && matches!((on, Errno::last()), (true, Errno::EBUSY) | (false, Errno::EINVAL)) {
        return Ok(());
    }
    Errno::result(res).map(drop)
}

/// FreeBSD's `/dev/fd` lists only 0 to 2 unless fdescfs is mounted: it is
/// never trusted; `close_range` exists since FreeBSD 13.
pub(crate) const FD_LISTING: Option<&std::ffi::CStr> = None;

/// `close_range(2)`. Sound only under the contract of
/// [`close_inherited_fds`](crate::steps::fds::close_inherited_fds).
pub(crate) fn close_range(first: u32, last: u32) -> nix::Result<()> {
    // SAFETY: close_range only closes descriptors; the callers' contract
    // says nothing owns the ones in the range.
    let res = unsafe { libc::close_range(first, last, 0) };
    Errno::result(res).map(drop)
}

/// The highest signal number, `_SIG_MAXSIG`: 128. freebsd-src
/// `sys/sys/_sigset.h` (`#define _SIG_MAXSIG 128`, and `_SIG_VALID(sig)`
/// is `(sig) <= _SIG_MAXSIG && (sig) > 0`), which `kern_sigaction`
/// (`sys/kern/kern_sig.c`, read at 00ebd80972388cea11d0cf3af1494005f2e99e62)
/// checks first. `SIGRTMAX` is 126: 127 and 128 exist too, and can be
/// inherited ignored like any other.
pub(crate) fn last_signal() -> libc::c_int {
    128
}

/// FreeBSD's numbers of its 31 classic signals (libc's).
pub(super) const NUMBERING: [(libc::c_int, &str); 31] = signal_table::numbering!(
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGEMT, SIGFPE, SIGKILL, SIGBUS, SIGSEGV, SIGSYS,
    SIGPIPE, SIGALRM, SIGTERM, SIGURG, SIGSTOP, SIGTSTP, SIGCONT, SIGCHLD, SIGTTIN, SIGTTOU, SIGIO, SIGXCPU,
    SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGINFO, SIGUSR1, SIGUSR2,
);
const _: () = assert!(signal_table::covers(&signal_table::FREEBSD, &NUMBERING));

/// The catchable signals whose default action ends the process, less the
/// faults of the process itself: [`signal_table::FREEBSD_TERMINATING`],
/// checked there against `sigproptbl[]`. `SIGIO`, `SIGURG`, `SIGWINCH`,
/// `SIGINFO`, `SIGCHLD` and `SIGCONT` are `SIGPROP_IGNORE`, so `SIGIO` is
/// not there: a daemon that receives it runs on, and so must its pid file.
pub(crate) const TERMINATING: &[libc::c_int] =
    &signal_table::numbers(&signal_table::FREEBSD_TERMINATING, &NUMBERING);
