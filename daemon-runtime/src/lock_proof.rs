//! [`Proof`]: what the locks on a pid file prove about who holds it, the
//! same on every platform; `holder.rs` (Linux, through `/proc/locks`),
//! `holder_portable.rs` (macOS, FreeBSD, and Linux under `--cfg
//! daemon_portable`: from the pid written in the file) and
//! `holder_elsewhere.rs` (nothing can be proven there) produce it.

/// What pins a proven holder: a pidfd on Linux (also under
/// `daemon_portable`: kqueue is not Linux's), a kqueue watching its exit on
/// macOS and FreeBSD, nothing elsewhere.
#[cfg(target_os = "linux")]
pub(crate) use crate::pidfd::ProcessHandle;

#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub(crate) use crate::kqueue::ProcessHandle;

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))]
pub(crate) use none::ProcessHandle;

/// Where no process can be pinned (`holder_elsewhere.rs`), no [`Holder`]
/// ever exists.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))]
mod none {
    #[derive(Debug)]
    pub(crate) enum ProcessHandle {}

    impl ProcessHandle {
        pub(crate) fn signal(&self, _signal: nix::sys::signal::Signal) -> std::io::Result<()> {
            match *self {}
        }

        pub(crate) fn wait_exit(&self, _timeout: std::time::Duration) -> bool {
            match *self {}
        }
    }
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
#[cfg_attr(not(any(target_os = "linux", target_os = "macos", target_os = "freebsd")), allow(dead_code))]
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
