//! Who holds a pid file's lock, where there is no `/proc` to prove it
//! (macOS, FreeBSD): nothing is ever proven, so nothing is ever signalled.
//!
//! Linux proves the holder through `/proc/PID/fdinfo` and pins it with a
//! pidfd (see `holder.rs`). Elsewhere a start that finds the file locked
//! reports "already running" without a pid and never replaces the file;
//! [`status`](crate::status), [`stop`](crate::stop) and
//! [`signal`](crate::signal) refuse with [`io::ErrorKind::Unsupported`]
//! rather than trust the pid written in the file, which may name a process
//! that reused a dead daemon's pid.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use nix::sys::stat::FileStat;

/// A live process proven to hold a file's exclusive lock: never built here.
#[derive(Debug)]
pub(crate) struct Holder {
    pub(crate) pid: u32,
    /// What Linux pins the process with; kept so that the callers are the same.
    pub(crate) pidfd: OwnedFd,
}

/// What the locks on a file prove: here, always [`Proof::Unseen`].
#[derive(Debug)]
#[allow(dead_code)] // the variants Linux builds are matched on by the callers
pub(crate) enum Proof {
    /// A live process holds its exclusive lock: this one.
    Held(Holder),
    /// No live daemon holds the file.
    Foreign,
    /// Nothing is known either way.
    Unseen,
}

impl Proof {
    /// The proven holder, if any.
    pub(crate) fn into_held(self) -> Option<Holder> {
        match self {
            Proof::Held(holder) => Some(holder),
            Proof::Foreign | Proof::Unseen => None,
        }
    }
}

/// Nothing can be proven without `/proc`.
pub(crate) fn examine_locks(_proc: BorrowedFd<'_>, _file: BorrowedFd<'_>, _opened: &FileStat) -> Proof {
    Proof::Unseen
}

/// The descriptor [`examine_locks`] would read: there is none here.
pub(crate) fn open_proc() -> io::Result<OwnedFd> {
    Err(unsupported())
}

/// The error of everything that needs a proven, pinned lock holder.
pub(crate) fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "finding who holds a pid file's lock needs /proc and pidfds, which only linux has",
    )
}
