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

/// What the locks on `file` (the caller's own descriptor, whose `stat` is
/// `opened`) prove, and the live process proven to hold its exclusive
/// `flock`, if any. `proc` is [`open_proc`]'s (kept from before a chroot).
pub(crate) fn examine_locks(proc: Option<BorrowedFd<'_>>, file: BorrowedFd<'_>, opened: &FileStat) -> Proof {
    match crate::sys::LOCKS_LISTED {
        true => proc_locks::examine_locks(proc, file, opened),
        false => probe::examine_locks(proc, file, opened),
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
#[allow(dead_code, reason = "Linux's proof gives the first, the portable one the others")]
pub(crate) enum Hidden {
    /// `/proc/locks` does not list it: held by a process outside this pid
    /// namespace (or by one whose taker, gone, this namespace never saw).
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

impl std::fmt::Display for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hidden::OtherNamespace => {
                "its lock is held from outside this pid namespace, which cannot be inspected"
            }
            Hidden::Uninspectable => "its lock is held by a process this user cannot inspect",
            Hidden::Unnamed => "its lock is held, and the file names no process to check",
            Hidden::Unreadable => "its lock, or the kernel's list of locks, cannot be read",
        })
    }
}

/// A pid file naming this process, whose exclusive lock a child process
/// holds (util-linux `flock -x FILE sleep 60`), once the lock is taken:
/// the file, and the child, which the caller kills and reaps.
#[cfg(test)]
pub(crate) fn locked_by_a_child(dir: &std::path::Path) -> (std::path::PathBuf, std::process::Child) {
    let path = dir.join("x.pid");
    std::fs::write(&path, format!("{}\n", std::process::id())).unwrap();
    let locker = std::process::Command::new("flock")
        .arg("-x")
        .arg(&path)
        .args(["sleep", "60"])
        .spawn()
        .expect("util-linux flock");
    let look = std::fs::File::open(&path).unwrap();
    while flock(&look, libc::LOCK_SH | libc::LOCK_NB).is_ok() {
        flock(&look, libc::LOCK_UN).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    (path, locker)
}
