//! The exit codes of a failed start, from BSD's `sysexits.h`, so that scripts
//! and service managers can tell a configuration mistake from a busy pid file.
//!
//! ```
//! use daemon_runtime::sysexits;
//! assert_eq!(sysexits::EX_TEMPFAIL, 75);
//! ```

/// The configured user or group does not exist.
pub const EX_NOUSER: i32 = 67;
/// The `init` function failed or panicked: the service cannot be provided.
pub const EX_UNAVAILABLE: i32 = 69;
/// The daemon ended (returned, panicked, was killed) before it was ready, or
/// was not ready in time; or a process that already is a daemon started
/// again (a mistake in the program).
pub const EX_SOFTWARE: i32 = 70;
/// A system call failed: `fork`, `setsid`, too many threads, `/dev/null` missing.
pub const EX_OSERR: i32 = 71;
/// The pid file or a log file could not be created, locked or written, or
/// the pid file was refused.
pub const EX_CANTCREAT: i32 = 73;
/// The pid file's lock is held by a process that cannot be told from
/// here (outside this pid namespace, typically): not "already running" with
/// a pid to act on, not free either. `EX_OSFILE`: the system's own account
/// of its locks (`/proc/locks`, this namespace's `/proc`) cannot name it.
pub const EX_OSFILE: i32 = 72;
/// Only root may switch to another user or group.
pub const EX_NOPERM: i32 = 77;
/// Another instance holds the pid file: try again later.
pub const EX_TEMPFAIL: i32 = 75;
/// The configuration names something that is not there (the working
/// directory, the chroot directory, a descriptor to keep).
pub const EX_CONFIG: i32 = 78;

/// Leaves a forked process at once: `_exit`, so no atexit handler runs and no
/// stdio buffer inherited from the launcher is flushed a second time.
pub(crate) fn leave(code: i32) -> ! {
    // SAFETY: `_exit` has no preconditions; it ends the process without
    // running any user-space code.
    unsafe { libc::_exit(code) }
}
