//! macOS: the thread count and open files from `proc_pidinfo`, the
//! `/dev/fd` listing, 31 signals, `setgid`/`setuid` (no `setresuid`), at
//! most 16 groups, `O_SYMLINK` and `freadlink` for the path walk.
//! Compiled and checked against xnu's source, not yet run on a real macOS.
//!
//! Whether a process has a given file open:
//! `proc_pidinfo(PROC_PIDLISTFDS)` lists its descriptors, and
//! `proc_pidfdinfo(PROC_PIDFDVNODEINFO)` gives each vnode's device and
//! inode. Allocation-free.

use std::ffi::OsString;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;

use nix::errno::Errno;
use nix::unistd::{self, Gid};

use super::signal_table;
use crate::error::{Error, Step};
use crate::sys::Inode;

/// `struct proc_fileinfo` of `<sys/proc_info.h>` (libc has no binding).
#[repr(C)]
struct ProcFileInfo {
    fi_openflags: u32,
    fi_status: u32,
    fi_offset: libc::off_t,
    fi_type: i32,
    fi_guardflags: u32,
}

/// `struct vnode_fdinfo`: what `PROC_PIDFDVNODEINFO` fills.
#[repr(C)]
struct VnodeFdInfo {
    pfi: ProcFileInfo,
    pvi: libc::vnode_info,
}

// `PROC_PIDFDVNODEINFO_SIZE`, which the kernel fills exactly: a 24-byte
// `proc_fileinfo`, then `vnode_info` (a 136-byte `vinfo_stat`, two ints, an `fsid_t`).
const _: () = assert!(size_of::<VnodeFdInfo>() == 176);

/// `<sys/proc_info.h>`: a descriptor's vnode, without its path.
const PROC_PIDFDVNODEINFO: libc::c_int = 1;

/// The most descriptors looked at. The listing is in descriptor order, and
/// a pid file's lock sits at a low one (the lowest free after stdio when
/// the daemon took it); a process with more open is not proven either way.
const MAX_FDS: usize = 1024;

/// Whether process `pid` has the file `file` open on a descriptor other
/// than `skip`: `None` when that cannot be told (another user's process,
/// or more descriptors than are looked at). `/proc` is not needed.
pub(crate) fn has_open(
    _proc: Option<BorrowedFd<'_>>,
    pid: u32,
    file: Inode,
    skip: Option<RawFd>,
) -> Option<bool> {
    let pid = libc::c_int::try_from(pid).ok()?;
    let mut fds = [libc::proc_fdinfo { proc_fd: 0, proc_fdtype: 0 }; MAX_FDS];
    let size = libc::c_int::try_from(size_of_val(&fds)).ok()?;
    // libproc returns 0 both for a failure and for no descriptors at all.
    Errno::clear();
    // SAFETY: proc_pidinfo writes at most `size` bytes of proc_fdinfo
    // records into the array we own, and returns how many it wrote.
    let filled = unsafe { libc::proc_pidinfo(pid, libc::PROC_PIDLISTFDS, 0, fds.as_mut_ptr().cast(), size) };
    if filled <= 0 {
        return match Errno::last_raw() {
            0 => Some(false),
            libc::ESRCH => Some(false), // no such process
            _ => None,                  // EPERM: another user's
        };
    }
    let count = (filled as usize / size_of::<libc::proc_fdinfo>()).min(MAX_FDS);
    let vnode = libc::PROX_FDTYPE_VNODE as u32;
    for entry in fds[..count].iter().filter(|entry| entry.proc_fdtype == vnode && Some(entry.proc_fd) != skip)
    {
        // SAFETY: all zeroes is a valid VnodeFdInfo: integers, and arrays
        // and structs of integers.
        let mut info: VnodeFdInfo = unsafe { std::mem::zeroed() };
        let info_size = size_of::<VnodeFdInfo>() as libc::c_int;
        let buffer = (&raw mut info).cast();
        // SAFETY: proc_pidfdinfo writes at most `info_size` bytes into the
        // struct we own, and returns how many it wrote.
        let got = unsafe { libc::proc_pidfdinfo(pid, entry.proc_fd, PROC_PIDFDVNODEINFO, buffer, info_size) };
        let stat = &info.pvi.vi_stat;
        // dev_t is a signed 32-bit number here: compare its bits.
        if got == info_size && (file.0 as u32, file.1) == (stat.vst_dev, stat.vst_ino) {
            return Some(true);
        }
    }
    // A listing that filled the array may have left descriptors out.
    if count == MAX_FDS { None } else { Some(false) }
}

