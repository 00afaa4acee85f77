//! A file in a walked directory, under the pid file's rules: never reached
//! through a symbolic link, never a FIFO waited for, only a regular file
//! with one link owned by the effective user, and removed only while its
//! name still names the file it was. The pid file (`steps/pidfile.rs`)
//! and `daemon-run --child-pid-file` both go through here, so that no file
//! root writes on a daemon's behalf is opened by path.

use std::ffi::CStr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{self, AtFlags, OFlag};
use nix::sys::stat::{self, FileStat, Mode, SFlag};
use nix::unistd;

use crate::error::{Error, Failure, Refusal, Step};
use crate::path::walk;
use crate::sys::{self, Inode, inode};

/// The flags root opens a name in a walked directory with, whatever the
/// access: never through a symbolic link (`O_NOFOLLOW`), never waiting on
/// a FIFO (`O_NONBLOCK`), never taking a controlling terminal
/// (`O_NOCTTY`), closed on `exec`. Said once: the pid file and its lock
/// file, the log files, `stop`'s look at them all open with these.
pub(crate) const CAREFUL: OFlag =
    OFlag::O_CLOEXEC.union(OFlag::O_NOFOLLOW).union(OFlag::O_NONBLOCK).union(OFlag::O_NOCTTY);

/// Opens the existing `name` in the walked directory `dir` with `access`
/// (`O_RDONLY`, `O_WRONLY`...) and [`CAREFUL`]; nothing is checked.
pub(crate) fn open_existing(dir: BorrowedFd<'_>, name: &CStr, access: OFlag) -> nix::Result<OwnedFd> {
    fcntl::openat(dir, name, access | CAREFUL, Mode::empty())
}

/// Opens `name` in the walked directory `dir` as the pid file is opened:
/// never through a symbolic link (`O_NOFOLLOW`, refused as one), never
/// blocking on a FIFO (`O_NONBLOCK`), close-on-exec, with `access`
/// (`O_RDONLY`, `O_RDWR`...); with `create`, a new file made with `O_EXCL`
/// (mode `0644` less the umask), else only an existing one. Then refused
/// unless a regular file with one link owned by the effective user. Returns
/// the file and its inode; an error names `path`.
///
/// # Errors
///
/// [`Error::PidFileRefused`], or [`Error::Path`] with the failed call's errno.
pub fn open_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    path: &Path,
    access: OFlag,
    create: bool,
) -> Result<(OwnedFd, Inode), Error> {
    let mut flags = access | CAREFUL;
    if create {
        flags |= OFlag::O_CREAT | OFlag::O_EXCL;
    }
    let opened = match fcntl::openat(dir, name, flags, Mode::from_bits_truncate(0o644)) {
        Ok(fd) => stat::fstat(&fd).map_err(|errno| Failure::Sys(Step::PidFile, errno)).and_then(|found| {
            refuse_unsafe(&found)?;
            Ok((fd, inode(&found)))
        }),
        Err(errno) if sys::is_symlink_refusal(errno) => Err(Failure::Refused(Refusal::SymbolicLink)),
        // A FIFO with no reader (ENXIO, opened for writing), a directory.
        Err(Errno::ENXIO | Errno::EISDIR) => Err(Failure::Refused(Refusal::NotRegular)),
        Err(errno) => Err(Failure::Sys(Step::PidFile, errno)),
    };
    opened.map_err(|failure| failure.into_error(|_| Some(path.into())))
}

/// What is at `name` in the walked directory `dir`, looked at without
/// opening or following it: its inode, or `None` when nothing is there;
/// refused as [`open_at`] would refuse it.
///
/// # Errors
///
/// As [`open_at`].
pub fn examine_at(dir: BorrowedFd<'_>, name: &CStr, path: &Path) -> Result<Option<Inode>, Error> {
    let examined = match stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(found) if walk::kind(&found) == SFlag::S_IFLNK => Err(Failure::Refused(Refusal::SymbolicLink)),
        Ok(found) => refuse_unsafe(&found).map(|()| Some(inode(&found))),
        Err(Errno::ENOENT) => Ok(None),
        Err(errno) => Err(Failure::Sys(Step::PidFile, errno)),
    };
    examined.map_err(|failure| failure.into_error(|_| Some(path.into())))
}

/// Refuses anything but a regular file with one link, owned by the
/// effective user: a file another user could have planted or linked.
pub(crate) fn refuse_unsafe(file: &FileStat) -> Result<(), Failure> {
    if walk::kind(file) != SFlag::S_IFREG {
        return Err(Failure::Refused(Refusal::NotRegular));
    }
    if file.st_nlink != 1 {
        #[allow(clippy::unnecessary_cast)] // nlink_t is u32 on some targets
        let links = file.st_nlink as u64;
        return Err(Failure::Refused(Refusal::Linked { links }));
    }
    if file.st_uid != unistd::geteuid().as_raw() {
        return Err(Failure::Refused(Refusal::Foreign { uid: file.st_uid }));
    }
    Ok(())
}

/// Removes `name` from `dir` while it still names the file `locked`. Only
/// the holder of that file's lock (or of the file's claim, for a child pid
/// file) calls it, so no one can put another file there in between (a
/// replacement needs the lock free, a creation the name free). `Ok` also
/// when the name no longer names that file: it is not ours to remove.
///
/// # Errors
///
/// The failed `fstatat` or `unlinkat`.
pub fn remove_named(dir: BorrowedFd<'_>, name: &CStr, locked: Inode) -> nix::Result<()> {
    match stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(now) if inode(&now) == locked => unistd::unlinkat(dir, name, unistd::UnlinkatFlags::NoRemoveDir),
        Ok(_) | Err(Errno::ENOENT) => Ok(()),
        Err(errno) => Err(errno),
    }
}
