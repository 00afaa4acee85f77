//! Socket activation (sd_listen_fds(3)): the sockets a service manager
//! passes as descriptors 3, 4, ... and announces with `LISTEN_FDS`,
//! `LISTEN_PID` (the process they are meant for) and `LISTEN_FDNAMES`.
//!
//! A start keeps them through every step, and, when it detaches, rewrites
//! `LISTEN_PID` to the daemon's pid, so the body (or a program executed in
//! its place) finds them addressed to itself. The rewrite must not allocate
//! (the daemon's side runs only async-signal-safe code until the body), so
//! the launcher puts a `LISTEN_PID=` entry with room for any pid into the
//! environment with `putenv`, and the daemon writes its digits into it.

use std::ops::Range;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
const FIRST: RawFd = 3;

/// `LISTEN_PID=`, digits, and room for the longest pid and its NUL.
const PREFIX: &[u8] = b"LISTEN_PID=";
const ENTRY_LEN: usize = PREFIX.len() + 24;

/// The `LISTEN_PID=` entry this process put into its environment, leaked so
/// that the environment may point into it forever; null until [`listen_pid_entry`].
static ENTRY: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());

/// Whether [`listen_fds`] handed the descriptors out already.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// How many descriptors [`listen_fds`] took before a start: a start keeps
/// them open too, since the values the body holds survive the fork.
static TAKEN_COUNT: AtomicI32 = AtomicI32::new(0);

/// The descriptors passed to this very process: `3 .. 3 + LISTEN_FDS` when
/// `LISTEN_PID` is this process's pid (else they are meant for another
/// process, and are strays like any other).
fn passed() -> Option<Range<RawFd>> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    if pid != std::process::id() {
        return None;
    }
    let count: RawFd = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    (count > 0 && count <= RawFd::MAX - FIRST).then(|| FIRST..FIRST + count)
}

/// The descriptors a start must keep open: those passed to this process,
/// and those [`listen_fds`] already took.
pub(crate) fn kept() -> Range<RawFd> {
    let passed = passed().map_or(0, |range| range.len() as RawFd);
    FIRST..FIRST + passed.max(TAKEN_COUNT.load(Ordering::SeqCst))
}

/// The rewritable `LISTEN_PID=<this pid>` entry, created on first use, when
/// descriptors are passed to this process; `None` otherwise. For an `envp`
/// built by hand ([`Daemon::exec_notify`](crate::Daemon::exec_notify)): it
/// is the same memory that [`prepare_rewrite`] puts into the environment.
pub(crate) fn listen_pid_entry() -> Option<*const libc::c_char> {
    passed()?;
    let current = ENTRY.load(Ordering::SeqCst);
    if !current.is_null() {
        return Some(current.cast_const().cast());
    }
    let entry: &'static mut [u8; ENTRY_LEN] = Box::leak(Box::new([0u8; ENTRY_LEN]));
    write_pid(entry.as_mut_ptr(), std::process::id());
    match ENTRY.compare_exchange(ptr::null_mut(), entry.as_mut_ptr(), Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => Some(entry.as_ptr().cast()),
        // Another thread made one first: use that one (ours stays leaked, 35 bytes).
        Err(other) => Some(other.cast_const().cast()),
    }
}

/// In the launcher, before forking to detach: puts the rewritable
/// `LISTEN_PID` entry into the environment, when descriptors are passed to
/// this process.
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
    let Some(entry) = listen_pid_entry() else { return Ok(()) };
    // SAFETY: the caller guarantees no other thread reads the environment;
    // `entry` is a NUL-terminated `KEY=value` string that is never freed, so
    // the environment may keep pointing into it.
    nix::errno::Errno::result(unsafe { libc::putenv(entry.cast_mut()) }).map(drop)
}

/// In the daemon, after the last fork and before the body: `LISTEN_PID`
/// becomes the daemon's pid. Async-signal-safe: digits written in place.
pub(crate) fn rewrite_listen_pid() {
    let entry = ENTRY.load(Ordering::SeqCst);
    if !entry.is_null() {
        write_pid(entry, std::process::id());
    }
}

/// Writes `LISTEN_PID=<pid>` and a NUL into the entry at `entry`.
fn write_pid(entry: *mut u8, pid: u32) {
    let mut buf = [0u8; 24];
    let digits = crate::pidfile::format_pid(pid, &mut buf);
    let digits = &digits[..digits.len() - 1]; // without its newline
    // SAFETY: `entry` points to a leaked `[u8; ENTRY_LEN]` (see `ENTRY`),
    // and the prefix, at most 10 digits and the NUL fit in it. Only this
    // module writes to it: in the launcher before it is shared, or in the
    // daemon while it runs a single thread (after the last fork, before the
    // body), so no thread reads the environment meanwhile.
    unsafe {
        ptr::copy_nonoverlapping(PREFIX.as_ptr(), entry, PREFIX.len());
        ptr::copy_nonoverlapping(digits.as_ptr(), entry.add(PREFIX.len()), digits.len());
        *entry.add(PREFIX.len() + digits.len()) = 0;
    }
}

/// Takes the sockets a service manager passed to this process (socket
/// activation, sd_listen_fds(3)), each with its name from `LISTEN_FDNAMES`
/// (systemd's `FileDescriptorName=`, `systemd-socket-activate --fdname`;
/// `None` when unnamed). Empty when none were passed, when `LISTEN_PID`
/// names another process, and on every call after the first.
///
/// Each descriptor is made close-on-exec, as `sd_listen_fds` does, so that
/// programs the daemon runs do not inherit it. The variables are removed
/// from the environment, as `sd_listen_fds(1)` does, when this process runs
/// a single thread (removing them while other threads may read the
/// environment is not sound); in a multi-threaded process they stay, but
/// `LISTEN_PID` names only this process, so no child takes them.
///
/// Under `#[daemon]` or [`Daemon::start`](crate::Daemon::start), the
/// sockets survive the detach and `LISTEN_PID` names the daemon, so call it
/// in the body. The std and tokio listener types convert from [`OwnedFd`].
///
/// ```no_run
/// use std::net::TcpListener;
///
/// let listener = match daemon_runtime::listen_fds().into_iter().next() {
///     Some((fd, _name)) => TcpListener::from(fd), // systemd's socket
///     None => TcpListener::bind("127.0.0.1:8080")?, // started by hand
/// };
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn listen_fds() -> Vec<(OwnedFd, Option<String>)> {
    let Some(range) = passed() else { return Vec::new() };
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Vec::new();
    }
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let mut names = names.split(':').map(|name| Some(name.to_string()).filter(|name| !name.is_empty()));
    let mut taken = Vec::with_capacity(range.len());
    TAKEN_COUNT.store(range.len() as RawFd, Ordering::SeqCst);
    for fd in range {
        let name = names.next().flatten();
        // SAFETY: borrowed only for this `fcntl`; an fd that is not open fails with EBADF.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        if fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).is_err() {
            continue; // announced but not open: nothing to own
        }
        // SAFETY: by the protocol, descriptors 3 .. 3 + LISTEN_FDS belong to
        // the process LISTEN_PID names, this one; the runtime's start keeps
        // them open and never uses them, and `TAKEN` hands them out once.
        taken.push((unsafe { OwnedFd::from_raw_fd(fd) }, name));
    }
    if crate::steps::ensure_single_threaded().is_ok() {
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            // SAFETY: this process runs one thread (just counted by the
            // kernel), this one, so nothing reads the environment meanwhile.
            unsafe { std::env::remove_var(name) };
        }
    }
    taken
}
