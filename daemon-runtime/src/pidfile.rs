//! The pid file: created safely, locked for the daemon's life, removed at exit.
//!
//! The lock, not the pid written in the file, says whether a daemon runs: a
//! file nobody has locked is stale whatever it contains, and its contents are
//! never trusted (no signal is ever sent to the pid it names).

use std::ffi::{CStr, CString, OsStr};
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{self, AtFlags, FcntlArg, OFlag};
use nix::sys::stat::{self, FileStat, Mode, SFlag};
use nix::sys::uio;
use nix::unistd::{self, Pid};

use crate::error::{Refusal, Step};
use crate::report::Failure;

/// How often to start over when the file was replaced between `open` and
/// `flock` (a stopping daemon unlinks it): each pass needs a whole stop to
/// race it, so a few passes are plenty.
const ATTEMPTS: usize = 16;

/// A locked pid file holding this process's pid.
///
/// Dropping it removes the file, then releases the lock: in that order, so
/// that no second daemon can lock the old file while the path still names it.
///
/// ```no_run
/// use daemon_runtime::PidFile;
///
/// let pid_file = PidFile::acquire(c"/run/myd.pid".to_owned()).expect("pid file");
/// assert_eq!(pid_file.path(), std::path::Path::new("/run/myd.pid"));
/// drop(pid_file); // removed and unlocked
/// ```
pub struct PidFile {
    path: CString,
    /// The locked descriptor (the lock belongs to its open file description).
    lock: Option<OwnedFd>,
}

impl PidFile {
    /// Opens or creates `path` (`O_NOFOLLOW`, `O_CLOEXEC`, `O_NONBLOCK`, mode
    /// `0644` whatever the umask), refuses anything but a regular file with
    /// one link owned by the effective user, takes `flock(LOCK_EX|LOCK_NB)`,
    /// checks the path still names the locked file, then writes this
    /// process's pid.
    ///
    /// Async-signal-safe: it allocates nothing (the `CString` is built by the
    /// caller), so it may run between `fork` and `exec`. For the same reason
    /// it does not walk the directories of `path`: [`Daemon::pid_file`](crate::Daemon::pid_file)
    /// also refuses a symbolic link planted there by another user.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyRunning`](crate::Error::AlreadyRunning) when another
    /// process holds the lock; [`Error::PidFileRefused`](crate::Error::PidFileRefused)
    /// for a symbolic link, FIFO, directory, linked or foreign file;
    /// [`Error::Path`](crate::Error::Path) when a system call fails.
    ///
    /// ```no_run
    /// let pid_file = daemon_runtime::PidFile::acquire(c"/tmp/example.pid".to_owned())?;
    /// # Ok::<(), daemon_runtime::Error>(())
    /// ```
    pub fn acquire(path: CString) -> Result<PidFile, crate::Error> {
        match lock(&path) {
            Ok(lock) => Ok(PidFile { path, lock: Some(lock) }),
            Err(failure) => Err(crate::error::from_failure(failure, |_| Some(as_path(&path).into()))),
        }
    }

    /// The locked descriptor.
    pub(crate) fn descriptor(&self) -> Option<BorrowedFd<'_>> {
        self.lock.as_ref().map(AsFd::as_fd)
    }

    /// Removes the file on SIGTERM and SIGINT when nothing else handles them.
    pub(crate) fn remove_on_termination(&self) {
        crate::termination::arm(&self.path);
    }

    pub(crate) fn from_lock(path: CString, lock: OwnedFd) -> PidFile {
        PidFile { path, lock: Some(lock) }
    }

    /// The path of the pid file.
    ///
    /// ```no_run
    /// # let pid_file = daemon_runtime::PidFile::acquire(c"/tmp/x.pid".to_owned()).unwrap();
    /// println!("{}", pid_file.path().display());
    /// ```
    pub fn path(&self) -> &Path {
        as_path(&self.path)
    }
}

impl fmt::Debug for PidFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PidFile").field("path", &self.path()).finish_non_exhaustive()
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        crate::termination::disarm();
        // Unlink while still holding the lock: a starter that opened the old
        // file sees the path no longer names it and starts over.
        let _ = unistd::unlink(self.path.as_c_str());
        if let Some(lock) = self.lock.take() {
            // Explicitly: a child forked without exec shares the description.
            let _ = flock(&lock, libc::LOCK_UN);
        }
    }
}

fn as_path(path: &CStr) -> &Path {
    Path::new(OsStr::from_bytes(path.to_bytes()))
}

/// Where the pid file goes, found in the launcher: its directory opened
/// (so that nothing swapped into the path later is followed), and its name.
#[derive(Debug)]
pub(crate) struct Location {
    dir: OwnedFd,
    name: CString,
}

