//! `--stop`, `--status`, `--signal`: operating a running daemon by its pid
//! file's lock, decided by `daemon_runtime::status` and `signal`, and
//! signalling only the process holding the lock, through a pidfd. A stale
//! file naming a reused pid never gets anyone signalled.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
#[cfg(target_os = "linux")]
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use daemon_runtime::Status;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use nix::sys::stat::{Mode, fstat, fstatat};

use crate::parse::Schedule;

/// Exit code: done (running, for `--status`).
pub const OK: i32 = 0;
/// Exit code: `--stop` ran its schedule out and the process still runs;
/// `--status`: dead, but its pid file is left.
pub const FAILED: i32 = 1;
/// Exit code: not running (`--status`, `--signal`).
pub const NOT_RUNNING: i32 = 3;
/// Exit code: the pid file or `/proc/locks` could not be read.
pub const UNKNOWN: i32 = 4;

/// `--status`: prints the state on standard output and returns its LSB code:
/// 0 running, 1 dead with a pid file left, 3 not running, 4 unknown.
pub fn status(pid_file: &Path) -> i32 {
    let status = match daemon_runtime::status(pid_file) {
        Ok(status) => status,
        Err(error) => return fail("status", pid_file, &error, UNKNOWN),
    };
    match status {
        Status::Running { pid } => println!("running (pid {pid})"),
        Status::Stale => println!("not running, but {} is left", pid_file.display()),
        Status::Absent => println!("not running"),
    }
    status.lsb_code()
}

/// `--signal`: sends `signal` to the lock holder. 0 sent, 3 not running, 4
/// the pid file could not be read or the signal not sent.
pub fn signal(pid_file: &Path, signal: Signal) -> i32 {
    match daemon_runtime::signal(pid_file, signal) {
        Ok(Some(_)) => OK,
        Ok(None) => {
            eprintln!("error: signal: {}: not running", pid_file.display());
            NOT_RUNNING
        }
        Err(error) => fail("signal", pid_file, &error, UNKNOWN),
    }
}

/// `--stop`: follows `schedule` until the lock holder is gone, then removes
/// the pid file it left. 0 gone (or was not running), 1 still running at
/// the end of the schedule, 4 the pid file could not be read.
///
/// The holder is pinned by a pidfd opened while it holds the lock (read
/// again after opening, as `daemon_runtime::stop` does): every signal of
/// the schedule goes to that process and no other, and its exit is seen by
/// polling the pidfd, at once, rather than by re-reading `/proc/locks`.
pub fn stop(pid_file: &Path, schedule: &Schedule) -> i32 {
    let holder = || daemon_runtime::status(pid_file);
    let pid = match holder() {
        Ok(Status::Running { pid }) => pid,
        Ok(_) => return finish(pid_file),
        Err(error) => return fail("stop", pid_file, &error, UNKNOWN),
    };
    let pidfd = match pidfd_open(pid) {
        Ok(pidfd) => pidfd,
        Err(error) if error.raw_os_error() == Some(libc::ESRCH) => return finish(pid_file),
        Err(error) => return fail("stop", pid_file, &error, UNKNOWN),
    };
    match holder() {
        Ok(Status::Running { pid: still }) if still == pid => {}
        // It released the lock meanwhile (it is going, or gone): the pidfd
        // may name a reused pid, so nothing is signalled.
        Ok(_) => return finish(pid_file),
        Err(error) => return fail("stop", pid_file, &error, UNKNOWN),
    }
    // Gone means both: the process has exited, and the lock is released
    // (children it forked may hold it a little longer: they inherit it).
    let mut exited = false;
    for &(signal, timeout) in schedule.steps() {
        let deadline = Instant::now() + timeout;
        if !exited {
            match pidfd_send_signal(&pidfd, signal) {
                Ok(()) => exited = exit_by(&pidfd, deadline),
                Err(error) if error.raw_os_error() == Some(libc::ESRCH) => exited = true,
                Err(error) => return fail("stop", pid_file, &error, UNKNOWN),
            }
        }
        if exited {
            match released_by(pid_file, pid, deadline) {
                Ok(true) => return finish(pid_file),
                Ok(false) => {}
                Err(error) => return fail("stop", pid_file, &error, UNKNOWN),
            }
        }
    }
    match exited {
        true => eprintln!(
            "error: stop: {}: pid {pid} has exited, but processes it left still hold the lock",
            pid_file.display()
        ),
        false => {
            eprintln!("error: stop: {}: pid {pid} is still running after the schedule", pid_file.display())
        }
    }
    FAILED
}

