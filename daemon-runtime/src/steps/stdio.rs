//! The log files that receive the daemon's standard output and error.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::sys::stat::{self, Mode, SFlag};
use nix::unistd::{Gid, Uid};

use crate::error::{Error, Refusal, Step};
use crate::path::at::{CAREFUL, open_existing};
use crate::path::walk;

/// The mode of a log file the daemon creates: readable by the daemon's group
/// (`adm` reads logs), by nobody else.
const LOG_MODE: libc::mode_t = 0o640;

/// Who a log file belongs to: the daemon's user and group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// Opens `path` for appending, creating it `0o640` whatever the launcher's
/// umask, owned by `owner` (the daemon's user and group: `fchown` on the
/// descriptor just created), so that the daemon, after the privilege drop,
/// can open it again ([`reopen_logs`]). Called in the launcher, before
/// `chroot` and the privilege drop, so the daemon can write where it could
/// not create.
///
/// The directory is walked as the pid file's is (see [`crate::path::walk`]:
/// no symbolic link another user owns is followed), the file opened in it
/// with `O_NOFOLLOW|O_NONBLOCK` (a FIFO never blocks the start), and it must
/// be a regular file with one link, owned by root or `owner` (the daemon's
/// user): a log file another user planted, or a hard link to a file of
/// root's, is never written.
pub(crate) fn open(path: &Path, owner: Owner) -> Result<OwnedFd, Error> {
    let refused = |reason| Error::Refused { step: Step::Stdio, path: path.to_path_buf(), reason };
    let error = |errno| match errno {
        // O_NOFOLLOW on a symbolic link: ELOOP (FreeBSD: EMLINK).
        errno if crate::sys::is_symlink_refusal(errno) => refused(Refusal::SymbolicLink),
        // A FIFO with no reader (ENXIO), a directory (EISDIR).
        Errno::ENXIO | Errno::EISDIR => refused(Refusal::NotRegular),
        errno => Error::Path {
            step: Step::Stdio,
            path: path.to_path_buf(),
            errno: crate::error::errno::Errno::of(errno),
        },
    };
    let (dir, name) = walk::parent(path, None).map_err(|denied| denied.into_error(Step::Stdio, path))?;
    let flags = OFlag::O_WRONLY | OFlag::O_APPEND | CAREFUL;
    let mode = Mode::from_bits_truncate(LOG_MODE);
    let fd = match fcntl::openat(&dir, name.as_c_str(), flags | OFlag::O_CREAT | OFlag::O_EXCL, mode) {
        Ok(fd) => {
            stat::fchmod(&fd, mode).map_err(error)?;
            if owner.uid != nix::unistd::geteuid().as_raw() {
                let (uid, gid) = (Uid::from_raw(owner.uid), Gid::from_raw(owner.gid));
                nix::unistd::fchown(&fd, Some(uid), Some(gid)).map_err(error)?;
            }
            fd
        }
        Err(Errno::EEXIST) => {
            open_existing(dir.as_fd(), name.as_c_str(), OFlag::O_WRONLY | OFlag::O_APPEND).map_err(error)?
        }
        Err(errno) => return Err(error(errno)),
    };
    let opened = stat::fstat(&fd).map_err(error)?;
    if walk::kind(&opened) != SFlag::S_IFREG {
        return Err(refused(Refusal::NotRegular));
    }
    if opened.st_nlink != 1 {
        #[allow(clippy::unnecessary_cast)] // nlink_t is u32 on some targets
        return Err(refused(Refusal::Linked { links: opened.st_nlink as u64 }));
    }
    if opened.st_uid != 0 && opened.st_uid != owner.uid {
        return Err(refused(Refusal::UntrustedOwner { uid: opened.st_uid }));
    }
    // Writes append and may block like any file's; only the open had to not.
    fcntl::fcntl(&fd, fcntl::FcntlArg::F_SETFL(OFlag::O_APPEND)).map_err(error)?;
    Ok(fd)
}

/// The configured log files and the owner they may have, for [`reopen_logs`].
#[allow(clippy::type_complexity)]
static CONFIGURED: Mutex<(Option<PathBuf>, Option<PathBuf>, Owner)> =
    Mutex::new((None, None, Owner { uid: 0, gid: 0 }));

pub(crate) fn remember(stdout: Option<PathBuf>, stderr: Option<PathBuf>, owner: Owner) {
    *CONFIGURED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = (stdout, stderr, owner);
}

/// Reopens the configured `stdout` and `stderr` files onto descriptors 1 and
/// 2: what a daemon does on SIGHUP after logrotate renamed its log, so that
/// later lines go to a new file at the configured path. Each file is opened
/// before the old one is replaced, so no line is lost or written nowhere.
///
/// The paths are opened again as they were configured, with the same care
/// as at the start (no link another user owns followed, a regular file of
/// root's or the daemon's user): after a `chroot` or a privilege drop that
/// may be refused, and the error says so.
///
/// # Errors
///
/// Opening a file, or `dup2`, as a [`std::io::Error`] (like every function
/// that operates a running daemon: [`status`](crate::status),
/// [`stop`](crate::stop), [`signal`](crate::signal)) whose message names
/// the file and the cause, like `stdio: /var/log/myd.out: permission denied`.
///
/// ```no_run
/// // On SIGHUP:
/// daemon_runtime::reopen_logs()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn reopen_logs() -> io::Result<()> {
    reopen().map_err(|error| {
        let kind = match &error {
            Error::Path { errno, .. } => io::Error::from(*errno).kind(),
            _ => io::ErrorKind::PermissionDenied,
        };
        let euid = nix::unistd::geteuid();
        if kind != io::ErrorKind::PermissionDenied || euid.is_root() {
            return io::Error::new(kind, error.to_string());
        }
        // After the privilege drop: say who must be able to write what.
        let user = match nix::unistd::User::from_uid(euid) {
            Ok(Some(user)) => format!("{} (uid {euid})", user.name),
            _ => format!("uid {euid}"),
        };
        io::Error::new(
            kind,
            format!(
                "{error} (the daemon runs as {user}: the file must be writable by that user, and \
                 its directory too, to create it anew after a rotation)"
            ),
        )
    })
}

fn reopen() -> Result<(), Error> {
    let (stdout, stderr, owner) = CONFIGURED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    if let Some(path) = stdout {
        let fd = open(&path, owner)?;
        nix::unistd::dup2_stdout(&fd).map_err(|errno| Error::Path {
            step: Step::Stdio,
            path,
            errno: crate::error::errno::Errno::of(errno),
        })?;
    }
    if let Some(path) = stderr {
        let fd = open(&path, owner)?;
        nix::unistd::dup2_stderr(&fd).map_err(|errno| Error::Path {
            step: Step::Stdio,
            path,
            errno: crate::error::errno::Errno::of(errno),
        })?;
    }
    Ok(())
}
