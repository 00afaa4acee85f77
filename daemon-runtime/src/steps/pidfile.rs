//! The pid file and its lock file: created safely, locked for the daemon's
//! life, removed at exit.
//!
//! The lock is taken on a lock file beside the pid file, its name and
//! [`LOCK_SUFFIX`](crate::LOCK_SUFFIX) (`/run/myd.pid.lock`), mode `0600`: a `flock` needs only
//! a descriptor open for reading, so any user who can open a file can take
//! its lock, and would keep it once the daemon is gone (issue 26, item D).
//! Nobody but the file's owner (the starting user, root as a rule) can open
//! a `0600` file, and the daemon keeps its read-only descriptor, which the
//! kernel checks only when it is opened: the lock outlives a privilege
//! drop, and the daemon still holds no writable descriptor. The pid file
//! stays `0644` with the pid alone, for its readers (`cat`,
//! start-stop-daemon, systemd's `PIDFile=`); it is written once the lock is
//! held, through a descriptor closed at once.
//!
//! The lock, not the pid written in the file, says whether a daemon runs: a
//! lock file no live process is proven to hold an exclusive lock on is
//! stale whatever the pid file contains (see [`crate::lock`]), and its
//! contents are never trusted (no signal is ever sent to the pid it names).

use std::ffi::{CStr, CString, OsStr};
use std::fmt;
use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{self, AtFlags, FcntlArg, OFlag};
use nix::sys::stat::{self, Mode, SFlag};
use nix::unistd::{self};

use crate::deadline::Deadline;
use crate::error::Failure;
use crate::error::{Refusal, Step};
use crate::lock::pid_text::write_pid;
use crate::lock::{self, Proof, flock};
use crate::path::at::{CAREFUL, open_existing, refuse_unsafe, remove_named};
use crate::path::walk;
use crate::path::walk::{Inode, inode};

/// How often to start over when the file was replaced between `open` and
/// `flock` (a stopping daemon unlinks it), or was found locked by no daemon
/// and replaced: each pass needs a whole stop or a new lock to race it, so a
/// few passes are plenty.
const ATTEMPTS: usize = 16;

/// How often a lock whose holder cannot be seen (see [`crate::lock`]) is
/// tried again before the start is refused as "already running".
const UNSEEN_RETRIES: usize = 3;

/// What the lock file's name adds to the pid file's: `/run/myd.pid` is
/// locked through `/run/myd.pid.lock`.
pub const LOCK_SUFFIX: &str = ".lock";

/// The lock file's mode, `0600`: only its owner may open it, and so lock it.
pub(crate) const LOCK_MODE: Mode = Mode::S_IRUSR.union(Mode::S_IWUSR);

/// The pid file's mode, `0644`: anyone may read the pid.
const PID_MODE: Mode = LOCK_MODE.union(Mode::S_IRGRP).union(Mode::S_IROTH);

/// The name of the lock file beside the pid file `name`.
pub(crate) fn lock_name_of(name: &CStr) -> CString {
    let mut bytes = name.to_bytes().to_vec();
    bytes.extend_from_slice(LOCK_SUFFIX.as_bytes());
    CString::new(bytes).expect("a C string's bytes and the suffix hold no NUL")
}

/// A pid file holding this process's pid, and its lock file, locked.
///
/// The lock is held on a read-only descriptor of the `0600` lock file
/// beside the pid file (its name and [`LOCK_SUFFIX`](crate::LOCK_SUFFIX)): a daemon that drops
/// its privileges, or a program `daemon-run` executes (which inherits it on
/// descriptor 3), cannot write the root-owned file through it, and no
/// other user can open it to take the lock.
///
/// Dropping it removes the pid file and the lock file, then releases the
/// lock: in that order, so that no second daemon can lock the old file
/// while the path still names it.
///
/// ```no_run
/// use daemon_runtime::PidFile;
///
/// let pid_file = PidFile::acquire("/run/myd.pid").expect("pid file");
/// assert_eq!(pid_file.path(), std::path::Path::new("/run/myd.pid"));
/// drop(pid_file); // removed and unlocked
/// ```
pub struct PidFile {
    /// The path as configured; [`PidFile::path`] borrows it as a `Path`.
    path: CString,
    /// The directory and name, never freed once the termination handler
    /// reads them (it may run on another thread while this is dropped).
    at: ManuallyDrop<Location>,
    armed: bool,
    /// The lock file's device and inode: its name is removed only while it
    /// still names this file.
    inode: Inode,
    /// The pid file's, likewise.
    pid_inode: Inode,
    /// The lock file's locked read-only descriptor (the lock belongs to its
    /// open file description).
    lock: Option<OwnedFd>,
}

