//! Who holds a pid file's lock, proven: what a start, `status`, `stop` and
//! `signal` all decide by. [`Proof`] is the same on every platform; it is
//! proven from `/proc/PID/fdinfo` on Linux, for the pid written in the file
//! first, then for those `/proc/locks` lists ([`proc_locks`]), and from the pid
//! written in the file elsewhere and under `daemon_portable` ([`probe`]),
//! and the holder is pinned with a [`ProcessHandle`] (a pidfd on Linux, a
//! kqueue watch on macOS and FreeBSD). Both proofs compile everywhere;
//! `sys::LOCKS_LISTED` says which one runs.

pub(crate) mod pid_text;
mod probe;
mod proc_locks;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::sys::stat::FileStat;

pub(crate) use crate::sys::{ProcessHandle, open_proc};

/// What the locks on `file` (the caller's own descriptor of a lock file,
/// whose `stat` is `opened`) prove, and the live process proven to hold
/// its exclusive `flock`, if any. `pid_file` is the caller's descriptor of
/// the pid file beside it, if there is one: the pid written there is the
/// first candidate, never trusted. `proc` is [`open_proc`]'s (kept from
/// before a chroot).
pub(crate) fn examine_locks(
    proc: Option<BorrowedFd<'_>>,
    file: BorrowedFd<'_>,
    opened: &FileStat,
    pid_file: Option<BorrowedFd<'_>>,
) -> Proof {
    match crate::sys::LOCKS_LISTED {
        true => proc_locks::examine_locks(proc, file, opened, pid_file),
        false => probe::examine_locks(proc, file, opened, pid_file),
    }
}

/// `flock(2)`. nix's `Flock` guard unlocks on drop, which would release the
/// lock when the descriptor is moved to a lower number; the lock belongs to
/// the open file description, so a plain call is what is needed.
pub(crate) fn flock(fd: impl AsFd, operation: libc::c_int) -> nix::Result<()> {
    // SAFETY: flock takes a descriptor the caller borrows for the call and
    // touches no memory.
    Errno::result(unsafe { libc::flock(fd.as_fd().as_raw_fd(), operation) }).map(drop)
}

/// A live process proven to hold a file's exclusive lock, pinned.
#[derive(Debug)]
pub(crate) struct Holder {
    pub(crate) pid: u32,
    /// Names that very process, whatever happens to its pid number: what it
    /// is signalled through and waited on.
    pub(crate) process: ProcessHandle,
    /// Found among every process's descriptors, the lock's taker having
    /// exited (Linux): a process the daemon forked keeps its lock, never a
    /// new start, which is the taker of its own lock.
    pub(crate) inherited: bool,
}

/// What the locks on a file prove.
#[derive(Debug)]
pub(crate) enum Proof {
    /// A live process holds its exclusive lock: this one.
    Held(Holder),
    /// Locks are held, but none proves a live daemon holds the file: a
    /// shared lock, or an exclusive one whose taker exited (Linux), or whose
    /// file names a process that does not have it open (the portable proof).
    /// The file is no daemon's.
    Foreign,
    /// No exclusive lock is held: none at all, or released since (or only
    /// a shared one that no listing shows). Nobody runs.
    Free,
    /// An exclusive lock is held, or may be, but who holds it cannot be
    /// told: never "nobody runs", never "no daemon's" (issue 22).
    Hidden(Hidden),
}

/// Why the holder of an exclusive lock cannot be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hidden {
    /// `/proc/locks` does not list it (held by a process outside this pid
    /// namespace, or by one whose taker, gone, this namespace never saw),
    /// or lists only takers that no longer hold it and no process this
    /// namespace shows has it (issue 26, items E and K).
    OtherNamespace,
    /// The file names a process this user may not inspect (another user's,
    /// or one a visibility policy hides).
    Uninspectable,
    /// The file names no process to check (none written, or a pid that
    /// kept changing).
    Unnamed,
    /// The lock, or the kernel's listing of it, could not be read.
    Unreadable,
}

impl Hidden {
    /// Who holds the lock, as far as can be said: what a refused start
    /// prints after "locked by".
    pub(crate) fn holder(self) -> &'static str {
        match self {
            Hidden::OtherNamespace => "a process this pid namespace cannot see",
            Hidden::Uninspectable => "a process this user cannot inspect",
            Hidden::Unnamed => "a process that wrote no pid to check",
            Hidden::Unreadable => "a process that cannot be told (the lock cannot be examined)",
        }
    }

    /// Its number on the report pipe, and back.
    pub(crate) fn wire(self) -> u64 {
        self as u64
    }

    pub(crate) fn from_wire(value: u64) -> Hidden {
        [Hidden::OtherNamespace, Hidden::Uninspectable, Hidden::Unnamed, Hidden::Unreadable]
            .into_iter()
            .find(|why| why.wire() == value)
            .unwrap_or(Hidden::Unreadable)
    }
}

impl std::fmt::Display for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hidden::OtherNamespace => "its lock is held by a process this pid namespace cannot see",
            Hidden::Uninspectable => "its lock is held by a process this user cannot inspect",
            Hidden::Unnamed => "its lock is held, and the file names no process to check",
            Hidden::Unreadable => "its lock, or the kernel's list of locks, cannot be read",
        })
    }
}

/// A pid file naming this process, whose lock file's exclusive lock a
/// child process holds (`sleep 60`, which took the lock on a description of
/// its own between the fork and the `exec`: what util-linux `flock -x FILE
/// sleep 60` does, with POSIX's `sleep` alone, so the test runs on macOS and
/// FreeBSD too), once the lock is taken: the pid file, the lock file, and
/// the child, which the caller kills and reaps.
#[cfg(test)]
pub(crate) fn locked_by_a_child(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::process::Child) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    let pid_file = dir.join("x.pid");
    std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
    let path = dir.join("x.pid.lock");
    std::fs::write(&path, "").unwrap();
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let take_lock = move || {
        // SAFETY: a NUL-terminated path built before the fork; `open` is
        // async-signal-safe and allocates nothing. The descriptor is left
        // open across the `exec` (no `O_CLOEXEC`): `sleep` keeps the lock.
        let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_RDONLY) };
        // SAFETY: `flock` on the descriptor just opened, touching no memory.
        if fd < 0 || unsafe { libc::flock(fd, libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    let mut command = std::process::Command::new("sleep");
    command.arg("60");
    // SAFETY: the hook runs between the fork and the `exec` and calls only
    // `open` and `flock`, async-signal-safe, on memory built before.
    unsafe { command.pre_exec(take_lock) };
    let locker = command.spawn().expect("sleep");
    let look = std::fs::File::open(&path).unwrap();
    while flock(&look, libc::LOCK_SH | libc::LOCK_NB).is_ok() {
        flock(&look, libc::LOCK_UN).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    (pid_file, path, locker)
}
