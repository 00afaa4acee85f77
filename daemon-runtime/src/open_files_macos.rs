//! Whether a process has a given file open, on macOS:
//! `proc_pidinfo(PROC_PIDLISTFDS)` lists its descriptors, and
//! `proc_pidfdinfo(PROC_PIDFDVNODEINFO)` gives each vnode's device and
//! inode. Allocation-free; compiled, not yet run on a real macOS.

use std::os::fd::{BorrowedFd, RawFd};

use nix::errno::Errno;

use crate::resolve::Inode;

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