impl Location {
    /// Opens the directory of `path`, which the daemon sees under `root`
    /// (its chroot, if any). A symbolic link on the way is followed only when
    /// root or the starting user owns it (like `/var/run` → `/run`): one
    /// planted by another user could point a root daemon at `/etc`.
    pub(crate) fn find(path: &Path, root: Option<&Path>) -> Result<Location, crate::Error> {
        let error = |errno| crate::Error::Path { step: Step::PidFile, path: path.to_path_buf(), errno };
        let name = path.file_name().ok_or_else(|| error(Errno::EISDIR))?;
        let name = CString::new(name.as_bytes()).map_err(|_| error(Errno::EINVAL))?;
        let parent = path.parent().unwrap_or(Path::new("/"));
        let parent = match root {
            Some(root) => root.join(parent.strip_prefix("/").unwrap_or(parent)),
            None => parent.to_path_buf(),
        };
        let euid = unistd::geteuid().as_raw();
        for ancestor in parent.ancestors() {
            match stat::lstat(ancestor) {
                Ok(link) if SFlag::from_bits_truncate(link.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK => {
                    if link.st_uid != 0 && link.st_uid != euid {
                        let reason = Refusal::UntrustedSymlink { uid: link.st_uid };
                        return Err(crate::Error::PidFileRefused { path: path.to_path_buf(), reason });
                    }
                }
                Ok(_) => {}
                Err(errno) => return Err(error(errno)),
            }
        }
        let dir = fcntl::open(&parent, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(error)?;
        Ok(Location { dir, name })
    }

    /// The directory's descriptor, to keep open until the pid file is locked.
    pub(crate) fn dir_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.dir)
    }
}

/// The lock protocol of [`PidFile::acquire`], allocation-free.
pub(crate) fn lock_at(location: &Location) -> Result<OwnedFd, Failure> {
    lock_in(location.dir.as_fd(), &location.name)
}

/// [`lock_at`] for a whole path, relative to the working directory.
pub(crate) fn lock(path: &CStr) -> Result<OwnedFd, Failure> {
    lock_in(cwd(), path)
}

/// `AT_FDCWD`: paths taken as `open(2)` takes them.
fn cwd() -> BorrowedFd<'static> {
    // SAFETY: AT_FDCWD is a constant the *at calls accept in place of a
    // descriptor; it is never closed or read from.
    unsafe { BorrowedFd::borrow_raw(libc::AT_FDCWD) }
}

fn lock_in(dir: BorrowedFd<'_>, path: &CStr) -> Result<OwnedFd, Failure> {
    let sys = |errno| Failure::Sys(Step::PidFile, errno);
    for _ in 0..ATTEMPTS {
        let flags = OFlag::O_RDWR
            | OFlag::O_CREAT
            | OFlag::O_CLOEXEC
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_NOCTTY;
        let fd = fcntl::openat(dir, path, flags, Mode::from_bits_truncate(0o644)).map_err(|errno| {
            // O_NOFOLLOW reports a symbolic link as ELOOP: say what it is.
            if errno == Errno::ELOOP { Failure::Refused(Refusal::SymbolicLink) } else { sys(errno) }
        })?;
        let opened = stat::fstat(&fd).map_err(sys)?;
        if opened.st_nlink == 0 {
            continue; // unlinked by a stopping daemon since we opened it
        }
        refuse_unsafe(&opened)?;
        match flock(&fd, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => {}
            Err(Errno::EWOULDBLOCK) => return Err(Failure::AlreadyRunning(holder(&fd))),
            Err(errno) => return Err(sys(errno)),
        }
        let lock = fd;
        match stat::fstatat(dir, path, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(now) if same_file(&now, &opened) => {}
            Ok(_) | Err(Errno::ENOENT) => continue, // replaced before we locked it
            Err(errno) => return Err(sys(errno)),
        }
        let written = stat::fchmod(&lock, Mode::from_bits_truncate(0o644))
            .and_then(|()| unistd::ftruncate(&lock, 0))
            .and_then(|()| write_pid(&lock, unistd::getpid()));
        if let Err(errno) = written {
            // The file is ours now (locked, still at the path): a failed
            // start must not leave it behind.
            let _ = unistd::unlinkat(dir, path, unistd::UnlinkatFlags::NoRemoveDir);
            return Err(sys(errno));
        }
        return Ok(lock);
    }
    Err(sys(Errno::EAGAIN))
}

