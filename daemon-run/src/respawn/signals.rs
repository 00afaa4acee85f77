//! The signals that wake the supervisor: those it forwards, and SIGCHLD.
//!
//! On Linux they stay blocked and are read from a `signalfd`, so no handler
//! ever runs in the supervisor (not even the runtime's pid file handler for
//! TERM); the runtime's `sys/` opens it (`__private::SignalFd`). Elsewhere
//! (it says `ENOSYS`), and on Linux built with `--cfg daemon_portable` so
//! that the tests run it, `signal-hook`'s handlers write to a self-pipe (a socket
//! pair) that the supervisor polls with PROGRAM's output; no thread is
//! started, so the supervisor still forks from a single thread. Either way
//! [`Signals::fd`] is polled and [`Signals::take`] says which came.
//!
//! Around each fork the signals are blocked ([`Blocked`]), so that none is
//! handled in the child before it has put back the default dispositions
//! ([`default_dispositions`]): a handler there would write into the
//! supervisor's self-pipe, or (the runtime's) remove its pid file.

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;

use daemon_runtime::__private::SignalFd;
use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use signal_hook::iterator::backend::SignalDelivery;
use signal_hook::iterator::exfiltrator::SignalOnly;

use super::FORWARDED;

/// What the supervisor watches: the signals it forwards, and SIGCHLD.
const WATCHED: [Signal; 6] =
    [FORWARDED[0], FORWARDED[1], FORWARDED[2], FORWARDED[3], FORWARDED[4], Signal::SIGCHLD];

fn watched() -> SigSet {
    let mut set = SigSet::empty();
    WATCHED.iter().for_each(|&signal| set.add(signal));
    set
}

/// Where the watched signals are read from: the runtime's `signalfd`
/// where the kernel has one (Linux), else `signal-hook`'s handlers, which
/// record them and write a byte to a socket pair (close-on-exec, as std
/// makes it).
enum Source {
    Fd(SignalFd),
    Hook(SignalDelivery<UnixStream, SignalOnly>),
}

impl Source {
    fn new() -> Result<Source, Errno> {
        match SignalFd::open(&watched()) {
            Err(Errno::ENOSYS) => {}
            opened => return opened.map(Source::Fd),
        }
        let errno = |e: std::io::Error| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
        let (read, write) = UnixStream::pair().map_err(errno)?;
        let numbers = WATCHED.map(|signal| signal as libc::c_int);
        // The handlers chain to the runtime's pid file handler, which
        // sees it is no longer the one installed and does nothing.
        SignalDelivery::with_pipe(read, write, SignalOnly, numbers).map(Source::Hook).map_err(errno)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Source::Fd(fd) => fd.fd(),
            Source::Hook(delivery) => delivery.get_read().as_fd(),
        }
    }

    fn take(&mut self) -> Vec<Signal> {
        match self {
            Source::Fd(fd) => fd.take(),
            Source::Hook(delivery) => {
                delivery.pending().filter_map(|number| Signal::try_from(number).ok()).collect()
            }
        }
    }
}

/// The signals the supervisor watches, as they arrive.
pub struct Signals(Source);

impl Signals {
    /// Starts watching: from now on the signals are only recorded, until
    /// [`take`](Signals::take) returns them.
    ///
    /// # Errors
    ///
    /// `sigprocmask` or `signalfd` (Linux), `socketpair` or `sigaction`.
    pub fn new() -> Result<Signals, Errno> {
        Source::new().map(Signals)
    }

    /// The descriptor to poll: readable when a signal came.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.0.fd()
    }

    /// The signals that came since the last call (each at most once).
    pub fn take(&mut self) -> Vec<Signal> {
        self.0.take()
    }
}

/// The watched signals blocked, for a fork: dropped (in the parent), the
/// mask is what it was before.
pub struct Blocked(SigSet);

impl Blocked {
    /// Blocks the watched signals.
    ///
    /// # Errors
    ///
    /// `sigprocmask` failed.
    pub fn new() -> Result<Blocked, Errno> {
        let mut old = SigSet::empty();
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&watched()), Some(&mut old))?;
        Ok(Blocked(old))
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        // Setting back a mask read from the kernel cannot fail.
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.0), None);
    }
}

/// In the forked child, signals still blocked: every standard signal
/// caught by a handler goes back to its default action (the `exec` would
/// do it, too late), ignored ones stay ignored; then the mask is emptied.
/// Only `sigaction` and `sigprocmask`: async-signal-safe, no allocation.
pub fn default_dispositions() {
    for signal in Signal::iterator() {
        // SAFETY: all-zero is a valid `sigaction`, overwritten by the kernel.
        let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null new action only reads; `current` is valid and
        // writable. SIGKILL and SIGSTOP fail with EINVAL, and are skipped.
        if unsafe { libc::sigaction(signal as libc::c_int, std::ptr::null(), &mut current) } != 0 {
            continue;
        }
        if current.sa_sigaction == libc::SIG_DFL || current.sa_sigaction == libc::SIG_IGN {
            continue;
        }
        // SAFETY: all-zero is SIG_DFL with no flags and an empty mask.
        let default: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: `default` is initialized; SIG_DFL runs no code of ours.
        unsafe { libc::sigaction(signal as libc::c_int, &default, std::ptr::null_mut()) };
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}