impl PidFile {
    /// Resolves the directory of `path` (symbolic links followed only when
    /// root or the effective user owns them, see [`Daemon::pid_file`](crate::Daemon::pid_file)),
    /// then opens or creates the lock file there, `path` and [`LOCK_SUFFIX`](crate::LOCK_SUFFIX)
    /// (`O_NOFOLLOW`, `O_CLOEXEC`, `O_NONBLOCK`, read-only, mode `0600`
    /// whatever the umask), refuses anything but a regular file with one
    /// link owned by the effective user, takes `flock(LOCK_EX|LOCK_NB)`,
    /// checks the name still names the locked file, then writes this
    /// process's pid into the pid file at `path` (created `0644`, or an
    /// existing one under the same rules) through a short-lived writable
    /// descriptor.
    ///
    /// A lock file locked by no live process that can be proven to hold an
    /// exclusive lock (a shared lock only), or one whose mode lets another
    /// user open it, is replaced. A failed call removes the files it
    /// created, never another.
    ///
    /// It allocates (the walk): call it before forking, or in a process that
    /// is single-threaded.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyRunning`](crate::Error::AlreadyRunning) when another
    /// process holds the lock, [`Error::LockedUnseen`](crate::Error::LockedUnseen)
    /// when a process that cannot be told does; [`Error::PidFileRefused`](crate::Error::PidFileRefused)
    /// for a symbolic link, FIFO, directory, linked or foreign file;
    /// [`Error::Path`](crate::Error::Path) when a system call fails.
    ///
    /// ```
    /// use daemon_runtime::{Error, PidFile};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let pid_file = PidFile::acquire(dir.path().join("example.pid"))?;
    /// assert_eq!(std::fs::read_to_string(pid_file.path())?, format!("{}\n", std::process::id()));
    /// // A second lock on the same file, even from this process, is refused.
    /// assert!(matches!(PidFile::acquire(pid_file.path()), Err(Error::AlreadyRunning { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acquire(path: impl AsRef<Path>) -> Result<PidFile, crate::error::Error> {
        let shown = crate::path::cstr::absolute(path.as_ref())?;
        let path = crate::path::cstr::c_string(shown.clone())?;
        let location = Location::find(&shown, None)?;
        match lock_at(&location) {
            Ok(locked) => Ok(PidFile::from_lock(path, location, locked)),
            Err(failure) => Err(failure.into_error(|_| Some(shown.clone()))),
        }
    }

    /// The lock file's locked descriptor.
    pub(crate) fn descriptor(&self) -> Option<BorrowedFd<'_>> {
        self.lock.as_ref().map(AsFd::as_fd)
    }

    /// Removes the file on the terminating signals the body does not handle.
    /// From now on the directory and name are never freed.
    pub(crate) fn remove_on_termination(&mut self) {
        self.armed = true;
        // SAFETY: `at` is `ManuallyDrop` and, once `armed`, never dropped
        // (see `Drop`): its directory stays open and its name allocated.
        unsafe {
            crate::steps::termination::arm(
                self.at.dir.as_fd(),
                [(&self.at.name, self.pid_inode), (&self.at.lock_name, self.inode)],
            )
        };
    }

    /// A pid file that [`lock_at`] locked in `location`: the lock moved to
    /// the lowest free descriptor, the directory right after it. `/proc` is
    /// closed here: inside a chroot it would be a way out.
    pub(crate) fn from_lock(path: CString, location: Location, locked: Locked) -> PidFile {
        let Location { dir, name, lock_name, proc } = location;
        drop(proc);
        let lock = lowest(locked.fd);
        let dir = lowest(dir);
        PidFile {
            // Kept as it is: no conversion runs between the forks.
            path,
            at: ManuallyDrop::new(Location { dir, name, lock_name, proc: None }),
            armed: false,
            inode: locked.inode,
            pid_inode: locked.pid_inode,
            lock: Some(lock),
        }
    }

    /// The path of the pid file.
    ///
    /// ```no_run
    /// # let pid_file = daemon_runtime::PidFile::acquire("/tmp/x.pid").unwrap();
    /// println!("{}", pid_file.path().display());
    /// ```
    pub fn path(&self) -> &Path {
        Path::new(OsStr::from_bytes(self.path.to_bytes()))
    }
}

