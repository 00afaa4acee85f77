//! FreeBSD: the thread count from `sysctl(KERN_PROC_PID)`, the subreaper
//! of `procctl(PROC_REAP_ACQUIRE)`, `close_range`, signals up to 128, and
//! whether a process has a given file open. Compiled and checked against
//! freebsd-src, not yet run on a real FreeBSD.
//!
//! Whether a process has a given file open: the `kinfo_file` records of
//! `sysctl {CTL_KERN, KERN_PROC, KERN_PROC_FILEDESC, pid}`, one per
//! descriptor, read whole (`filedesc.rs`, which Linux's tests run),
//! compared by `kf_file_fsid` and `kf_file_fileid` (what `stat` reports as
//! `st_dev` and `st_ino`), and required to carry `KF_FLAG_HASLOCK`.
//! Allocation-free.

use std::mem::offset_of;
use std::os::fd::{BorrowedFd, RawFd};
use std::ptr;

use nix::errno::Errno;

use super::filedesc::{self, Read, layout};
use super::signal_table;
use crate::sys::Inode;

/// The first buffer, on the stack: most daemons' records fit (a record is
/// 368 bytes and its path, rounded to 8).
const STACK_BUF: usize = 32 * 1024;

// The layout `filedesc.rs` reads, as libc has it.
const _: () = assert!(size_of::<libc::kinfo_file>() == layout::SIZE);
const _: () = assert!(offset_of!(libc::kinfo_file, kf_structsize) == layout::STRUCTSIZE);
const _: () = assert!(offset_of!(libc::kinfo_file, kf_type) == layout::TYPE);
const _: () = assert!(offset_of!(libc::kinfo_file, kf_fd) == layout::FD);
const _: () = assert!(offset_of!(libc::kinfo_file, kf_flags) == layout::FLAGS);
const _: () = assert!(offset_of!(libc::kinfo_file, kf_offset) + 8 == layout::UNION);
// The union is 304 bytes, and the fields read lie inside it.
const _: () = assert!(offset_of!(libc::kinfo_file, kf_status) == layout::UNION + 304);
const _: () = assert!(layout::FILEID + 8 <= layout::UNION + 304);
const _: () = assert!(offset_of!(libc::kinfo_file, kf_path) == layout::PATH);
const _: () = assert!(libc::KF_TYPE_VNODE == layout::TYPE_VNODE);
const _: () = assert!(libc::KF_FLAG_HASLOCK == layout::FLAG_HASLOCK);

/// The records' first buffer, aligned as the kernel aligns them.
#[repr(C, align(8))]
struct Records([u8; STACK_BUF]);

/// Whether process `pid` has the file `file` open, with `KF_FLAG_HASLOCK`,
/// on a descriptor other than `skip`: `None` when that cannot be told.
///
/// `KF_FLAG_HASLOCK` is `FHASLOCK` of the open file (`xlate_fflags`,
/// kern_descrip.c), which `sys_flock` sets *before* it asks for the lock
/// and clears only on `LOCK_UN`: it proves that `flock` was called on that
/// open file description and not undone, not that a lock is held. With
/// the caller's own probe (someone holds the exclusive lock) and the pid
/// written in the file, it is strong evidence, not proof.
///
/// The kernel's answer (`sysctl_kern_proc_filedesc`: `pget(pid,
/// PGET_CANDEBUG | PGET_NOTWEXIT)`, then `p_candebug`, kern_prot.c):
/// `ESRCH` for no such process (or one exiting), and also for one hidden
/// by `security.bsd.see_other_uids`/`see_other_gids`/`see_jail_proc`
/// ([`esrch_is_ambiguous`]); `EPERM` for another user's, a set-id one, or
/// with `security.bsd.unprivileged_proc_debug=0`; `EBUSY` during its
/// `execve`. Only an unambiguous `ESRCH` is "not open".
pub(crate) fn has_open(
    _proc: Option<BorrowedFd<'_>>,
    pid: u32,
    file: Inode,
    skip: Option<RawFd>,
) -> Option<bool> {
    let pid = libc::c_int::try_from(pid).ok()?;
    let mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_FILEDESC, pid];
    let mut records = Records([0; STACK_BUF]);
    let listed = filedesc::search(
        |buf| filedesc_sysctl(&mib, buf),
        &mut records.0,
        |records| filedesc::scan(records, file, skip),
    );
    match listed {
        Ok(found) => Some(found),
        Err(Errno::ESRCH) if !esrch_is_ambiguous() => Some(false),
        Err(_) => None,
    }
}

