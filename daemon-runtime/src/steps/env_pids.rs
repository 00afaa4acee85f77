//! Environment variables by which a service manager addresses the process
//! it started: `LISTEN_PID` (socket activation: the passed sockets are this
//! process's) and `WATCHDOG_PID` (the watchdog is this process's duty). When
//! that process detaches, the daemon takes over its role, so the daemon
//! rewrites each variable that named the launcher to its own pid; a program
//! the daemon executes then finds them naming itself too.
//!
//! The daemon's side is the child of a single-threaded process, so it could
//! allocate; by design it allocates nothing before the body (see
//! `start/detach.rs`), so the launcher puts an entry with room for any pid
//! into the environment with `putenv` before the fork, and the daemon
//! writes its digits into it.
//!
//! The runtime announces the same way, to a program it executes, the pid
//! file's lock that program inherits: `DAEMON_LOCK_FD` (the descriptor) and
//! `DAEMON_LOCK_PID` (the process it is meant for, as `LISTEN_PID` pins
//! `LISTEN_FDS`), both known only after the fork, written into entries
//! made before it ([`lock_entries`], [`announce_lock`]). The side that
//! takes them: `steps/lock_handover.rs`.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The descriptor that holds a handed-over pid file lock (`lock_handover.rs`).
pub(crate) const LOCK_FD_VARIABLE: &str = "DAEMON_LOCK_FD";

/// The process that descriptor is meant for: a copy of the variables in
/// any other process (a child the program starts, say) names nothing there.
pub(crate) const LOCK_PID_VARIABLE: &str = "DAEMON_LOCK_PID";

/// `NAME=`, at most 10 digits and a NUL fit, for the longest name.
const ENTRY_LEN: usize = 40;

/// One variable, and the entry this process made for it: leaked, so that
/// the environment may point into it forever; null until first needed.
struct PidVariable {
    name: &'static str,
    entry: AtomicPtr<u8>,
}

static VARIABLES: [PidVariable; 2] = [PidVariable::new("LISTEN_PID"), PidVariable::new("WATCHDOG_PID")];

/// The lock's announcement: the descriptor, then the pid it is meant for.
static LOCK: [PidVariable; 2] = [PidVariable::new(LOCK_FD_VARIABLE), PidVariable::new(LOCK_PID_VARIABLE)];

impl PidVariable {
    const fn new(name: &'static str) -> PidVariable {
        PidVariable { name, entry: AtomicPtr::new(ptr::null_mut()) }
    }

    /// The rewritable entry, made on first use, when the variable names this
    /// process; `None` otherwise.
    fn entry(&self) -> Option<*mut u8> {
        let pid: u32 = std::env::var(self.name).ok()?.parse().ok()?;
        if pid != std::process::id() {
            return None;
        }
        Some(self.made(pid))
    }

    /// The entry, made on first use holding `NAME=<initial>`, whatever the
    /// environment says.
    fn made(&self, initial: u32) -> *mut u8 {
        let current = self.entry.load(Ordering::SeqCst);
        if !current.is_null() {
            return current;
        }
        let made = Box::leak(Box::new([0u8; ENTRY_LEN])).as_mut_ptr();
        self.write(made, initial);
        match self.entry.compare_exchange(ptr::null_mut(), made, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => made,
            // Another thread made one first: that one counts (ours stays leaked, 40 bytes).
            Err(other) => other,
        }
    }

    /// Writes `NAME=<pid>` and a NUL into `entry`.
    fn write(&self, entry: *mut u8, pid: u32) {
        let mut buf = [0u8; 24];
        let digits = crate::lock::pid_text::format_pid(pid, &mut buf);
        let digits = &digits[..digits.len() - 1]; // without its newline
        let name = self.name.as_bytes();
        // `entry` points to a leaked `[u8; ENTRY_LEN]` (see `PidVariable`),
        // in which the name, `=`, at most 10 digits and the NUL fit. Only
        // this module writes to it: in the launcher before the environment
        // holds it, or in the daemon while it runs one thread (after the
        // last fork, before the body), so nothing reads it meanwhile.
        // SAFETY: as said, `entry` is the start of a live `[u8; ENTRY_LEN]`
        // that nothing else reads or writes while this borrow lasts.
        let entry = unsafe { &mut *entry.cast::<[u8; ENTRY_LEN]>() };
        let equals = name.len();
        let nul = equals + 1 + digits.len();
        entry[..equals].copy_from_slice(name);
        entry[equals] = b'=';
        entry[equals + 1..nul].copy_from_slice(digits);
        entry[nul] = 0;
    }
}