impl fmt::Debug for PidFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PidFile").field("path", &self.path()).finish_non_exhaustive()
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        crate::steps::termination::disarm();
        // Shared with the other process of an upgrade, which owns the file
        // or is about to: closed here, neither removed nor unlocked (the
        // lock belongs to the open file description both hold).
        if crate::upgrade::state::pid_file_shared() {
            drop(self.lock.take());
        }
        if let Some(lock) = self.lock.take() {
            // Unlink while still holding the lock: a starter that opened the
            // old lock file sees the name no longer names it and starts over.
            let _ = remove_named(self.at.dir.as_fd(), &self.at.name, self.pid_inode);
            let _ = remove_named(self.at.dir.as_fd(), &self.at.lock_name, self.inode);
            // Explicitly: a child forked without exec shares the description.
            let _ = flock(&lock, libc::LOCK_UN);
        }
        if !self.armed {
            // SAFETY: dropped once, here; no handler was given its pointers.
            unsafe { ManuallyDrop::drop(&mut self.at) }
        }
    }
}

/// Where the pid file goes, found in the launcher by the walk: its directory
/// opened (so that nothing swapped into the path later is followed), its
/// name and its lock file's, and `/proc` (to prove who holds a lock, even
/// inside a chroot).
#[derive(Debug)]
pub(crate) struct Location {
    dir: OwnedFd,
    name: CString,
    lock_name: CString,
    proc: Option<OwnedFd>,
}

impl Location {
    /// Resolves the directory of `path`, which the daemon sees under `root`
    /// (its chroot's descriptor, if any): see [`crate::path::walk`].
    pub(crate) fn find(path: &Path, root: Option<BorrowedFd<'_>>) -> Result<Location, crate::error::Error> {
        let (dir, name) =
            walk::parent(path, root).map_err(|denied| denied.into_error(Step::PidFile, path))?;
        let proc = lock::open_proc().ok().flatten();
        let lock_name = lock_name_of(&name);
        Ok(Location { dir, name, lock_name, proc })
    }

    /// The descriptors to keep open until the pid file is locked.
    pub(crate) fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        std::iter::once(self.dir.as_raw_fd()).chain(self.proc.as_ref().map(AsRawFd::as_raw_fd))
    }

    /// The launcher's copy of this location (the same directory, a second
    /// descriptor), to remove the file a failed start left: the name the
    /// daemon used, in the directory it used, never the path walked again
    /// (outside a chroot, the jail's own absolute links would lead to the
    /// host's files).
    pub(crate) fn for_launcher(&self) -> nix::Result<Leftover> {
        let dir = fcntl::fcntl(&self.dir, FcntlArg::F_DUPFD_CLOEXEC(3))?;
        // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor nothing else owns.
        let dir = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(dir) };
        Ok(Leftover { dir, name: self.name.clone() })
    }
}

/// Where a failed start may have left its pid file, as the daemon resolved
/// it (inside its chroot, if any): kept by the launcher to remove the file
/// when no one holds it (see [`Leftover::remove_if_stale`]).
#[derive(Debug)]
pub(crate) struct Leftover {
    dir: OwnedFd,
    name: CString,
}

