//! What Linux and FreeBSD share and macOS lacks: `pipe2`, `setresuid`,
//! `getgrouplist` with `gid_t`s, and `O_PATH` (FreeBSD 14).

use std::ffi::{CStr, OsString};
use std::os::fd::{BorrowedFd, OwnedFd};

use nix::fcntl::{self, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{self, Gid, Uid};

/// `pipe2(O_CLOEXEC)`: both ends close on `exec`, atomically.
#[cfg(any(linux_fast, freebsd))]
pub fn cloexec_pipe() -> nix::Result<(OwnedFd, OwnedFd)> {
    unistd::pipe2(OFlag::O_CLOEXEC)
}

/// Whether `setresuid(0, 0, 0)` succeeds: after a privilege drop, the
/// proof that it cannot bring root back.
pub(crate) fn setresuid_to_root() -> bool {
    let root = Uid::from_raw(0);
    unistd::setresuid(root, root, root).is_ok()
}

/// The user's groups from the group database, `gid` first.
pub(crate) fn group_list(name: &CStr, gid: Gid) -> nix::Result<Vec<Gid>> {
    unistd::getgrouplist(name, gid)
}

/// `setgroups`.
pub(crate) fn set_groups(groups: &[Gid]) -> nix::Result<()> {
    unistd::setgroups(groups)
}

/// Real, effective and saved ids at once: `setresgid`, then `setresuid`.
pub(crate) fn set_ids(uid: Uid, gid: Gid) -> nix::Result<()> {
    unistd::setresgid(gid, gid, gid)?;
    unistd::setresuid(uid, uid, uid)
}

/// One component, not followed if it is a symbolic link: `O_PATH` opens
/// the link itself, needs no permission on it, and cannot block on a FIFO.
pub(crate) fn open_path(dir: BorrowedFd<'_>, name: &CStr) -> nix::Result<OwnedFd> {
    fcntl::openat(dir, name, OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
}

/// The target of the symbolic link `link` is an `O_PATH` descriptor of:
/// `readlinkat` with an empty path.
pub(crate) fn read_link(link: &OwnedFd) -> nix::Result<OsString> {
    fcntl::readlinkat(link, c"")
}
