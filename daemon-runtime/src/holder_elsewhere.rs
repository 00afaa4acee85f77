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

pub(crate) use crate::lock_proof::{Holder, Proof};

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