impl Leftover {
    /// The directory's descriptor, which closing inherited ones must keep.
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.dir.as_raw_fd()
    }

    /// Whether process `pid` is proven to hold the lock file's exclusive lock
    /// now (see [`crate::lock`]): `false` when the lock is free, foreign,
    /// held by another process, or the file is gone. A holder that cannot
    /// be told (outside the pid namespace) is given the benefit of the
    /// doubt: nothing is stopped on a guess.
    pub(crate) fn held_by(&self, pid: u32) -> bool {
        let lock_name = lock_name_of(&self.name);
        let Ok(fd) = open_existing(self.dir.as_fd(), lock_name.as_c_str(), OFlag::O_RDONLY) else {
            return false;
        };
        let Ok(opened) = stat::fstat(&fd) else { return false };
        let pid_file = open_existing(self.dir.as_fd(), self.name.as_c_str(), OFlag::O_RDONLY).ok();
        let proc = lock::open_proc().ok().flatten();
        let pid_file = pid_file.as_ref().map(AsFd::as_fd);
        match lock::examine_locks(proc.as_ref().map(AsFd::as_fd), fd.as_fd(), &opened, pid_file) {
            Proof::Held(holder) => holder.pid == pid,
            Proof::Hidden(_) => true,
            Proof::Foreign | Proof::Free => false,
        }
    }

    /// In the daemon: the launcher's copy closed, its name left to the
    /// daemon's exit (the daemon frees nothing it need not).
    pub(crate) fn close_in_daemon(self) {
        let Leftover { dir, name } = self;
        drop(dir);
        std::mem::forget(name);
    }
}

/// The lock file's locked descriptor an upgrading process passed to this
/// one (see [`crate::Upgrade`]), adopted instead of locked again: it must
/// be a regular file, the one the walked directory's lock name names now,
/// and this process's open file description must hold its exclusive lock
/// (a `flock(LOCK_EX|LOCK_NB)` on a description that holds it succeeds
/// and changes nothing); the pid file beside it must be there, under the
/// pid file's rules. Nothing is written: the new process writes its pid
/// when it is ready ([`Claim::take_over`]).
pub(crate) fn adopt(location: &Location, fd: OwnedFd) -> Result<Locked, Failure> {
    let sys = |errno| Failure::Sys(Step::PidFile, errno);
    let opened = stat::fstat(&fd).map_err(sys)?;
    if walk::kind(&opened) != SFlag::S_IFREG {
        return Err(Failure::Refused(Refusal::NotRegular));
    }
    let (dir, name) = (location.dir.as_fd(), location.name.as_c_str());
    match stat::fstatat(dir, location.lock_name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(now) if inode(&now) == inode(&opened) => {}
        Ok(_) | Err(Errno::ENOENT) => return Err(sys(Errno::ESTALE)),
        Err(errno) => return Err(sys(errno)),
    }
    let pid_inode = match stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(found) if walk::kind(&found) == SFlag::S_IFLNK => {
            return Err(Failure::Refused(Refusal::SymbolicLink));
        }
        Ok(found) => refuse_unsafe(&found).map(|()| inode(&found))?,
        Err(errno) => return Err(sys(errno)),
    };
    flock(&fd, libc::LOCK_EX | libc::LOCK_NB).map_err(sys)?;
    Ok(Locked { fd, inode: inode(&opened), pid_inode })
}

/// Whether `fd` is open on the lock file that this location's lock name
/// names now: the same device and inode.
pub(crate) fn is_lock_file_of(location: &Location, fd: BorrowedFd<'_>) -> bool {
    let (dir, lock_name) = (location.dir.as_fd(), location.lock_name.as_c_str());
    match (stat::fstat(fd), stat::fstatat(dir, lock_name, AtFlags::AT_SYMLINK_NOFOLLOW)) {
        (Ok(opened), Ok(now)) => inode(&opened) == inode(&now),
        _ => false,
    }
}

/// The lock a launcher handed down (`steps/lock_handover.rs`), on this
/// location's lock file: adopted as an upgrade adopts it ([`adopt`]: the
/// same checks, the lock never released), then this process's pid written
/// into the pid file, as [`lock_at`] writes it: from here on the pid file
/// is this process's, as if it had locked it itself.
pub(crate) fn adopt_handed(location: &Location, fd: OwnedFd) -> Result<Locked, Failure> {
    let locked = adopt(location, fd)?;
    write_pid_at(location.dir.as_fd(), &location.name, locked.pid_inode)
        .map_err(|errno| Failure::Sys(Step::PidFile, errno))?;
    Ok(locked)
}

