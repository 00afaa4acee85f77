//! Every path root opens on a daemon's behalf (the pid file's directory, the
//! log files, the chroot and working directories) is resolved here, once,
//! one component at a time, as systemd's `chase()` does.
//!
//! Each component is opened with `openat(O_PATH|O_NOFOLLOW)` relative to the
//! directory before it, so nothing another user renames or swaps into the
//! path afterwards is seen: what comes out is a descriptor, and everything
//! after goes through `openat`, `unlinkat`, `fstatat` and `fchdir` on it. A
//! symbolic link is followed only when root or the starting user owns it
//! and the directory holding it (`/var/run` → `/run` keeps working); one that
//! another user planted, or could have hard-linked into a directory of
//! theirs, is refused. Runs in the launcher, before the first fork.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
#[cfg(test)]
use std::path::PathBuf;
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl;
use nix::sys::stat::{self, FileStat, Mode, SFlag};
use nix::unistd;

use crate::error::{Error, Refusal, Step};

pub(crate) use crate::sys::{Inode, inode};

/// The most symbolic links one walk follows, as the kernel's `MAXSYMLINKS`.
const MAX_HOPS: usize = 40;

/// What the directories on the way must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Links owned by root or the starting user, in directories they own.
    Starter,
    /// A chroot, as sshd's `ChrootDirectory`: every directory owned by root
    /// and writable by nobody else (sticky ones, like `/tmp`, excepted:
    /// their entries cannot be renamed by others).
    RootOnly,
}

/// Why a walk stopped: the cause alone, which the caller names with the
/// path and step it walked for ([`Denied::into_error`]), or, for
/// `daemon-run --listen`, a step of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// A system call failed (`ENOTDIR` for something else than a directory
    /// on the way, `ELOOP` past 40 links, `EISDIR` for a path naming no file).
    Sys(Errno),
    /// A link or directory refused ([`Trust`]).
    Refused(Refusal),
}

impl From<Errno> for Denied {
    fn from(errno: Errno) -> Denied {
        Denied::Sys(errno)
    }
}

impl Denied {
    /// The error a start reports for `path`, configured for `step`: a
    /// refusal at [`Step::PidFile`] is [`Error::PidFileRefused`].
    pub fn into_error(self, step: Step, path: &Path) -> Error {
        let path = path.to_path_buf();
        match (self, step) {
            (Denied::Sys(errno), _) => {
                Error::Path { step, path, errno: crate::error::errno::Errno::of(errno) }
            }
            (Denied::Refused(reason), Step::PidFile) => Error::PidFileRefused { path, reason },
            (Denied::Refused(reason), _) => Error::Refused { step, path, reason },
        }
    }
}

/// The directory `path` names, as an `O_PATH` descriptor. `path` is taken
/// inside `root` when given (a chroot: absolute links and `..` stay inside
/// it), else from `/`; a relative path from the working directory. Links
/// are followed as `trust` allows.
///
/// # Errors
///
/// A refused link or directory, or the system call that failed.
///
/// ```
/// use daemon_runtime::{Step, __private::{Trust, walk_directory}};
/// let path = "/tmp".as_ref();
/// let tmp = walk_directory(path, None, Trust::Starter).map_err(|denied| denied.into_error(Step::Chdir, path))?;
/// # Ok::<(), daemon_runtime::Error>(())
/// ```
pub fn directory(path: &Path, root: Option<BorrowedFd<'_>>, trust: Trust) -> Result<OwnedFd, Denied> {
    let start = match root {
        Some(root) => fcntl::fcntl(root, fcntl::FcntlArg::F_DUPFD_CLOEXEC(0)).map(owned)?,
        None if path.is_absolute() => crate::sys::open_path(cwd(), c"/")?,
        None => crate::sys::open_path(cwd(), c".")?,
    };
    walk(start, path, trust)
}

/// The directory holding the file `path` names, walked as the pid file's is
/// ([`Trust::Starter`], inside `root` when given), and the file's name in it.
///
/// # Errors
///
/// As [`directory`]; `EISDIR` when `path` names no file.
///
/// ```
/// use daemon_runtime::__private::walk_parent;
/// let (_dir, name) = walk_parent("/tmp/d.pid".as_ref(), None).unwrap();
/// assert_eq!(name.as_c_str(), c"d.pid");
/// ```
pub fn parent(path: &Path, root: Option<BorrowedFd<'_>>) -> Result<(OwnedFd, CString), Denied> {
    let name = match path.components().next_back() {
        Some(Component::Normal(name)) => name,
        _ => return Err(Denied::Sys(Errno::EISDIR)),
    };
    let name = CString::new(name.as_bytes()).map_err(|_| Errno::EINVAL)?;
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty());
    let dir = dir.unwrap_or(if path.is_absolute() { Path::new("/") } else { Path::new(".") });
    Ok((directory(dir, root, Trust::Starter)?, name))
}

