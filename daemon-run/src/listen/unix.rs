//! The socket file of `--listen unix:/PATH`, handled as root handles a pid
//! file (`daemon_runtime::__private`'s walk and `remove_named`): its
//! directory is walked once, one component at a time, links followed only
//! when the starting user or root owns them, and everything after goes
//! through that directory's descriptor. The socket is bound inside it (the
//! launcher, single-threaded, enters it with `fchdir` for the `bind` and
//! comes back), and removed from it only while the name still names the
//! socket that was bound. A user who owns a directory on the way, and
//! renames it or plants a link there, steers neither the `bind` nor the
//! removal into a directory of root's.
//!
//! The file gets exactly the mode `--listen-mode` gives (the umask is set
//! around the `bind`), and is owned by the starting user: a `chown` by
//! root, of a name in a directory another user may write, is what this
//! module exists to avoid.
//!
//! A socket file left by an earlier run (PROGRAM, run as another user,
//! cannot remove it from a directory of root's) is replaced at the next
//! start when it is stale: a socket owned by the starting user, with one
//! link, on which nothing accepts (a connection is refused).

use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::path::Path;

use daemon_runtime::__private::{Denied, Inode, Trust, inode, remove_named, walk_directory, walk_parent};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, FcntlArg, OFlag, fcntl};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};
use nix::sys::stat::{FileStat, Mode, SFlag, fstatat, umask};
use nix::unistd::{fchdir, geteuid};

/// A bound socket's file: the walked directory, the name in it, and the
/// inode that name had right after the `bind`.
#[derive(Debug)]
pub(super) struct SocketFile {
    /// The directory, an `O_PATH` descriptor (close-on-exec).
    pub(super) dir: OwnedFd,
    name: CString,
    inode: Inode,
}

impl SocketFile {
    /// Removes the file from its directory while the name still names the
    /// socket this start bound; a name since given to another file is left.
    pub(super) fn remove(&self) {
        let _ = remove_named(self.dir.as_fd(), &self.name, self.inode);
    }
}

/// Binds a listening stream socket at `path` (absolute), with mode `mode`:
/// in its walked directory, after replacing a stale socket left there.
/// Call it while the process runs one thread (the working directory and the
/// umask change for the moment of the `bind`). The caller names the cause
/// (`listen: ADDR: <cause>`).
pub(super) fn bind(path: &Path, mode: u32) -> Result<(OwnedFd, SocketFile), Denied> {
    let (dir, name) = walk_parent(path, None)?;
    let here = walk_directory(Path::new("."), None, Trust::Starter)?;
    let listener = inside(dir.as_fd(), here.as_fd(), || match bind_here(&name, mode) {
        Err(Errno::EADDRINUSE) => match replace_stale(dir.as_fd(), &name)? {
            true => bind_here(&name, mode),
            false => Err(Errno::EADDRINUSE),
        },
        other => other,
    })
    .map_err(Denied::Sys)?;
    // What the name names now: the socket just bound (no other user may
    // write the directory, or its own files are all it can have removed).
    let found = fstatat(dir.as_fd(), name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW).map_err(Denied::Sys)?;
    if !is_own_socket(&found) {
        return Err(Denied::Sys(Errno::EEXIST));
    }
    let file = SocketFile { dir, name, inode: inode(&found) };
    Ok((listener, file))
}

/// Runs `f` with `dir` as the working directory, then goes back to `here`.
fn inside<T>(
    dir: BorrowedFd<'_>,
    here: BorrowedFd<'_>,
    f: impl FnOnce() -> nix::Result<T>,
) -> nix::Result<T> {
    fchdir(dir)?;
    let done = f();
    // Entering a directory a descriptor holds fails only if it is no
    // directory, and `here` was one; a failure would leave relative paths
    // meaning something else, so it fails the start.
    fchdir(here)?;
    done
}

/// `bind` of `name` in the working directory, the umask set so that the
/// file gets exactly `mode`: no later `chmod` by name could be trusted to
/// reach the same file.
fn bind_here(name: &CStr, mode: u32) -> nix::Result<OwnedFd> {
    #[allow(clippy::unnecessary_cast)] // mode_t is u16 on macOS and FreeBSD
    let mask = Mode::from_bits_truncate((0o777 & !mode) as libc::mode_t);
    let before = umask(mask);
    let bound = UnixListener::bind(Path::new(OsStr::from_bytes(name.to_bytes())));
    umask(before);
    bound.map(OwnedFd::from).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// A socket file owned by the starting user, with one link: one this
/// launcher (or an earlier start by the same user) bound.
fn is_own_socket(found: &FileStat) -> bool {
    let kind = SFlag::from_bits_truncate(found.st_mode) & SFlag::S_IFMT;
    kind == SFlag::S_IFSOCK && found.st_uid == geteuid().as_raw() && found.st_nlink == 1
}

/// With the working directory in `dir`: removes `name` when it is a stale
/// socket of the starting user's ([`is_own_socket`], and a connection to
/// it refused); true when it did. Anything else (another user's socket, a
/// file, one that accepts or whose backlog is full) is left, and the `bind`
/// fails as it did.
fn replace_stale(dir: BorrowedFd<'_>, name: &CStr) -> nix::Result<bool> {
    let found = match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(found) if is_own_socket(&found) => found,
        _ => return Ok(false),
    };
    let probe = socket(AddressFamily::Unix, SockType::Stream, SockFlag::empty(), None)?;
    // Never wait: a live socket with a full backlog says EAGAIN at once.
    let flags = OFlag::from_bits_truncate(fcntl(&probe, FcntlArg::F_GETFL)?);
    fcntl(&probe, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    let address = UnixAddr::new(Path::new(OsStr::from_bytes(name.to_bytes())))?;
    if connect(probe.as_raw_fd(), &address) != Err(Errno::ECONNREFUSED) {
        return Ok(false);
    }
    remove_named(dir, name, inode(&found))?;
    Ok(true)
}