/// Where a new process of an upgrade writes its pid once it is ready: the
/// adopted pid file's directory and name, never freed from then on (the
/// termination handler is given them then).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim {
    dir: RawFd,
    name: &'static CStr,
    lock_name: &'static CStr,
    inode: Inode,
    pid_inode: Inode,
}

impl PidFile {
    /// The claim of an adopted pid file: its directory and name are leaked
    /// now, as [`remove_on_termination`](PidFile::remove_on_termination)
    /// leaks them, for [`Claim::take_over`] to use when the body is ready.
    pub(crate) fn claim(&mut self) -> Claim {
        self.armed = true;
        // SAFETY: `at` is `ManuallyDrop` and, once `armed`, never dropped:
        // the name's bytes stay allocated for the rest of the process.
        let name = unsafe { CStr::from_ptr(self.at.name.as_ptr()) };
        // SAFETY: as for `name`.
        let lock_name = unsafe { CStr::from_ptr(self.at.lock_name.as_ptr()) };
        Claim { dir: self.at.dir.as_raw_fd(), name, lock_name, inode: self.inode, pid_inode: self.pid_inode }
    }
}

impl Claim {
    /// Writes this process's pid into the file (through a writable
    /// descriptor checked to be the locked file, as a start does), then
    /// makes the file this process's: removed on the terminating signals
    /// the body does not handle, and when [`PidFile`] is dropped.
    pub(crate) fn take_over(self) -> nix::Result<()> {
        // SAFETY: the directory descriptor is never closed once claimed
        // (see [`PidFile::claim`]).
        let dir = unsafe { BorrowedFd::borrow_raw(self.dir) };
        write_pid_at(dir, self.name, self.pid_inode)?;
        crate::upgrade::state::share_pid_file(false);
        // SAFETY: the directory stays open and the names allocated for the
        // rest of the process (see [`PidFile::claim`]).
        unsafe {
            crate::steps::termination::arm(dir, [(self.name, self.pid_inode), (self.lock_name, self.inode)])
        };
        Ok(())
    }
}

/// Writes this process's pid again into the pid file it holds, after a
/// failed upgrade: its new process may have written its own before it
/// failed (its pid written, then the cut or the report failed), and the
/// file would name a dead process. The new process is reaped by then, so
/// nothing writes after this. Nothing to do for a daemon whose file was
/// never armed (none, or not yet adopted); a write that fails (a daemon
/// that may no longer open its file for writing, whose new process could
/// not write it either) changes nothing.
pub(crate) fn write_own_pid_again() {
    if let Some((dir, name, inode)) = crate::steps::termination::armed_file() {
        let _ = write_pid_at(dir, name, inode);
    }
}

/// A locked lock file's descriptor, and the pid file written beside it,
/// before they become a [`PidFile`].
#[derive(Debug)]
pub(crate) struct Locked {
    fd: OwnedFd,
    inode: Inode,
    pid_inode: Inode,
}

