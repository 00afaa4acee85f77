//! The pid file: created safely, locked for the daemon's life, removed at exit.
//!
//! The lock, not the pid written in the file, says whether a daemon runs: a
//! file no live process is proven to hold an exclusive lock on is stale
//! whatever it contains (see [`crate::lock`]), and its contents are never
//! trusted (no signal is ever sent to the pid it names).

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

use crate::error::Failure;
use crate::error::{Refusal, Step};
use crate::lock::pid_text::write_pid;
use crate::lock::{self, Proof, flock};
use crate::path::at::{refuse_unsafe, remove_named};
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

/// A locked pid file holding this process's pid.
///
/// The lock is held on a read-only descriptor: a daemon that drops its
/// privileges, or a program `daemon-run` executes (which inherits it on
/// descriptor 3), cannot write the root-owned file through it.
///
/// Dropping it removes the file, then releases the lock: in that order, so
/// that no second daemon can lock the old file while the path still names it.
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
    /// The locked file's device and inode: the name is removed only while it
    /// still names this file.
    inode: Inode,
    /// The locked read-only descriptor (the lock belongs to its open file description).
    lock: Option<OwnedFd>,
}

impl PidFile {
    /// Resolves the directory of `path` (symbolic links followed only when
    /// root or the effective user owns them, see [`Daemon::pid_file`](crate::Daemon::pid_file)),
    /// then opens or creates the file there (`O_NOFOLLOW`, `O_CLOEXEC`,
    /// `O_NONBLOCK`, read-only, mode `0644` whatever the umask), refuses
    /// anything but a regular file with one link owned by the effective user,
    /// takes `flock(LOCK_EX|LOCK_NB)`, checks the name still names the locked
    /// file, then writes this process's pid through a short-lived writable
    /// descriptor checked to be the same file.
    ///
    /// A file locked by no live process that can be proven to hold an
    /// exclusive lock (a shared lock, a lock-taker that exited) is replaced.
    /// A failed call removes a file it created, never another.
    ///
    /// It allocates (the walk): call it before forking, or in a process that
    /// is single-threaded.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyRunning`](crate::Error::AlreadyRunning) when another
    /// process holds the lock; [`Error::PidFileRefused`](crate::Error::PidFileRefused)
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