/// Removes the pid file at `path` if no process holds its lock: what a
/// launcher does after killing a daemon that never became ready. A killed
/// process releases its lock as it exits, possibly just after the launcher
/// saw the report pipe close, so a held lock is retried for a moment. A file
/// someone else holds after that, or a symbolic link, is left alone.
pub(crate) fn remove_if_stale(path: &Path) {
    let flags = OFlag::O_RDWR | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    let Ok(fd) = fcntl::open(path, flags, Mode::empty()) else {
        return;
    };
    let Ok(opened) = stat::fstat(&fd) else { return };
    for _ in 0..200 {
        match flock(&fd, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => {
                if stat::lstat(path).is_ok_and(|now| same_file(&now, &opened)) {
                    let _ = unistd::unlink(path);
                }
                return;
            }
            Err(Errno::EWOULDBLOCK) => std::thread::sleep(Duration::from_millis(1)),
            Err(_) => return,
        }
    }
}

/// `flock(2)`. nix's `Flock` guard unlocks on drop, which would release the
/// lock when the descriptor is moved to a lower number; the lock belongs to
/// the open file description, so a plain call is what is needed.
fn flock(fd: impl AsFd, operation: libc::c_int) -> nix::Result<()> {
    // SAFETY: flock takes a descriptor the caller borrows for the call and
    // touches no memory.
    Errno::result(unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd()), operation) }).map(drop)
}

/// Moves `fd` to the lowest free number (at least 3), keeping `O_CLOEXEC`:
/// the pid file's lock then sits right after stdio, where tools expect it.
pub(crate) fn lowest(fd: OwnedFd) -> OwnedFd {
    use std::os::fd::{AsRawFd, FromRawFd};
    match fcntl::fcntl(&fd, FcntlArg::F_DUPFD_CLOEXEC(3)) {
        Ok(moved) => {
            // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor nothing else owns.
            let moved = unsafe { OwnedFd::from_raw_fd(moved) };
            // The other copy is closed; the lock lives on in the shared description.
            if moved.as_raw_fd() < fd.as_raw_fd() { moved } else { fd }
        }
        Err(_) => fd,
    }
}

fn refuse_unsafe(file: &FileStat) -> Result<(), Failure> {
    if SFlag::from_bits_truncate(file.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
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

fn same_file(a: &FileStat, b: &FileStat) -> bool {
    a.st_dev == b.st_dev && a.st_ino == b.st_ino
}

fn write_pid(fd: impl AsFd, pid: Pid) -> nix::Result<()> {
    let mut buf = [0u8; 24];
    let text = format_pid(pid.as_raw().unsigned_abs(), &mut buf);
    let mut written = 0;
    while written < text.len() {
        match uio::pwrite(fd.as_fd(), &text[written..], written as i64) {
            Ok(n) => written += n,
            Err(Errno::EINTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// `pid` in decimal and a newline, formatted into `buf` without allocating.
pub(crate) fn format_pid(mut pid: u32, buf: &mut [u8; 24]) -> &[u8] {
    let mut start = buf.len() - 1;
    buf[start] = b'\n';
    loop {
        start -= 1;
        buf[start] = b'0' + (pid % 10) as u8;
        pid /= 10;
        if pid == 0 {
            return &buf[start..];
        }
    }
}

/// The pid the lock holder wrote. It locks first and writes right after, so
/// an empty or partial file is retried for up to a second (a loaded machine
/// can preempt the holder between the two); garbage gives `None`. Only a
/// start that is refused anyway waits here.
fn holder(fd: impl AsFd) -> Option<u32> {
    for _ in 0..1000 {
        let mut buf = [0u8; 24];
        if let Ok(n) = uio::pread(fd.as_fd(), &mut buf, 0)
            && let Some(pid) = parse_pid(&buf[..n])
        {
            return Some(pid);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

/// A positive decimal pid followed by a newline, and nothing else.
pub(crate) fn parse_pid(text: &[u8]) -> Option<u32> {
    let digits = text.strip_suffix(b"\n")?;
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let pid = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    u32::try_from(pid).ok().filter(|&pid| pid > 0 && pid <= i32::MAX as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_format_and_parse_back() {
        for pid in [1, 9, 10, 4242, 4_194_304, i32::MAX as u32] {
            let mut buf = [0u8; 24];
            let text = format_pid(pid, &mut buf);
            assert_eq!(text, format!("{pid}\n").as_bytes());
            assert_eq!(parse_pid(text), Some(pid));
        }
    }

    #[test]
    fn garbage_is_no_pid() {
        for text in ["", "\n", "abc\n", "-1\n", "0\n", "12", "99999999999\n", "2147483648\n", "1 2\n"] {
            assert_eq!(parse_pid(text.as_bytes()), None, "{text:?}");
        }
    }
}