/// The lock protocol of [`PidFile::acquire`] in the walked directory,
/// allocation-free: it runs in the daemon, between the forks.
pub(crate) fn lock_at(location: &Location) -> Result<Locked, Failure> {
    let (dir, name, lock_name) =
        (location.dir.as_fd(), location.name.as_c_str(), location.lock_name.as_c_str());
    let proc = location.proc.as_ref().map(AsFd::as_fd);
    let sys = |errno| Failure::Sys(Step::PidFile, errno);
    let flags = OFlag::O_RDONLY | CAREFUL;
    let mode = LOCK_MODE;
    let mut unseen = 0;
    for _ in 0..ATTEMPTS {
        // O_EXCL first: a failure below removes a file this start created, and only that.
        let (fd, created) = match fcntl::openat(dir, lock_name, flags | OFlag::O_CREAT | OFlag::O_EXCL, mode)
        {
            Ok(fd) => (fd, true),
            Err(Errno::EEXIST) => match open_existing(dir, lock_name, OFlag::O_RDONLY) {
                Ok(fd) => (fd, false),
                Err(Errno::ENOENT) => continue, // removed since: create it
                // O_NOFOLLOW reports a symbolic link as ELOOP (FreeBSD:
                // EMLINK): say what it is.
                Err(errno) if crate::sys::is_symlink_refusal(errno) => {
                    return Err(Failure::Refused(Refusal::SymbolicLink));
                }
                Err(errno) => return Err(sys(errno)),
            },
            Err(errno) => return Err(sys(errno)),
        };
        let abandon = |failure| {
            if created {
                let _ = remove_lock_if_unheld(dir, lock_name, fd.as_fd());
            }
            failure
        };
        let opened = stat::fstat(&fd).map_err(|errno| abandon(sys(errno)))?;
        if opened.st_nlink == 0 {
            continue; // unlinked by a stopping daemon since we opened it
        }
        refuse_unsafe(&opened).map_err(abandon)?;
        match flock(&fd, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => {}
            Err(Errno::EWOULDBLOCK) => {
                let named = open_to_read(dir, name);
                match lock::examine_locks(proc, fd.as_fd(), &opened, named.as_ref().map(AsFd::as_fd)) {
                    Proof::Held(holder) => return Err(Failure::AlreadyRunning(Some(holder.pid))),
                    // Locked, but only shared: no daemon's. Replace it.
                    Proof::Foreign => replace(dir, lock_name, inode(&opened)).map_err(sys)?,
                    // Released since (try again), or held by a process that
                    // cannot be told (look again, then refuse). Never replaced.
                    Proof::Free | Proof::Hidden(_) if unseen < UNSEEN_RETRIES => unseen += 1,
                    Proof::Free => return Err(Failure::AlreadyRunning(None)),
                    Proof::Hidden(why) => return Err(Failure::LockedUnseen(why)),
                }
                continue;
            }
            Err(errno) => return Err(abandon(sys(errno))),
        }
        match stat::fstatat(dir, lock_name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(now) if inode(&now) == inode(&opened) => {}
            Ok(_) | Err(Errno::ENOENT) => continue, // replaced before we locked it
            Err(errno) => return Err(abandon(sys(errno))),
        }
        // A lock file another user may have opened (one not made here: a
        // mode wider than ours) could be locked by them once we let go:
        // replaced by a new one, under the lock, before anything is written.
        #[allow(clippy::unnecessary_cast)] // mode_t is u16 on some targets
        if opened.st_mode as u32 & 0o077 != 0 {
            replace(dir, lock_name, inode(&opened)).map_err(sys)?;
            continue;
        }
        // 0600 whatever the umask, set through the lock's descriptor (an
        // owner's fchmod needs no write access) unless it is so already;
        // then the pid file.
        let written = set_mode(fd.as_fd(), &opened, LOCK_MODE).map_err(sys);
        match written.and_then(|()| write_pid_file(dir, name)) {
            Ok(pid_inode) => return Ok(Locked { fd, inode: inode(&opened), pid_inode }),
            Err(failure) => {
                // The lock file is ours now (locked, still at the path): a
                // failed start must not leave it behind.
                let _ = remove_named(dir, lock_name, inode(&opened));
                return Err(failure);
            }
        }
    }
    Err(sys(Errno::EAGAIN))
}

/// The pid file at `name`, opened to read the pid written in it, if it can
/// be (`O_NOFOLLOW`, `O_NONBLOCK`: a link or a FIFO there is not read).
fn open_to_read(dir: BorrowedFd<'_>, name: &CStr) -> Option<OwnedFd> {
    open_existing(dir, name, OFlag::O_RDONLY).ok()
}