fn walk(start: OwnedFd, path: &Path, trust: Trust) -> Result<OwnedFd, Denied> {
    let euid = unistd::geteuid().as_raw();
    let start_stat = stat::fstat(&start)?;
    check_directory(&start_stat, trust)?;
    // The directories entered so far: `..` goes back one, never above the start.
    let mut stack: Vec<(OwnedFd, FileStat)> = vec![(start, start_stat)];
    // The names still to walk, the next one last (a stack: a link's target
    // goes on top, its first name last; a `Vec` is smaller code than a deque).
    let mut todo: Vec<OsString> = names(path.as_os_str()).collect();
    todo.reverse();
    let mut hops = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let (dir, dir_stat) = stack.last().expect("the start is never popped");
        let name_c = CString::new(name.into_vec()).map_err(|_| Errno::EINVAL)?;
        let fd = crate::sys::open_path(dir.as_fd(), &name_c)?;
        let found = stat::fstat(&fd)?;
        if kind(&found) == SFlag::S_IFLNK {
            hops += 1;
            if hops > MAX_HOPS {
                return Err(Denied::Sys(Errno::ELOOP));
            }
            if found.st_uid != 0 && found.st_uid != euid {
                return Err(Denied::Refused(Refusal::UntrustedSymlink { uid: found.st_uid }));
            }
            // A link of root's hard-linked into another user's directory
            // (`fs.protected_hardlinks = 0`) would lead where that user chose.
            if dir_stat.st_uid != 0 && dir_stat.st_uid != euid {
                return Err(Denied::Refused(Refusal::ForeignDirectory { uid: dir_stat.st_uid }));
            }
            let target = crate::sys::read_link(&fd)?;
            let target = target.as_os_str();
            if Path::new(target).is_absolute() {
                stack.truncate(1);
            }
            let first = todo.len();
            todo.extend(names(target));
            todo[first..].reverse();
            continue;
        }
        check_directory(&found, trust)?;
        stack.push((fd, found));
    }
    Ok(stack.pop().expect("the start is never popped").0)
}

/// The components of `path` worth walking: no root, no `.`, no empty ones.
fn names(path: &OsStr) -> impl Iterator<Item = OsString> + '_ {
    Path::new(path).components().filter_map(|component| match component {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

fn check_directory(found: &FileStat, trust: Trust) -> Result<(), Denied> {
    if kind(found) != SFlag::S_IFDIR {
        return Err(Denied::Sys(Errno::ENOTDIR));
    }
    if trust == Trust::RootOnly {
        if found.st_uid != 0 {
            return Err(Denied::Refused(Refusal::NotRootOwned { uid: found.st_uid }));
        }
        let mode = Mode::from_bits_truncate(found.st_mode);
        if mode.intersects(Mode::S_IWGRP | Mode::S_IWOTH) && !mode.contains(Mode::S_ISVTX) {
            return Err(Denied::Refused(Refusal::WritableByOthers));
        }
    }
    Ok(())
}

/// The file type bits of a `stat`.
pub(crate) fn kind(found: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(found.st_mode) & SFlag::S_IFMT
}

fn owned(fd: std::os::fd::RawFd) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: F_DUPFD_CLOEXEC just returned this new descriptor; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `AT_FDCWD`: paths taken as `open(2)` takes them.
pub(crate) fn cwd() -> BorrowedFd<'static> {
    // SAFETY: AT_FDCWD is a constant the *at calls accept in place of a
    // descriptor; it is never closed or read from.
    unsafe { BorrowedFd::borrow_raw(libc::AT_FDCWD) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn real(fd: &OwnedFd) -> PathBuf {
        std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap()
    }

    #[test]
    fn a_plain_path_resolves_to_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        let fd = directory(&dir.path().join("a/./b/.."), None, Trust::Starter);
        assert_eq!(fd.unwrap_err(), Denied::Sys(Errno::ENOENT));
        std::fs::create_dir(dir.path().join("a/b")).unwrap();
        let fd = directory(&dir.path().join("a/./b/.."), None, Trust::Starter).unwrap();
        assert_eq!(real(&fd), dir.path().join("a"));
    }

    #[test]
    fn own_links_are_followed_and_dot_dot_stays_inside_a_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("jail/run")).unwrap();
        std::os::unix::fs::symlink("/run", dir.path().join("jail/var-run")).unwrap();
        std::os::unix::fs::symlink("../../../..", dir.path().join("jail/up")).unwrap();
        let jail = directory(&dir.path().join("jail"), None, Trust::Starter).unwrap();
        let run = directory(Path::new("/var-run"), Some(jail.as_fd()), Trust::Starter).unwrap();
        assert_eq!(real(&run), dir.path().join("jail/run"));
        let up = directory(Path::new("/up/run"), Some(jail.as_fd()), Trust::Starter).unwrap();
        assert_eq!(real(&up), dir.path().join("jail/run"));
    }

    #[test]
    fn a_loop_of_links_ends() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("b", dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        let walked = directory(&dir.path().join("a"), None, Trust::Starter);
        assert_eq!(walked.unwrap_err(), Denied::Sys(Errno::ELOOP));
    }

    #[test]
    fn parent_names_the_last_component() {
        let (dir, name) = parent(Path::new("/tmp/x.pid"), None).unwrap();
        assert_eq!(real(&dir), Path::new("/tmp"));
        assert_eq!(name.as_bytes(), b"x.pid");
        assert_eq!(parent(Path::new("/tmp/.."), None).unwrap_err(), Denied::Sys(Errno::EISDIR));
    }
}