/// `(name, entry)` for each variable that names this process, for an `envp`
/// built by hand ([`Daemon::exec_notify`](crate::Daemon::exec_notify)): the
/// same memory that [`prepare_rewrite`] puts into the environment.
pub(crate) fn entries() -> Vec<(&'static str, *const libc::c_char)> {
    VARIABLES.iter().filter_map(|var| Some((var.name, var.entry()?.cast_const().cast()))).collect()
}

/// In the launcher, before forking to detach: puts the rewritable entry of
/// each variable that names this process into the environment.
///
/// # Errors
///
/// The `errno` of `putenv` (`ENOMEM`).
///
/// # Safety
///
/// The process must be single-threaded: `putenv` races with any other
/// thread reading the environment.
pub(crate) unsafe fn prepare_rewrite() -> nix::Result<()> {
    for entry in VARIABLES.iter().filter_map(PidVariable::entry) {
        // SAFETY: the caller guarantees no other thread reads the
        // environment; `entry` is a NUL-terminated `NAME=value` string that
        // is never freed, so the environment may keep pointing into it.
        nix::errno::Errno::result(unsafe { libc::putenv(entry.cast()) })?;
    }
    Ok(())
}

/// In the daemon, after the last fork and before the body: each prepared
/// variable becomes the daemon's pid. Async-signal-safe: digits written in place.
pub(crate) fn rewrite() {
    for var in &VARIABLES {
        let entry = var.entry.load(Ordering::SeqCst);
        if !entry.is_null() {
            var.write(entry, std::process::id());
        }
    }
}

/// The entries of the lock's announcement (`DAEMON_LOCK_FD=`,
/// `DAEMON_LOCK_PID=`), for the `envp` of a program executed with the pid
/// file's lock (`start/program.rs`): made now, in the launcher; written by
/// [`announce_lock`] right before the `exec`.
/// Until then they hold `0` (a pid no process has, a descriptor a start
/// never takes), which the taking side ignores.
pub(crate) fn lock_entries() -> [*const libc::c_char; 2] {
    LOCK.each_ref().map(|var| var.made(0).cast_const().cast())
}

/// Right before the `exec` of a program that inherits the pid file's lock
/// on `fd`: the announcement names `fd` and this process, whose pid the
/// program keeps. Nothing to write when [`lock_entries`] made none (the
/// program's `envp` holds no announcement then). Async-signal-safe: digits
/// written in place.
pub(crate) fn announce_lock(fd: std::os::fd::RawFd) {
    // A descriptor is never negative: the cast loses nothing.
    for (var, value) in LOCK.iter().zip([fd as u32, std::process::id()]) {
        let entry = var.entry.load(Ordering::SeqCst);
        if !entry.is_null() {
            var.write(entry, value);
        }
    }
}

/// In each child that a supervisor forks to execute its program again
/// (`daemon-run --respawn`, which holds the sockets of `--listen` or of a
/// service manager): `LISTEN_PID`, when the start prepared it, becomes this
/// process's pid, so the sockets are addressed to the program executed next,
/// as systemd addresses them to each new process of a service. Only
/// `LISTEN_PID`: `WATCHDOG_PID` keeps naming the supervisor, which stays
/// the service's main process. Async-signal-safe: digits written in place,
/// into the entry the environment (or an `envp` built by
/// [`Environment::envp`](crate::start::program::Environment::envp)) points to.
pub fn rewrite_listen_pid() {
    let listen = &VARIABLES[0];
    let entry = listen.entry.load(Ordering::SeqCst);
    if !entry.is_null() {
        listen.write(entry, std::process::id());
    }
}