/// Writes this process's pid into the pid file `name` in `dir`, with the
/// lock file's lock held (so no other starter writes it): a new file made
/// with `O_EXCL`, or the one there (a stale one, or an upgrade's), under
/// the pid file's rules (`O_NOFOLLOW`, `O_NONBLOCK`, a regular file with
/// one link owned by the effective user, checked before a byte is
/// written), made `0644` whatever the umask. The writable descriptor is
/// closed before this returns. Its inode, for the removal. A failure
/// removes a file this call created.
fn write_pid_file(dir: BorrowedFd<'_>, name: &CStr) -> Result<Inode, Failure> {
    let sys = |errno| Failure::Sys(Step::PidFile, errno);
    let flags = OFlag::O_WRONLY | CAREFUL;
    let mode = PID_MODE;
    let (writer, created) = match fcntl::openat(dir, name, flags | OFlag::O_CREAT | OFlag::O_EXCL, mode) {
        Ok(fd) => (fd, true),
        Err(Errno::EEXIST) => match open_existing(dir, name, OFlag::O_WRONLY) {
            Ok(fd) => (fd, false),
            Err(errno) if crate::sys::is_symlink_refusal(errno) => {
                return Err(Failure::Refused(Refusal::SymbolicLink));
            }
            // A FIFO with no reader (ENXIO), a directory.
            Err(Errno::ENXIO | Errno::EISDIR) => return Err(Failure::Refused(Refusal::NotRegular)),
            Err(errno) => return Err(sys(errno)),
        },
        Err(errno) => return Err(sys(errno)),
    };
    let opened = match stat::fstat(&writer) {
        Ok(opened) => opened,
        Err(errno) => {
            // Made by this call a moment ago, with the lock held: no other
            // start can have put another file at the name since.
            if created {
                let _ = unistd::unlinkat(dir, name, unistd::UnlinkatFlags::NoRemoveDir);
            }
            return Err(sys(errno));
        }
    };
    let written = refuse_unsafe(&opened).and_then(|()| {
        set_mode(writer.as_fd(), &opened, mode)
            .and_then(|()| write_pid(&writer, unistd::getpid()))
            // A file made here is empty: nothing after the pid to cut.
            .and_then(|written| match created {
                true => Ok(()),
                false => unistd::ftruncate(&writer, written as i64),
            })
            .map_err(sys)
    });
    if let Err(failure) = written {
        if created {
            let _ = remove_named(dir, name, inode(&opened));
        }
        return Err(failure);
    }
    Ok(inode(&opened))
}

/// Gives the file `fd` opened the permission bits `mode`, unless `opened`
/// (its `fstat`) shows it has them already: as it does when made under a
/// umask that takes none of them away.
fn set_mode(fd: BorrowedFd<'_>, opened: &stat::FileStat, mode: Mode) -> nix::Result<()> {
    #[allow(clippy::unnecessary_cast)] // mode_t is u16 on some targets
    match opened.st_mode as u32 & 0o7777 == mode.bits() as u32 {
        true => Ok(()),
        false => stat::fchmod(fd, mode),
    }
}

/// Writes this process's pid through a descriptor opened for just that,
/// checked to be the locked file, and closed before anything else runs.
fn write_pid_at(dir: BorrowedFd<'_>, name: &CStr, locked: Inode) -> nix::Result<()> {
    let writer = open_existing(dir, name, OFlag::O_WRONLY)?;
    if inode(&stat::fstat(&writer)?) != locked {
        return Err(Errno::ESTALE);
    }
    // Over the previous pid, then cut: a reader (a proof of who holds the
    // lock, while an upgrade's new process writes its pid) never finds the
    // file empty.
    let written = write_pid(&writer, unistd::getpid())?;
    unistd::ftruncate(&writer, written as i64)
}

/// Removes the pid file `name` and the lock file `lock_name` that `fd`
/// opened, if no process holds its lock (it takes the lock to be sure, and
/// keeps it while unlinking: no starter writes the pid file meanwhile).
/// `Ok` also when someone holds the lock (a new start): the files are
/// theirs. The pid file goes only if it is a regular file with one link
/// owned by the caller, the lock file only while the name still names the
/// locked file. What `stop` does once the daemon it stopped released the
/// lock.
pub(crate) fn remove_if_unheld(
    dir: BorrowedFd<'_>,
    name: &CStr,
    lock_name: &CStr,
    fd: BorrowedFd<'_>,
) -> nix::Result<()> {
    match flock(fd, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => {
            let locked = inode(&stat::fstat(fd)?);
            // Only while it is still the lock file at its name: a replaced
            // one has a new owner, whose pid file this is.
            match stat::fstatat(dir, lock_name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(now) if inode(&now) == locked => {}
                Ok(_) | Err(Errno::ENOENT) => return Ok(()),
                Err(errno) => return Err(errno),
            }
            match stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(found) if refuse_unsafe(&found).is_ok() => remove_named(dir, name, inode(&found))?,
                Ok(_) | Err(Errno::ENOENT) => {}
                Err(errno) => return Err(errno),
            }
            remove_named(dir, lock_name, locked)
        }
        Err(Errno::EWOULDBLOCK) => Ok(()),
        Err(errno) => Err(errno),
    }
}

