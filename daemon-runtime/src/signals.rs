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
    reset().map_err(std::io::Error::from)
}

/// [`reset_signals`] with the `errno` the start reports.
pub(crate) fn reset() -> nix::Result<()> {
    for signal in 1..=libc::SIGRTMAX() {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        if handler(signal)? == libc::SIG_IGN {
            set_handler(signal, libc::SIG_DFL)?;
        }
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
    set_handler(libc::SIGPIPE, libc::SIG_IGN)
}

/// The kernel's `struct sigaction`, whose first word is the handler on every
/// Linux architecture but MIPS. The raw system call is used because the C
/// library refuses to touch the signals it reserves (32 and 33 under glibc),
/// which can be inherited ignored all the same.
#[repr(C)]
#[derive(Default)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

fn rt_sigaction(signal: libc::c_int, new: Option<&KernelSigaction>) -> nix::Result<KernelSigaction> {
    let mut old = KernelSigaction::default();
    let new = new.map_or(std::ptr::null(), |new| new as *const KernelSigaction);
    // SAFETY: both pointers are valid for the kernel's struct (or null for
    // "no change"); the size passed is that of the kernel's signal set. Only
    // SIG_DFL and SIG_IGN are ever installed, so no code of ours runs on delivery.
    let res = unsafe {
        libc::syscall(libc::SYS_rt_sigaction, signal, new, &mut old as *mut KernelSigaction, 8usize)
    };
    Errno::result(res).map(|_| old)
}

fn handler(signal: libc::c_int) -> nix::Result<libc::sighandler_t> {
    rt_sigaction(signal, None).map(|old| old.handler)
}

fn set_handler(signal: libc::c_int, handler: libc::sighandler_t) -> nix::Result<()> {
    rt_sigaction(signal, Some(&KernelSigaction { handler, ..KernelSigaction::default() })).map(drop)
}