/// One `sysctl` of the name `mib`: into `buf`, or (with none) its size.
fn filedesc_sysctl(mib: &[libc::c_int; 4], buf: Option<&mut [u8]>) -> Result<Read, Errno> {
    let filling = buf.is_some();
    let (old, mut len) = match buf {
        Some(buf) => (buf.as_mut_ptr().cast(), buf.len()),
        None => (ptr::null_mut(), 0),
    };
    // SAFETY: a four-entry name we own; `old` is null (the size is stored
    // in `len`) or `len` writable bytes we own, of which the kernel writes
    // at most `len`, storing how many it wrote in `len`.
    let res = unsafe { libc::sysctl(mib.as_ptr(), 4, old, &mut len, ptr::null(), 0) };
    match (res, Errno::last()) {
        (0, _) => Ok(Read::Complete(len)),
        (_, Errno::ENOMEM) if filling => Ok(Read::Partial(len)),
        (_, errno) => Err(errno),
    }
}

/// Whether `open(O_NOFOLLOW)` failed with `errno` because the name is a
/// symbolic link: `EMLINK` on FreeBSD, not `ELOOP`. freebsd-src
/// `sys/kern/vfs_vnops.c` `vn_open_vnode` (index id 92818271): `if
/// (vp->v_type == VLNK) { if ((fmode & O_PATH) == 0 || (fmode & FEXEC) !=
/// 0) return (EMLINK); }`, the only `EMLINK` of `vn_open_cred` and
/// `vn_open_vnode` (pjdfstest `open/16.t` expects it on FreeBSD). `ELOOP`
/// still comes from a loop of links on the way.
pub(crate) fn is_symlink_refusal(errno: Errno) -> bool {
    matches!(errno, Errno::EMLINK | Errno::ELOOP)
}

/// Whether `ESRCH` about a pid can mean a live process this caller may not
/// see, rather than none. `p_cansee` and `p_candebug` (freebsd-src
/// `sys/kern/kern_prot.c`, index id 369545824) answer `ESRCH` through
/// `cr_bsd_visible` when `security.bsd.see_other_uids`, `see_other_gids`
/// or `see_jail_proc` is 0 and the caller lacks the privilege to see past
/// it (root has it), and the `mac_seeotheruids` policy hides the same way;
/// both a `KERN_PROC_FILEDESC` read and a kqueue `EVFILT_PROC` registration
/// (`filt_procattach` in `sys/kern/kern_event.c`: `pfind_any`, then
/// `p_cansee`) go through them. A jail alone (`prison_check`) is not taken
/// as ambiguous: a process outside the caller's jail cannot be the daemon
/// of a pid file inside it, short of a shared mount. Allocation-free.
pub(crate) fn esrch_is_ambiguous() -> bool {
    if nix::unistd::geteuid().is_root() {
        return false;
    }
    let off = |name: &std::ffi::CStr| sysctl_int(name) == Some(0);
    off(c"security.bsd.see_other_uids")
        || off(c"security.bsd.see_other_gids")
        || off(c"security.bsd.see_jail_proc")
        || sysctl_int(c"security.mac.seeotheruids.enabled") == Some(1)
}

/// An integer `sysctl` by name; `None` when there is none.
fn sysctl_int(name: &std::ffi::CStr) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>();
    // SAFETY: a NUL-terminated name; `len` writable bytes of `value`.
    let res = unsafe { libc::sysctlbyname(name.as_ptr(), (&raw mut value).cast(), &mut len, ptr::null(), 0) };
    (res == 0 && len == size_of::<libc::c_int>()).then_some(value)
}