/// Removes the lock file `fd` opened at `lock_name`, and only that, if no
/// process holds its lock (taken here, and kept while unlinking): what a
/// start does with a lock file it created and then failed on.
fn remove_lock_if_unheld(dir: BorrowedFd<'_>, lock_name: &CStr, fd: BorrowedFd<'_>) -> nix::Result<()> {
    match flock(fd, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => remove_named(dir, lock_name, inode(&stat::fstat(fd)?)),
        Err(Errno::EWOULDBLOCK) => Ok(()),
        Err(errno) => Err(errno),
    }
}

/// Unlinks a file that is locked by no daemon, so that the next pass creates
/// a new one. Two starters may find the same such file: the directory's own
/// lock (held for a moment, never across anything that blocks) makes the
/// check and the unlink one step, so that one of them never unlinks the
/// file the other has just created and locked in its place.
fn replace(dir: BorrowedFd<'_>, name: &CStr, stale: Inode) -> nix::Result<()> {
    let guard =
        fcntl::openat(dir, c".", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())?;
    let locked = Deadline::after(Duration::from_secs(1)).retry(Duration::from_millis(1), || {
        match flock(&guard, libc::LOCK_EX | libc::LOCK_NB) {
            Err(Errno::EWOULDBLOCK) => None,
            done => Some(done),
        }
    });
    locked.unwrap_or(Err(Errno::EWOULDBLOCK))?;
    match stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(now) if inode(&now) == stale => unistd::unlinkat(dir, name, unistd::UnlinkatFlags::NoRemoveDir),
        _ => Ok(()), // already replaced by someone else
    }
}

impl Leftover {
    /// Removes the pid file and its lock file if no process holds the lock:
    /// what a launcher does after killing a daemon that never became ready.
    /// The lock file is opened in the directory the start walked (the
    /// daemon's, inside its chroot), and the files are unlinked from it as
    /// [`remove_if_unheld`] says: nothing is looked up again by path. A
    /// killed process releases its lock as it exits, possibly just after
    /// the launcher saw the report pipe close, so a held lock is retried
    /// for a moment. A file someone else holds after that, or a symbolic
    /// link, is left alone.
    pub(crate) fn remove_if_stale(&self) {
        let (dir, name) = (self.dir.as_fd(), self.name.as_c_str());
        let lock_name = lock_name_of(name);
        let Ok(fd) = open_existing(dir, lock_name.as_c_str(), OFlag::O_RDONLY) else {
            return;
        };
        let locked = Deadline::after(Duration::from_millis(200)).retry(Duration::from_millis(1), || {
            match flock(&fd, libc::LOCK_EX | libc::LOCK_NB) {
                Err(Errno::EWOULDBLOCK) => None,
                done => Some(done),
            }
        });
        if locked == Some(Ok(())) {
            let _ = remove_if_unheld(dir, name, &lock_name, fd.as_fd());
        }
    }
}

/// Moves `fd` to the lowest free number after stdio and the sockets a
/// service manager passed (`3 + LISTEN_FDS`), keeping `O_CLOEXEC`: the pid
/// file's lock then sits right after them, where tools expect it, and never
/// among the descriptors the daemon takes as its sockets.
pub(crate) fn lowest(fd: OwnedFd) -> OwnedFd {
    use std::os::fd::{AsRawFd, FromRawFd};
    let above = crate::steps::activation::kept().end;
    if fd.as_raw_fd() == above {
        return fd; // the lowest it may be already
    }
    match fcntl::fcntl(&fd, FcntlArg::F_DUPFD_CLOEXEC(above)) {
        Ok(moved) => {
            // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor nothing else owns.
            let moved = unsafe { OwnedFd::from_raw_fd(moved) };
            // The other copy is closed; the lock lives on in the shared
            // description. One below `above` is in the passed range (a
            // socket the body took and closed): always moved out of it.
            let inside = fd.as_raw_fd() < above;
            if inside || moved.as_raw_fd() < fd.as_raw_fd() { moved } else { fd }
        }
        Err(_) => fd,
    }
}
