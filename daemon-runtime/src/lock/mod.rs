//! Who holds a pid file's lock, proven: what a start, `status`, `stop` and
//! `signal` all decide by. [`Proof`] is the same on every platform; it is
//! proven from `/proc/locks` on Linux ([`proc_locks`]) and from the pid
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
    /// Nothing is known either way: no lock is seen (none at all, or
    /// released since), or one is held by a process that cannot be named or
    /// inspected (from a pid namespace outside ours; with no pid, or an
    /// unreadable one, written in the file).
    Unseen,
}

impl Proof {
    /// The proven holder, if any: what `status`, `stop` and `signal` act on.
    pub(crate) fn into_held(self) -> Option<Holder> {
        match self {
            Proof::Held(holder) => Some(holder),
            Proof::Foreign | Proof::Unseen => None,
        }
    }
}