/// Waits until `deadline` for the process of `pidfd` to exit; the pidfd
/// becomes readable at once when it does.
fn exit_by(pidfd: &OwnedFd, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX)) {
            Ok(0) if left.is_zero() => return false,
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) => return true,
            Err(_) => return false,
        }
    }
}

/// Waits until `deadline` for nobody to hold the pid file's lock, or for a
/// new start to hold it. A process the stopped one forked may still hold the
/// lock it inherited for a moment after its parent exited: the runtime no
/// longer calls that "running" (no live holder is proven), so the lock
/// itself is looked for in `/proc/locks`, without taking it.
fn released_by(pid_file: &Path, stopped: u32, deadline: Instant) -> io::Result<bool> {
    loop {
        match daemon_runtime::status(pid_file)? {
            Status::Running { pid } if pid != stopped => return Ok(true),
            Status::Running { .. } => {}
            _ if !locked(pid_file)? => return Ok(true),
            _ => {}
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether any `flock` is held on the file at `path` (`/proc/locks` lists
/// it as `1: FLOCK  ADVISORY  WRITE 1234 fe:00:10010895 0 EOF`).
#[cfg(target_os = "linux")]
fn locked(path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    let (dev, ino) = (meta.dev(), meta.ino());
    let inode = format!("{:02x}:{:02x}:{ino}", libc::major(dev), libc::minor(dev));
    let locks = std::fs::read_to_string("/proc/locks")?;
    Ok(locks.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&inode.as_str())
    }))
}

#[cfg(target_os = "linux")]
fn pidfd_send_signal(pidfd: &OwnedFd, signal: Signal) -> io::Result<()> {
    // SAFETY: a pidfd we own, a signal number, no siginfo (null), no flags.
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if sent < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// A pidfd for `pid` (nix has no wrapper).
#[cfg(target_os = "linux")]
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Off Linux, `daemon_runtime::status` already refused (no `/proc`, no
/// pidfds): these are never reached, and would refuse as well.
#[cfg(not(target_os = "linux"))]
fn locked(_path: &Path) -> io::Result<bool> {
    Err(unsupported())
}

#[cfg(not(target_os = "linux"))]
fn pidfd_send_signal(_pidfd: &OwnedFd, _signal: Signal) -> io::Result<()> {
    Err(unsupported())
}

#[cfg(not(target_os = "linux"))]
fn pidfd_open(_pid: u32) -> io::Result<OwnedFd> {
    Err(unsupported())
}

#[cfg(not(target_os = "linux"))]
fn unsupported() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "pidfds and /proc/locks are linux's")
}

/// The daemon is gone: remove what it left (a wrapped program cannot
/// remove its pid file; an attribute daemon killed by SIGKILL neither).
fn finish(pid_file: &Path) -> i32 {
    match remove_stale(pid_file) {
        Ok(()) => OK,
        Err(errno) => {
            eprintln!("error: stop: {}: {} (the process is gone)", pid_file.display(), errno.desc());
            FAILED
        }
    }
}

/// Removes the pid file at `path` if nobody holds its lock. Every call goes
/// through one descriptor of its directory, so a directory swapped in
/// between cannot make it remove another file; the lock, held while
/// unlinking, keeps a concurrent start from having taken the file.
fn remove_stale(path: &Path) -> Result<(), Errno> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return Err(Errno::EINVAL) };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let name = CString::new(name.as_bytes()).map_err(|_| Errno::EINVAL)?;
    let dir: OwnedFd =
        nix::fcntl::open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())?;
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY;
    let file = match nix::fcntl::openat(dir.as_fd(), name.as_c_str(), flags, Mode::empty()) {
        Ok(file) => file,
        Err(Errno::ENOENT) => return Ok(()),
        Err(errno) => return Err(errno),
    };
    let opened = fstat(file.as_fd())?;
    if opened.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Errno::EINVAL);
    }
    // SAFETY: flock on a descriptor we own; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return match Errno::last() {
            // A new start holds it now: it is not stale.
            Errno::EWOULDBLOCK => Ok(()),
            errno => Err(errno),
        };
    }
    let named = fstatat(dir.as_fd(), name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
    if (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino) {
        nix::unistd::unlinkat(dir.as_fd(), name.as_c_str(), nix::unistd::UnlinkatFlags::NoRemoveDir)?;
    }
    Ok(())
}

fn fail(verb: &str, pid_file: &Path, error: &io::Error, code: i32) -> i32 {
    eprintln!("error: {verb}: {}: {error}", pid_file.display());
    code
}
