//! Where [`Daemon::exec_notify`](crate::Daemon::exec_notify) puts its
//! private `NOTIFY_SOCKET`: a socket file in a directory that only root and
//! the launching user can write (`/run` as root, `$XDG_RUNTIME_DIR`
//! otherwise; inside a chroot, the same path inside it), removed once the
//! program is ready or the start failed.
//!
//! Why not the abstract name a [`NotifyReceiver`](super::receive::NotifyReceiver)
//! binds by default (issue 26 C): the launcher exits at ready, and an
//! abstract name is free as soon as no socket holds it, for any uid to bind
//! and receive the program's later messages, descriptors passed with
//! `SCM_RIGHTS` included. A name in such a directory can only be bound again
//! by root or the launching user (which the program runs as, or below), so
//! the program's later sends fail (`ENOENT`) instead of reaching someone
//! else. A private directory in `/tmp` would not do: once it is removed,
//! anyone may create it again. (`daemon-run --respawn`'s supervisor keeps
//! its abstract name bound for as long as the program lives, the other
//! remedy; `exec_notify` has no process left to do that.)

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::{self, FchmodatFlags, Mode};
use nix::unistd::{self, UnlinkatFlags};

use crate::error::{Error, Refusal, Step};
use crate::path::walk::{self, Trust};

/// The socket's file, removed when dropped (but see [`SocketFile::forget`]).
#[derive(Debug)]
pub(crate) struct SocketFile {
    /// The directory holding it, and its name there; `None` once removed or forgotten.
    entry: Option<(OwnedFd, CString)>,
}

/// Where the socket goes: the directory (as the launcher reaches it, and as
/// the program does, inside its chroot) and a name that no other start uses.
pub(crate) struct Place {
    directory: OwnedFd,
    name: CString,
    /// The socket's path for `bind`, in the launcher's view.
    pub(crate) bound_at: PathBuf,
    /// `NOTIFY_SOCKET`: the same path in the program's view.
    pub(crate) address: String,
}

impl Place {
    /// Finds the directory, inside `chroot` when given, and checks that no
    /// one but root and this user can write it (no sticky exception: a name
    /// removed from `/tmp` can be taken by anyone).
    pub(crate) fn find(chroot: Option<&Path>) -> Result<Place, Error> {
        let euid = unistd::geteuid();
        let inside = match euid.is_root() {
            true => PathBuf::from("/run"),
            false => match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
                Some(dir) if dir.is_absolute() => dir,
                _ => {
                    let path = PathBuf::from("$XDG_RUNTIME_DIR");
                    return Err(Error::Path {
                        step: Step::Preflight,
                        path,
                        errno: crate::error::errno::Errno::of(Errno::ENOENT),
                    });
                }
            },
        };
        let outside = match chroot {
            Some(root) => root.join(inside.strip_prefix("/").unwrap_or(&inside)),
            None => inside.clone(),
        };
        let directory = walk::directory(&outside, None, Trust::Starter)
            .map_err(|denied| denied.into_error(Step::Preflight, &outside))?;
        let found = stat::fstat(&directory).map_err(|errno| Error::Path {
            step: Step::Preflight,
            path: outside.clone(),
            errno: crate::error::errno::Errno::of(errno),
        })?;
        let refused = |reason| Error::Refused { step: Step::Preflight, path: outside.clone(), reason };
        if found.st_uid != 0 && found.st_uid != euid.as_raw() {
            return Err(refused(Refusal::Foreign { uid: found.st_uid }));
        }
        if Mode::from_bits_truncate(found.st_mode).intersects(Mode::S_IWGRP | Mode::S_IWOTH) {
            return Err(refused(Refusal::WritableByOthers));
        }
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let file = format!("daemon-notify.{}.{}", std::process::id(), nanos.as_nanos());
        let name = CString::new(file.as_bytes()).map_err(|_| Error::Path {
            step: Step::Preflight,
            path: outside.clone(),
            errno: crate::error::errno::Errno::of(Errno::EINVAL),
        })?;
        let address = inside.join(&file);
        let address =
            String::from_utf8(address.as_os_str().as_bytes().to_vec()).map_err(|_| Error::Path {
                step: Step::Preflight,
                path: outside.clone(),
                errno: crate::error::errno::Errno::of(Errno::EINVAL),
            })?;
        Ok(Place { directory, name, bound_at: outside.join(file), address })
    }

    /// The socket is bound at [`bound_at`](Place::bound_at): made writable
    /// by the program whatever user it becomes (only datagrams from its pid
    /// count), and removed with the returned value.
    pub(crate) fn bound(self) -> nix::Result<SocketFile> {
        let Place { directory, name, .. } = self;
        let file = SocketFile { entry: Some((directory, name)) };
        if let Some((directory, name)) = &file.entry {
            // The directory is root's or ours alone: nothing can have
            // replaced the socket by a link since the bind.
            let mode = Mode::from_bits_truncate(0o666);
            stat::fchmodat(directory.as_fd(), name.as_c_str(), mode, FchmodatFlags::FollowSymlink)?;
        }
        Ok(file)
    }
}

impl SocketFile {
    /// Removes the socket's file now: the program's later sends fail.
    pub(crate) fn remove(&mut self) {
        if let Some((directory, name)) = self.entry.take() {
            let _ = unistd::unlinkat(&directory, name.as_c_str(), UnlinkatFlags::NoRemoveDir);
        }
    }

    /// In the daemon, right after the fork: the launcher removes the file,
    /// not the daemon; the name is left to the daemon's exit (it frees
    /// nothing it need not, DESIGN.md invariant 2).
    pub(crate) fn forget(mut self) {
        if let Some((directory, name)) = self.entry.take() {
            drop(directory);
            std::mem::forget(name);
        }
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        self.remove();
    }
}
