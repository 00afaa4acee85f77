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
    let listed = ignored();
    for signal in 1..=last_signal() {
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
            // (glibc's 32 and 33, FreeBSD libthr's SIGTHR): only the Linux
            // fast path can reset those.
            Err(Errno::EINVAL) if cfg!(any(not(target_os = "linux"), daemon_portable)) => continue,
            other => other?,
        };
        if current == libc::SIG_IGN {
            set_handler(signal, libc::SIG_DFL)?;
        }
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
    set_handler(libc::SIGPIPE, libc::SIG_IGN)
}

/// The signals this process ignores, as the kernel lists them (`SigIgn` in
/// `/proc/self/status`, one bit per signal): one read instead of a
/// `sigaction` for each of the 64 signals. `None` when it cannot be read,
/// or where there is no such list: then every signal is looked at.
#[cfg(all(target_os = "linux", not(daemon_portable)))]
fn ignored() -> Option<u64> {
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    let status =
        nix::fcntl::open(c"/proc/self/status", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    // `SigIgn` comes some 700 bytes in; a longer `Groups` line can push it
    // out of the buffer, and then it is not found.
    let mut buf = [0u8; 2048];
    let mut len = 0;
    while len < buf.len() {
        match nix::unistd::read(&status, &mut buf[len..]) {
            Ok(0) => break,
            // The mask is always 16 digits: once read whole, it is the value.
            Ok(n) => match sig_ign(&buf[..len + n]) {
                Some(mask) => return Some(mask),
                None => len += n,
            },
            Err(Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
    None
}

#[cfg(any(not(target_os = "linux"), daemon_portable))]
fn ignored() -> Option<u64> {
    None
}

/// The mask of the `SigIgn:` line of a `/proc/PID/status` text.
#[cfg(any(all(target_os = "linux", not(daemon_portable)), test))]
fn sig_ign(status: &[u8]) -> Option<u64> {
    let line = status.split(|&byte| byte == b'\n').find_map(|line| line.strip_prefix(b"SigIgn:"))?;
    let hex = std::str::from_utf8(line).ok()?.trim();
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok()).flatten()
}

/// The highest signal number: the real-time ones included where they exist.
#[cfg(target_os = "linux")]
fn last_signal() -> libc::c_int {
    libc::SIGRTMAX()
}

/// The highest signal number: macOS has 31 signals, FreeBSD 31 plus its
/// real-time range up to 126 (`_SIG_MAXSIG`), none of them reserved by libc.
#[cfg(not(target_os = "linux"))]
fn last_signal() -> libc::c_int {
    #[cfg(target_os = "freebsd")]
    return 126;
    #[cfg(not(target_os = "freebsd"))]
    return 31;
}

/// The kernel's `struct sigaction`, whose first word is the handler on every
/// Linux architecture but MIPS. The raw system call is used because the C
/// library refuses to touch the signals it reserves (32 and 33 under glibc),
/// which can be inherited ignored all the same.
#[cfg(all(target_os = "linux", not(daemon_portable)))]
#[repr(C)]
#[derive(Default)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

#[cfg(all(target_os = "linux", not(daemon_portable)))]
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

/// libc's `sigaction`, the only door where there is no raw system call to
/// use (macOS, FreeBSD: their C libraries reserve no signal numbers); on
/// Linux with `--cfg daemon_portable`, so that the tests run it.
#[cfg(any(not(target_os = "linux"), daemon_portable))]
struct KernelSigaction {
    handler: libc::sighandler_t,
}

#[cfg(any(not(target_os = "linux"), daemon_portable))]
fn rt_sigaction(signal: libc::c_int, new: Option<&KernelSigaction>) -> nix::Result<KernelSigaction> {
    // SAFETY: an all-zero `struct sigaction` is a valid value (SIG_DFL, no
    // flags, an empty mask).
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut wanted: libc::sigaction = unsafe { std::mem::zeroed() };
    let new = match new {
        Some(new) => {
            wanted.sa_sigaction = new.handler;
            &wanted as *const libc::sigaction
        }
        None => std::ptr::null(),
    };
    // SAFETY: both pointers are valid (or null for "no change"); only
    // SIG_DFL and SIG_IGN are ever installed, so no code of ours runs on delivery.
    let res = unsafe { libc::sigaction(signal, new, &mut old) };
    Errno::result(res).map(|_| KernelSigaction { handler: old.sa_sigaction })
}

fn handler(signal: libc::c_int) -> nix::Result<libc::sighandler_t> {
    rt_sigaction(signal, None).map(|old| old.handler)
}

fn set_handler(signal: libc::c_int, handler: libc::sighandler_t) -> nix::Result<()> {
    #[cfg(all(target_os = "linux", not(daemon_portable)))]
    let new = KernelSigaction { handler, ..KernelSigaction::default() };
    #[cfg(any(not(target_os = "linux"), daemon_portable))]
    let new = KernelSigaction { handler };
    rt_sigaction(signal, Some(&new)).map(drop)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sig_ign_is_read_from_status() {
        let status =
            b"Name:\tx\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001001\nSigCgt:\t0000000180000000\n";
        assert_eq!(super::sig_ign(status), Some(0x1001));
        // Cut before the line ends (a buffer too short): not trusted.
        assert_eq!(super::sig_ign(b"SigIgn:\t00000000000"), None);
        assert_eq!(super::sig_ign(b"Name:\tx\n"), None);
    }
}