    /// The locked descriptor.
    pub(crate) fn descriptor(&self) -> Option<BorrowedFd<'_>> {
        self.lock.as_ref().map(AsFd::as_fd)
    }

    /// Removes the file on the terminating signals the body does not handle.
    /// From now on the directory and name are never freed.
    pub(crate) fn remove_on_termination(&mut self) {
        self.armed = true;
        // SAFETY: `at` is `ManuallyDrop` and, once `armed`, never dropped
        // (see `Drop`): its directory stays open and its name allocated.
        unsafe { crate::steps::termination::arm(self.at.dir.as_fd(), &self.at.name, self.inode) };
    }

    /// A pid file that [`lock_at`] locked in `location`: the lock moved to
    /// the lowest free descriptor, the directory right after it. `/proc` is
    /// closed here: inside a chroot it would be a way out.
    pub(crate) fn from_lock(path: CString, location: Location, locked: Locked) -> PidFile {
        let Location { dir, name, proc } = location;
        drop(proc);
        let lock = lowest(locked.fd);
        let dir = lowest(dir);
        PidFile {
            // Kept as it is: no conversion runs between the forks.
            path,
            at: ManuallyDrop::new(Location { dir, name, proc: None }),
            armed: false,
            inode: locked.inode,
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
            // old file sees the name no longer names it and starts over.
            let _ = remove_named(self.at.dir.as_fd(), &self.at.name, self.inode);
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
/// name, and `/proc` (to prove who holds a lock, even inside a chroot).
#[derive(Debug)]
pub(crate) struct Location {
    dir: OwnedFd,
    name: CString,
    proc: Option<OwnedFd>,
}

impl Location {
    /// Resolves the directory of `path`, which the daemon sees under `root`
    /// (its chroot's descriptor, if any): see [`crate::path::walk`].
    pub(crate) fn find(path: &Path, root: Option<BorrowedFd<'_>>) -> Result<Location, crate::error::Error> {
        let (dir, name) =
            walk::parent(path, root).map_err(|denied| denied.into_error(Step::PidFile, path))?;
        let proc = lock::open_proc().ok().flatten();
        Ok(Location { dir, name, proc })
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

    /// Whether process `pid` is proven to hold the file's exclusive lock
    /// now (see [`crate::lock`]): `false` when the lock is free, foreign,
    /// held by another process, or the file is gone. A holder that cannot
    /// be told (outside the pid namespace) is given the benefit of the
    /// doubt: nothing is stopped on a guess.
    pub(crate) fn held_by(&self, pid: u32) -> bool {
        let flags =
            OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
        let Ok(fd) = fcntl::openat(self.dir.as_fd(), self.name.as_c_str(), flags, Mode::empty()) else {
            return false;
        };
        let Ok(opened) = stat::fstat(&fd) else { return false };
        let proc = lock::open_proc().ok().flatten();
        match lock::examine_locks(proc.as_ref().map(AsFd::as_fd), fd.as_fd(), &opened) {
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

/// The pid file's locked descriptor an upgrading process passed to this
/// one (see [`crate::Upgrade`]), adopted instead of locked again: it must
/// be a regular file, the one the walked directory's name names now, and
/// this process's open file description must hold its exclusive lock
/// (a `flock(LOCK_EX|LOCK_NB)` on a description that holds it succeeds
/// and changes nothing). Nothing is written: the new process writes its
/// pid when it is ready ([`Claim::take_over`]).
pub(crate) fn adopt(location: &Location, fd: OwnedFd) -> Result<Locked, Failure> {
    let sys = |errno| Failure::Sys(Step::PidFile, errno);
    let opened = stat::fstat(&fd).map_err(sys)?;
    if walk::kind(&opened) != SFlag::S_IFREG {
        return Err(Failure::Refused(Refusal::NotRegular));
    }
    match stat::fstatat(location.dir.as_fd(), location.name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(now) if inode(&now) == inode(&opened) => {}
        Ok(_) | Err(Errno::ENOENT) => return Err(sys(Errno::ESTALE)),
        Err(errno) => return Err(sys(errno)),
    }
    flock(&fd, libc::LOCK_EX | libc::LOCK_NB).map_err(sys)?;
    Ok(Locked { fd, inode: inode(&opened) })
}

/// Where a new process of an upgrade writes its pid once it is ready: the
/// adopted pid file's directory and name, never freed from then on (the
/// termination handler is given them then).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim {
    dir: RawFd,
    name: &'static CStr,
    inode: Inode,
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
        Claim { dir: self.at.dir.as_raw_fd(), name, inode: self.inode }
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
        write_pid_at(dir, self.name, self.inode)?;
        crate::upgrade::state::share_pid_file(false);
        // SAFETY: the directory stays open and the name allocated for the
        // rest of the process (see [`PidFile::claim`]).
        unsafe { crate::steps::termination::arm(dir, self.name, self.inode) };
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

/// A locked pid file's descriptor, before it becomes a [`PidFile`].
#[derive(Debug)]
pub(crate) struct Locked {
    fd: OwnedFd,
    inode: Inode,
}

/// The lock protocol of [`PidFile::acquire`] in the walked directory,
/// allocation-free: it runs in the daemon, between the forks.
pub(crate) fn lock_at(location: &Location) -> Result<Locked, Failure> {
    let (dir, name) = (location.dir.as_fd(), location.name.as_c_str());
    let proc = location.proc.as_ref().map(AsFd::as_fd);
    let sys = |errno| Failure::Sys(Step::PidFile, errno);
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    let mode = Mode::from_bits_truncate(0o644);
    let mut unseen = 0;
    for _ in 0..ATTEMPTS {
        // O_EXCL first: a failure below removes a file this start created, and only that.
        let (fd, created) = match fcntl::openat(dir, name, flags | OFlag::O_CREAT | OFlag::O_EXCL, mode) {
            Ok(fd) => (fd, true),
            Err(Errno::EEXIST) => match fcntl::openat(dir, name, flags, Mode::empty()) {
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
                let _ = remove_if_unheld(dir, name, fd.as_fd());
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
                match lock::examine_locks(proc, fd.as_fd(), &opened) {
                    Proof::Held(holder) => return Err(Failure::AlreadyRunning(Some(holder.pid))),
                    // Locked, but by no live daemon (a shared lock, or a
                    // taker that exited): not a pid file of ours. Replace it.
                    Proof::Foreign => replace(dir, name, inode(&opened)).map_err(sys)?,
                    // Released since (try again), or held by a process that
                    // cannot be told (look again, then refuse). Never replaced.
                    Proof::Free | Proof::Hidden(_) if unseen < UNSEEN_RETRIES => unseen += 1,
                    Proof::Free | Proof::Hidden(_) => return Err(Failure::AlreadyRunning(None)),
                }
                continue;
            }
            Err(errno) => return Err(abandon(sys(errno))),
        }
        match stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(now) if inode(&now) == inode(&opened) => {}
            Ok(_) | Err(Errno::ENOENT) => continue, // replaced before we locked it
            Err(errno) => return Err(abandon(sys(errno))),
        }
        // 0644 whatever the umask, set through the lock's descriptor (an
        // owner's fchmod needs no write access).
        let written = stat::fchmod(&fd, Mode::from_bits_truncate(0o644))
            .and_then(|()| write_pid_at(dir, name, inode(&opened)));
        if let Err(errno) = written {
            // The file is ours now (locked, still at the path): a failed
            // start must not leave it behind.
            let _ = remove_named(dir, name, inode(&opened));
            return Err(sys(errno));
        }
        return Ok(Locked { fd, inode: inode(&opened) });
    }
    Err(sys(Errno::EAGAIN))
}

/// Writes this process's pid through a descriptor opened for just that,
/// checked to be the locked file, and closed before anything else runs.
fn write_pid_at(dir: BorrowedFd<'_>, name: &CStr, locked: Inode) -> nix::Result<()> {
    let flags = OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    let writer = fcntl::openat(dir, name, flags, Mode::empty())?;
    if inode(&stat::fstat(&writer)?) != locked {
        return Err(Errno::ESTALE);
    }
    // Over the previous pid, then cut: a reader (a proof of who holds the
    // lock, while an upgrade's new process writes its pid) never finds the
    // file empty.
    let written = write_pid(&writer, unistd::getpid())?;
    unistd::ftruncate(&writer, written as i64)
}

/// Removes the file `fd` opened at `name` if no process holds its lock (it
/// takes the lock to be sure, and keeps it while unlinking). `Ok` also when
/// someone holds the lock (a new start): the file is theirs. What `stop`
/// does once the daemon it stopped released the lock.
pub(crate) fn remove_if_unheld(dir: BorrowedFd<'_>, name: &CStr, fd: BorrowedFd<'_>) -> nix::Result<()> {
    match flock(fd, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => remove_named(dir, name, inode(&stat::fstat(fd)?)),
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
    let mut tries = 0;
    loop {
        match flock(&guard, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => break,
            Err(Errno::EWOULDBLOCK) if tries < 1000 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(errno) => return Err(errno),
        }
    }
    match stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(now) if inode(&now) == stale => unistd::unlinkat(dir, name, unistd::UnlinkatFlags::NoRemoveDir),
        _ => Ok(()), // already replaced by someone else
    }
}

impl Leftover {
    /// Removes the pid file if no process holds its lock: what a launcher
    /// does after killing a daemon that never became ready. The file is
    /// opened in the directory the start walked (the daemon's, inside its
    /// chroot), and unlinked from it only while the name still names the
    /// file whose lock was taken: nothing is looked up again by path. A
    /// killed process releases its lock as it exits, possibly just after
    /// the launcher saw the report pipe close, so a held lock is retried
    /// for a moment. A file someone else holds after that, or a symbolic
    /// link, is left alone.
    pub(crate) fn remove_if_stale(&self) {
        let (dir, name) = (self.dir.as_fd(), self.name.as_c_str());
        let flags =
            OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
        let Ok(fd) = fcntl::openat(dir, name, flags, Mode::empty()) else {
            return;
        };
        for _ in 0..200 {
            match flock(&fd, libc::LOCK_EX | libc::LOCK_NB) {
                Ok(()) => {
                    let _ = remove_if_unheld(dir, name, fd.as_fd());
                    return;
                }
                Err(Errno::EWOULDBLOCK) => std::thread::sleep(Duration::from_millis(1)),
                Err(_) => return,
            }
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
