//! Signal dispositions and mask as a fresh daemon needs them.

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};

use crate::sys;

/// Sets every ignored signal back to its default action, unblocks every
/// signal, then ignores `SIGPIPE` again, as every Rust program does at
/// start-up (`/proc/PID/status` then shows `SigBlk` 0 and `SigIgn` 0x1000).
///
/// Whoever launched the daemon may have ignored `SIGTERM` or `SIGHUP` (`nohup`
/// does) or blocked signals: both survive `exec`, and a daemon that cannot be
/// stopped by `SIGTERM` is a bug. Handlers this process installed itself
/// (Rust's stack-overflow guard on `SIGSEGV`/`SIGBUS`, the C library's own
/// on its reserved real-time signals, or a handler the program set before
/// starting) are kept: only dispositions that can have been inherited are reset.
///
/// # Errors
///
/// The error of `rt_sigaction` or `sigprocmask`.
///
/// ```no_run
/// daemon_runtime::reset_signals()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn reset_signals() -> std::io::Result<()> {
    reset(sys::own_status().ignored).map_err(std::io::Error::from)
}

/// [`reset_signals`] with the `errno` the start reports, told which
/// signals are ignored where the kernel lists them (`SigIgn` of
/// [`sys::own_status`], read with the descriptor table's size): then only
/// those are looked at; `None`: every one.
pub(crate) fn reset(listed: Option<u64>) -> nix::Result<()> {
    for signal in 1..=sys::last_signal() {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        if let Some(ignored) = listed {
            // Only what the kernel lists as ignored needs a look; SIGPIPE is
            // ignored again below.
            let bit = u32::try_from(signal - 1).ok().and_then(|bit| 1u64.checked_shl(bit)).unwrap_or(0);
            if ignored & bit == 0 || signal == libc::SIGPIPE {
                continue;
            }
        }
        let current = match handler(signal) {
            // A C library's `sigaction` refuses the signals it reserves
            // (glibc's 32 and 33, FreeBSD libthr's SIGTHR): only Linux's
            // raw system call can reset those, and it refuses nothing.
            Err(Errno::EINVAL) => continue,
            other => other?,
        };
        if current == libc::SIG_IGN {
            set_handler(signal, libc::SIG_DFL)?;
        }
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
    set_handler(libc::SIGPIPE, libc::SIG_IGN)
}

fn handler(signal: libc::c_int) -> nix::Result<libc::sighandler_t> {
    sys::sigaction(signal, None).map(|old| old.handler)
}

fn set_handler(signal: libc::c_int, handler: libc::sighandler_t) -> nix::Result<()> {
    sys::sigaction(signal, Some(&sys::SigAction::new(handler))).map(drop)
}
