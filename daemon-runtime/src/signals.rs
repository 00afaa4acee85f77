//! Signal dispositions and mask as a fresh daemon needs them.

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};

/// Sets every ignored signal back to its default action, unblocks every
/// signal, then ignores `SIGPIPE` again, as every Rust program does at
/// start-up (`/proc/PID/status` then shows `SigBlk` 0 and `SigIgn` 0x1000).
///
/// Whoever launched the daemon may have ignored `SIGTERM` or `SIGHUP` (`nohup`
/// does) or blocked signals: both survive `exec`, and a daemon that cannot be
/// stopped by `SIGTERM` is a bug. Handlers this process installed itself
/// (Rust's stack-overflow guard on `SIGSEGV`/`SIGBUS`, or a handler the
/// program set before starting) are kept: only dispositions that can have
/// been inherited are reset.
///
/// # Errors
///
/// The `errno` of `sigprocmask`; dispositions the C library reserves
/// (signals 32 and 33 under glibc) are skipped.
///
/// ```no_run
/// daemon_runtime::reset_signals()?;
/// # Ok::<(), nix::errno::Errno>(())
/// ```
pub fn reset_signals() -> nix::Result<()> {
    for signal in 1..=libc::SIGRTMAX() {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        if disposition(signal) == Some(libc::SIG_IGN) {
            set_disposition(signal, libc::SIG_DFL);
        }
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
    set_disposition(libc::SIGPIPE, libc::SIG_IGN);
    Ok(())
}

/// The current handler of `signal`, or `None` for a number the C library refuses.
fn disposition(signal: libc::c_int) -> Option<libc::sighandler_t> {
    // SAFETY: a zeroed sigaction is a valid value to be overwritten; passing
    // a null new action only reads the current one.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    let res = unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) };
    Errno::result(res).ok().map(|_| old.sa_sigaction)
}

/// Sets `signal` to `SIG_DFL` or `SIG_IGN` (never to a handler: no function
/// of ours runs in signal context).
fn set_disposition(signal: libc::c_int, handler: libc::sighandler_t) {
    // SAFETY: SIG_DFL and SIG_IGN are not function pointers, so no code runs
    // on delivery; the sigaction struct is fully initialized (empty mask).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut());
    }
}