/// The kernel's thread count of this process: `sysctl(KERN_PROC_PID)`'s `ki_numthreads`.
pub(crate) fn threads() -> Result<usize, crate::error::Error> {
    let failed = |errno| crate::error::Error::Sys {
        step: crate::error::Step::Preflight,
        errno: crate::error::errno::Errno::of(errno),
    };
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

/// Whether [`subreaper`] made this process the reaper, and so may undo it.
static ACQUIRED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Becomes (or ceases to be) the reaper of our descendants' orphans;
/// ceasing undoes only what this function did.
///
/// freebsd-src `sys/kern/kern_procctl.c` (index id 76608141): `reap_acquire`
/// fails with `EBUSY` when the process is a reaper already (`if
/// ((p->p_treeflag & P_TREE_REAPER) != 0) return (EBUSY);`), and
/// `reap_release` with `EINVAL` when it is not; releasing calls
/// `reaper_abandon_children`, which hands the whole subtree to the next
/// reaper up. So a program that was a reaper before the start keeps the
/// role, and its orphans, after a failed one. Only processes forked after
/// the acquire are reaped by us ("We do not reattach existing children"):
/// the start acquires right before its fork.
pub(crate) fn subreaper(on: bool) -> nix::Result<()> {
    use std::sync::atomic::Ordering;
    if !on && !ACQUIRED.swap(false, Ordering::SeqCst) {
        return Ok(()); // not ours to release
    }
    let command = if on { libc::PROC_REAP_ACQUIRE } else { libc::PROC_REAP_RELEASE };
    let me = libc::id_t::from(std::process::id());
    // SAFETY: PROC_REAP_ACQUIRE/RELEASE take no data (null, as
    // `procctl_cmds_info` requires) and act on this process only.
    let res = unsafe { libc::procctl(libc::P_PID, me, command, std::ptr::null_mut()) };
    match (res, on) {
        (0, true) => {
            ACQUIRED.store(true, Ordering::SeqCst);
            Ok(())
        }
        (0, false) => Ok(()),
        // A reaper already: the program's own role, kept, not ours.
        (_, true) if Errno::last() == Errno::EBUSY => Ok(()),
        // Released already: the state asked for.
        (_, false) if Errno::last() == Errno::EINVAL => Ok(()),
        _ => Err(Errno::last()),
    }
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

/// FreeBSD's numbers of its 31 classic signals (libc's): the BSD names, shared with
/// the other BSD (`signal_table::BSD_NUMBERING`).
pub(super) use signal_table::BSD_NUMBERING as NUMBERING;
const _: () = assert!(signal_table::covers(&signal_table::FREEBSD, &NUMBERING));

/// The catchable signals whose default action ends the process, less the
/// faults of the process itself: [`signal_table::FREEBSD_TERMINATING`],
/// checked there against `sigproptbl[]`. `SIGIO`, `SIGURG`, `SIGWINCH`,
/// `SIGINFO`, `SIGCHLD` and `SIGCONT` are `SIGPROP_IGNORE`, so `SIGIO` is
/// not there: a daemon that receives it runs on, and so must its pid file.
pub(crate) const TERMINATING: &[libc::c_int] =
    &signal_table::numbers(&signal_table::FREEBSD_TERMINATING, &NUMBERING);

/// In a forked child: asks for `signal` when the parent dies. One system
/// call, no allocation: async-signal-safe.
///
/// freebsd-src `sys/kern/kern_procctl.c` (index id 76608141),
/// `pdeathsig_ctl`: `signum = *(int *)data; if (p != td->td_proc || …)
/// return (EINVAL); p->p_pdeathsig = signum;`: the calling process only
/// (`P_PID`, 0), one `int` read from `data`.
pub fn parent_death_signal(signal: nix::sys::signal::Signal) {
    let mut number = signal as libc::c_int;
    // SAFETY: PROC_PDEATHSIG_CTL on the calling process (P_PID, 0) reads
    // one `int`, the signal number, from `data`, which points to `number`.
    unsafe { libc::procctl(libc::P_PID, 0, libc::PROC_PDEATHSIG_CTL, (&raw mut number).cast()) };
}