/// Whether `open(O_NOFOLLOW)` failed with `errno` because the name is a
/// symbolic link: `ELOOP` on macOS (xnu `bsd/vfs/vfs_subr.c`
/// `vn_authorize_open_existing`, line 8315 at xnu-11417.101.15: `if
/// (vp->v_type == VLNK && (fmode & O_NOFOLLOW) != 0) return ELOOP;`).
pub(crate) fn is_symlink_refusal(errno: Errno) -> bool {
    errno == Errno::ELOOP
}

/// Whether `ESRCH` about a pid can mean a live process this caller may not
/// see: not on macOS. xnu (xnu-11417.101.15) answers `ESRCH` only when
/// `proc_find` finds no process (`bsd/kern/proc_info.c` `proc_pidinfo` and
/// `proc_pidfdinfo`; `bsd/kern/kern_event.c` `filt_procattach`, line
/// 1111); another user's process is refused with `EPERM` instead
/// (`proc_security_policy`, proc_info.c lines 3160-3175), and a plain
/// `NOTE_EXIT` watch is allowed on any process (`EACCES` only when
/// `NOTE_EXITSTATUS` is asked too, line 1117).
pub(crate) fn esrch_is_ambiguous() -> bool {
    false
}

/// The kernel's thread count of this process: `proc_pidinfo(PROC_PIDTASKINFO)`,
/// one system call; xnu (xnu-11417.101.15) `bsd/kern/proc_info.c`
/// `proc_pidtaskinfo` (line 894) fills it through `fill_taskprocinfo`:
/// `ptinfo->pti_threadnum = task->thread_count` (`osfmk/kern/bsd_kern.c`
/// line 1120).
pub(crate) fn threads() -> Result<usize, Error> {
    let failed = |errno| Error::Sys { step: Step::Preflight, errno: crate::error::errno::Errno::of(errno) };
    // SAFETY: `proc_taskinfo` is plain integers: all-zero is a valid value.
    let mut info: libc::proc_taskinfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::proc_taskinfo>() as libc::c_int;
    // SAFETY: the buffer is ours and `size` bytes long; the call writes at most that.
    let written = unsafe {
        libc::proc_pidinfo(
            unistd::getpid().as_raw(),
            libc::PROC_PIDTASKINFO,
            0,
            (&mut info as *mut libc::proc_taskinfo).cast(),
            size,
        )
    };
    if written != size {
        return Err(failed(nix::errno::Errno::last()));
    }
    usize::try_from(info.pti_threadnum).map_err(|_| failed(nix::errno::Errno::EPROTO))
}

/// `/dev/fd` lists the process's own descriptors on macOS (devfs's fdesc).
pub(crate) const FD_LISTING: Option<&std::ffi::CStr> = Some(c"/dev/fd");

/// macOS has no `close_range`: the listing is used instead.
pub(crate) fn close_range(_first: u32, _last: u32) -> nix::Result<()> {
    Err(Errno::ENOSYS)
}

/// The highest signal number: macOS has 31 and no real-time signals
/// (xnu `bsd/sys/signal.h` line 76, `#define __DARWIN_NSIG 32`; `sigaction`
/// refuses `signum >= NSIG`, `bsd/kern/kern_sig.c` `sigaction`, at
/// xnu-11417.101.15).
pub(crate) fn last_signal() -> libc::c_int {
    31
}

/// macOS's numbers of its 31 signals (libc's): the BSD names, shared with
/// the other BSD (`signal_table::BSD_NUMBERING`).
pub(super) use signal_table::BSD_NUMBERING as NUMBERING;
const _: () = assert!(signal_table::covers(&signal_table::XNU, &NUMBERING));

/// The catchable signals whose default action ends the process, less the
/// faults of the process itself: [`signal_table::XNU_TERMINATING`],
/// checked there against xnu's `sigprop[]`. `SIGIO`, `SIGURG`, `SIGWINCH`,
/// `SIGINFO`, `SIGCHLD` and `SIGCONT` are `SA_IGNORE` by default, so
/// `SIGIO` is not there: a daemon that receives it runs on, and so must
/// its pid file.
pub(crate) const TERMINATING: &[libc::c_int] =
    &signal_table::numbers(&signal_table::XNU_TERMINATING, &NUMBERING);

