//! Who holds a pid file's lock, on the platforms that have neither `/proc`
//! nor the means of `holder_portable.rs` (everything but Linux, macOS and
//! FreeBSD): nothing is ever proven, so nothing is ever signalled.
//!
//! A start that finds the file locked reports "already running" without a
//! pid and never replaces the file; [`status`](crate::status),
//! [`stop`](crate::stop) and [`signal`](crate::signal) refuse with
//! [`io::ErrorKind::Unsupported`] rather than trust the pid written in the
//! file, which may name a process that reused a dead daemon's pid.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use nix::sys::stat::FileStat;

pub(crate) use crate::lock_proof::{Holder, Proof};

/// Nothing can be proven here.
pub(crate) fn examine_locks(
    _proc: Option<BorrowedFd<'_>>,
    _file: BorrowedFd<'_>,
    _opened: &FileStat,
) -> Proof {
    Proof::Unseen
}

/// The descriptor [`examine_locks`] would read: there is none here.
pub(crate) fn open_proc() -> io::Result<Option<OwnedFd>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "finding who holds a pid file's lock is only implemented for linux, macos and freebsd",
    ))
}
