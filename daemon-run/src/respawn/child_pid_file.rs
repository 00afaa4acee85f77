//! `--child-pid-file`: the file naming PROGRAM's pid, kept with the pid
//! file's care, through the runtime's own walk and checks.
//!
//! - **Walked, not opened, by the launcher** ([`ChildPidFile::find`]): its
//!   directory is resolved one component at a time as the pid file's is
//!   (inside the new root with `--chroot`; links followed only when root or
//!   the starting user owns them), and what is at the name must pass the
//!   pid file's rules (a regular file with one link owned by the starting
//!   user): a refusal fails the start before anything runs. Nothing is
//!   created, truncated or chmodded yet.
//! - **Claimed once the pid file's lock is held** ([`ChildPidFile::claim`],
//!   the runtime's `init`, still as the starting user): the file at the
//!   name is replaced by a new, empty one (`openat(O_CREAT|O_EXCL|
//!   O_NOFOLLOW)` in the walked directory, `0644`). A start refused as
//!   already running never gets there, so it leaves the running instance's
//!   file alone; and the new inode tells an older supervisor that the file
//!   is no longer its own.
//! - **Written only while it is still this supervisor's**
//!   ([`ChildPidFile::write`]): the name must still be the claimed inode and
//!   hold what this supervisor wrote last; otherwise the file is left alone
//!   for good. The supervisor reopens it for each write when it can (no
//!   writable descriptor kept); after a privilege drop it cannot, and keeps
//!   the one it claimed with, checked the same way before each use.
//! - **Removed only through its directory** (`unlinkat`), by the supervisor
//!   when it ends, on the same condition; and by the launcher after a failed
//!   start, or by `--stop`, only while no process holds the pid file's lock
//!   ([`ChildPidFile::remove_unheld`]), so never a running instance's file.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use daemon_runtime::__private::{self, Inode, Trust, written_pid};
use daemon_runtime::{Error, Status, Step};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{self, Mode};
use nix::unistd::{self, Pid};

/// How often a claim starts over when a file appeared at the name between
/// its removal and the new file's creation.
const ATTEMPTS: usize = 4;

/// `--child-pid-file`, from the walk on.
pub struct ChildPidFile {
    /// As configured (made absolute), for messages.
    path: PathBuf,
    /// The walked directory (`O_PATH`), and the name in it.
    dir: OwnedFd,
    name: CString,
    /// The file this supervisor created, once claimed.
    inode: Option<Inode>,
    /// The descriptor it was claimed with, kept only when the supervisor
    /// cannot open the file again (after its privilege drop).
    kept: Option<OwnedFd>,
    /// What this supervisor wrote last (`None`: empty).
    written: Option<u32>,
}

impl ChildPidFile {
    /// In the launcher, before anything starts: walks the directory of
    /// `path` (inside `chroot` when given, as the pid file's) and refuses
    /// what is at the name if the pid file's rules would. Touches nothing.
    ///
    /// # Errors
    ///
    /// The walk's refusal or failure, or the file's, at [`Step::PidFile`]
    /// (exit 73); a chroot the runtime would refuse too.
    pub fn find(path: &Path, chroot: Option<&Path>) -> Result<ChildPidFile, Error> {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let root = chroot
            .map(|root| {
                __private::walk_directory(root, None, Trust::RootOnly)
                    .map_err(|denied| denied.into_error(Step::Chroot, root))
            })
            .transpose()?;
        let (dir, name) = __private::walk_parent(&path, root.as_ref().map(AsFd::as_fd))
            .map_err(|denied| denied.into_error(Step::PidFile, &path))?;
        __private::examine_at(dir.as_fd(), &name, &path)?;
        Ok(ChildPidFile { path, dir, name, inode: None, kept: None, written: None })
    }

    /// The walked directory's descriptor, which the start must keep open.
    pub fn raw_fd(&self) -> RawFd {
        self.dir.as_raw_fd()
    }

