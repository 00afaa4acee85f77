//! [`Proof`]: what the locks on a pid file prove about who holds it, the
//! same on every platform; `holder.rs` (Linux, through `/proc`) and
//! `holder_elsewhere.rs` (nothing can be proven there) produce it.

use std::os::fd::OwnedFd;

/// A live process proven to hold a file's exclusive lock, pinned.
#[derive(Debug)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // only Linux proves a holder
pub(crate) struct Holder {
    pub(crate) pid: u32,
    /// Names that very process, whatever happens to its pid number.
    pub(crate) pidfd: OwnedFd,
}

/// What the locks on a file prove.
#[derive(Debug)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // elsewhere always `Unseen`
pub(crate) enum Proof {
    /// A live process holds its exclusive lock: this one.
    Held(Holder),
    /// Locks are listed, but none proves a live daemon holds the file: a
    /// shared lock, or one whose taker exited. The file is no daemon's.
    Foreign,
    /// `/proc/locks` lists no lock on it that names a process we can see
    /// (none at all, or one held from a pid namespace outside ours):
    /// nothing is known either way.
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