/// macOS has no `setresuid`; its `setgid`/`setuid` set all three ids when
/// called by root (POSIX's "appropriate privileges"), and the drop proves
/// that `setuid(0)` fails instead.
pub(crate) fn setresuid_to_root() -> bool {
    false
}

/// Real, effective and saved ids at once, as root: `setgid`, then `setuid`.
pub(crate) fn set_ids(uid: unistd::Uid, gid: Gid) -> nix::Result<()> {
    unistd::setgid(gid)?;
    unistd::setuid(uid)
}

/// The user's groups from the group database, `gid` first: at most 15,
/// so that the look-up starts no thread; a user in more is refused with
/// `EINVAL`. macOS's `getgrouplist` takes `int` ids (nix has no wrapper).
///
/// apple-oss-distributions/Libinfo (Libinfo-600,
/// 39b70c515baee5b609e7e91693edbd934b6845a1) `lookup.subproj/libinfo.c`:
/// `getgrouplist` (line 788) first calls `_check_groups("getgrouplist",
/// *ngroups)` (line 791), which returns at once only `if (ngroups > 0 &&
/// ngroups < NGROUPS_MAX)` (line 693, `NGROUPS_MAX` 16 in xnu's
/// `bsd/sys/syslimits.h` line 104); otherwise, once per process, it
/// `dispatch_async`s a log message onto a new queue (line 701): a
/// libdispatch worker thread, started after the preflight's count and
/// before the fork. `setgroups` takes at most 16 anyway, so only a user
/// in exactly 16 groups loses.
pub(crate) fn group_list(name: &std::ffi::CStr, gid: Gid) -> nix::Result<Vec<Gid>> {
    const QUIET_MAX: usize = 15;
    let mut ids = [0 as libc::c_int; QUIET_MAX];
    let mut found = QUIET_MAX as libc::c_int;
    // SAFETY: a NUL-terminated name; `found` (15) writable ints of ours,
    // of which the call writes at most that many, updating `found`.
    let res = unsafe {
        libc::getgrouplist(name.as_ptr(), gid.as_raw() as libc::c_int, ids.as_mut_ptr(), &mut found)
    };
    if res != 0 {
        return Err(Errno::EINVAL); // in more than 15 groups
    }
    let found = usize::try_from(found).unwrap_or(0).min(QUIET_MAX);
    Ok(ids[..found].iter().map(|&id| Gid::from_raw(id as libc::gid_t)).collect())
}

/// `setgroups`: macOS accepts at most `NGROUPS_MAX` (16); a user in more
/// groups fails the step with `EINVAL` rather than silently losing some.
/// The ids are copied to the stack: this runs between the forks.
pub(crate) fn set_groups(groups: &[Gid]) -> nix::Result<()> {
    const NGROUPS_MAX: usize = 16;
    let mut ids: [libc::gid_t; NGROUPS_MAX] = [0; NGROUPS_MAX];
    if groups.len() > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    for (id, group) in ids.iter_mut().zip(groups) {
        *id = group.as_raw();
    }
    // SAFETY: the call reads `groups.len()` (at most 16) ids from our array.
    let res = unsafe { libc::setgroups(groups.len() as libc::c_int, ids.as_ptr()) };
    Errno::result(res).map(drop)
}