    /// In the daemon, with the pid file's lock held, before the privilege
    /// drop (the runtime's `init`): replaces what is at the name (checked
    /// again first) with a new empty file, `0644` whatever the umask.
    ///
    /// # Errors
    ///
    /// A refused file, or the failed call, at [`Step::PidFile`].
    pub fn claim(&mut self) -> Result<(), Error> {
        let (dir, name, path) = (self.dir.as_fd(), self.name.as_c_str(), self.path.as_path());
        let failed =
            |errno| Error::Path { step: Step::PidFile, path: path.to_path_buf(), errno: crate::errno(errno) };
        for _ in 0..ATTEMPTS {
            if let Some(old) = __private::examine_at(dir, name, path)? {
                __private::remove_named(dir, name, old).map_err(failed)?;
            }
            let (fd, inode) = match __private::open_at(dir, name, path, OFlag::O_RDWR, true) {
                Err(Error::Path { errno, .. }) if errno.raw() == libc::EEXIST => continue,
                other => other?,
            };
            stat::fchmod(&fd, Mode::from_bits_truncate(0o644)).map_err(failed)?;
            (self.inode, self.kept, self.written) = (Some(inode), Some(fd), None);
            return Ok(());
        }
        Err(failed(Errno::EEXIST))
    }

    /// In the supervisor, after the privilege drop: the claimed descriptor
    /// is let go when the file can be opened again for each write.
    pub fn settle(&mut self) {
        if let Ok((fd, inode)) = self.reopen()
            && Some(inode) == self.inode
        {
            drop(fd);
            self.kept = None;
        }
    }

    /// Writes `pid` (or empties the file, `None`), while the file is still
    /// this supervisor's; a failure does not stop the supervision.
    pub fn write(&mut self, pid: Option<Pid>) {
        let Some(fd) = self.verified() else { return };
        let _ = unistd::ftruncate(&fd, 0);
        if let Some(pid) = pid {
            let _ = __private::write_pid(&fd, pid);
        }
        drop(fd);
        self.written = pid.map(|pid| pid.as_raw().unsigned_abs());
    }

    /// The file, when the name still names the claimed file and it holds
    /// what this supervisor wrote last. Otherwise a new start has claimed
    /// it, or someone removed or rewrote it: it is never touched again.
    fn verified(&mut self) -> Option<OwnedFd> {
        let claimed = self.inode?;
        let fd = match &self.kept {
            Some(kept) => stat::fstatat(&self.dir, self.name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
                .is_ok_and(|now| __private::inode(&now) == claimed)
                .then(|| kept.try_clone().ok())
                .flatten(),
            None => self.reopen().ok().filter(|&(_, found)| found == claimed).map(|(fd, _)| fd),
        };
        let fd = fd.filter(|fd| written_pid(fd.as_fd()) == self.written);
        if fd.is_none() {
            self.inode = None;
        }
        fd
    }

    fn reopen(&self) -> Result<(OwnedFd, Inode), Error> {
        __private::open_at(self.dir.as_fd(), &self.name, &self.path, OFlag::O_RDWR, false)
    }

    /// After a failed start (not "already running"), or `--stop`: removes
    /// the file, through its directory, if no process holds `pid_file`'s
    /// lock (none given: the start had none), so that it names no process.
    /// A running instance's file is left alone.
    ///
    /// # Errors
    ///
    /// The file refused (a link, another user's...), or `unlinkat` failed.
    pub fn remove_unheld(&self, pid_file: Option<&Path>) -> Result<(), Error> {
        if let Some(pid_file) = pid_file
            && !matches!(daemon_runtime::status(pid_file), Ok(Status::Absent | Status::Stale))
        {
            return Ok(());
        }
        let (dir, name, path) = (self.dir.as_fd(), self.name.as_c_str(), self.path.as_path());
        match __private::examine_at(dir, name, path)? {
            Some(found) => __private::remove_named(dir, name, found).map_err(|errno| Error::Path {
                step: Step::PidFile,
                path: path.to_path_buf(),
                errno: crate::errno(errno),
            }),
            None => Ok(()),
        }
    }
}

impl Drop for ChildPidFile {
    /// The supervisor's end: the file, still its own, is emptied (so that it
    /// names no process even where the unlink is refused: the supervisor
    /// runs as `--user`, the directory is root's), then removed.
    fn drop(&mut self) {
        let claimed = self.inode;
        let Some(fd) = self.verified() else { return };
        let _ = unistd::ftruncate(&fd, 0);
        drop(fd);
        if let Some(claimed) = claimed {
            let _ = __private::remove_named(self.dir.as_fd(), &self.name, claimed);
        }
    }
}