/// One component, not followed if it is a symbolic link. A directory is
/// opened `O_SEARCH`, which needs only search (execute) permission, as
/// Linux's and FreeBSD's `O_PATH` needs none: an execute-only directory on
/// the way can be walked. Anything else (a symbolic link included) is
/// opened as before: the link itself with `O_SYMLINK`, anything else
/// read-only and non-blocking (a FIFO planted on the way must not hang the
/// start).
///
/// xnu (xnu-11417.101.15): `bsd/sys/fcntl.h` lines 185-186, `O_EXEC`
/// 0x40000000 and `O_SEARCH (O_EXEC | O_DIRECTORY)`, first in xnu-8792.41.9
/// (macOS 13); `bsd/vfs/vfs_subr.c` `vn_authorize_open_existing` (line
/// 8278) asks only `KAUTH_VNODE_SEARCH` of a directory opened so (line
/// 8371), and for a non-directory `O_DIRECTORY` gives `ENOTDIR` (line 8306)
/// before `O_NOFOLLOW` would give `ELOOP` (line 8315): a symbolic link
/// answers `ENOTDIR`. Such a descriptor serves `openat` and `fchdir`
/// (`bsd/vfs/vfs_syscalls.c` `fchdir`, line 4175: `KAUTH_VNODE_SEARCH`, no
/// `FREAD`). A kernel before macOS 13 does not know the `O_EXEC` bit; how
/// it takes it was not traced, so `EINVAL` falls back too.
pub(crate) fn open_path(dir: BorrowedFd<'_>, name: &std::ffi::CStr) -> nix::Result<OwnedFd> {
    use nix::fcntl::OFlag;
    let search = OFlag::from_bits_retain(libc::O_SEARCH) | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match nix::fcntl::openat(dir, name, search, nix::sys::stat::Mode::empty()) {
        Err(Errno::ENOTDIR | Errno::EINVAL) => {}
        other => return other,
    }
    let flags = OFlag::from_bits_retain(libc::O_SYMLINK)
        | OFlag::O_RDONLY
        | OFlag::O_NONBLOCK
        | OFlag::O_NOCTTY
        | OFlag::O_CLOEXEC;
    nix::fcntl::openat(dir, name, flags, nix::sys::stat::Mode::empty())
}

/// `freadlink`'s C type: `ssize_t freadlink(int, char *, size_t)`.
type Freadlink = unsafe extern "C" fn(libc::c_int, *mut libc::c_char, libc::size_t) -> libc::ssize_t;

/// `freadlink`, looked up once at run time: 0 not yet, 1 absent, else its
/// address.
static FREADLINK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// `freadlink` is public only from macOS 13 (xnu `bsd/sys/unistd.h` line
/// 192 at xnu-11417.101.15: `__API_AVAILABLE(macos(13.0), …)`; absent from
/// xnu-8020.240.18's). libc binds it as an ordinary import, which dyld must
/// resolve when the binary loads: every program using this crate would
/// fail to start on macOS 11 and 12, whether or not it ever meets a
/// symbolic link. Looked up with `dlsym` instead.
fn freadlink() -> Option<Freadlink> {
    use std::sync::atomic::Ordering;
    let mut address = FREADLINK.load(Ordering::Acquire);
    if address == 0 {
        // SAFETY: RTLD_DEFAULT searches every loaded image; a NUL-terminated name.
        let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"freadlink".as_ptr()) };
        address = if symbol.is_null() { 1 } else { symbol as usize };
        FREADLINK.store(address, Ordering::Release);
    }
    // SAFETY: a non-null address dlsym gave for the symbol `freadlink`,
    // whose C type is `Freadlink`'s.
    (address > 1).then(|| unsafe { std::mem::transmute::<usize, Freadlink>(address) })
}

/// The target of the symbolic link `link` is a descriptor of (opened
/// `O_SYMLINK`): `freadlink`, since macOS's `readlinkat` takes no empty
/// path (xnu's `fcntl.h` has no `AT_EMPTY_PATH`). Before macOS 13, which
/// has no `freadlink`, `ENOSYS`: a path through a symbolic link cannot be
/// walked there (see the README's platform table).
pub(crate) fn read_link(link: &OwnedFd) -> nix::Result<OsString> {
    use std::os::fd::AsRawFd;
    let freadlink = freadlink().ok_or(Errno::ENOSYS)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: the buffer is ours and `buf.len()` bytes long; the call
    // writes at most that many.
    let len = unsafe { freadlink(link.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    let len = usize::try_from(Errno::result(len)?).map_err(|_| Errno::EINVAL)?;
    if len >= buf.len() {
        return Err(Errno::ENAMETOOLONG);
    }
    buf.truncate(len);
    Ok(OsString::from_vec(buf))
}

/// No parent-death signal exists on macOS (xnu has neither `prctl` nor
/// `procctl`; `bsd/kern/kern_exit.c` `proc_exit` signals no child of the
/// exiting process): a supervisor killed by SIGKILL leaves its child
/// running.
pub fn parent_death_signal(_signal: nix::sys::signal::Signal) {}
