//! The POSIX fallbacks: what macOS and FreeBSD do where Linux has a
//! faster or stronger means of its own. Linux built with `--cfg
//! daemon_portable` takes them too, so that its tests run them.

use nix::errno::Errno;

/// No subreaper (macOS has none; Linux under `daemon_portable` acts as if):
/// the intermediate process stays the daemon's parent until the launcher's
/// verdict instead (`start/verdict.rs`).
#[cfg(not(freebsd))]
pub(crate) const SUBREAPER: bool = false;

/// Nothing to become.
#[cfg(not(freebsd))]
pub(crate) fn subreaper(_on: bool) -> nix::Result<()> {
    Ok(())
}

/// No listing of this process's children: without a subreaper (macOS, and
/// Linux under `daemon_portable`) the daemon's orphans are not ours to
/// list. FreeBSD's `procctl(PROC_REAP_GETPIDS)` would list what its reaper
/// was given; not ported yet, so a descendant that leaves the daemon's
/// process group survives a failed start there.
pub(crate) fn children() -> Option<Vec<u32>> {
    None
}

/// `pipe`, then `FD_CLOEXEC` on each end: macOS has no `pipe2`. Race-free
/// here because a start runs one thread (the preflight proved it): no
/// other thread can fork in between.
#[cfg(not(freebsd))]
pub fn cloexec_pipe() -> nix::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let (read, write) = nix::unistd::pipe()?;
    for end in [&read, &write] {
        fcntl(end, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    Ok((read, write))
}

/// A signal's handler, as libc's `sigaction` reads and sets it.
pub(crate) struct SigAction {
    pub(crate) handler: libc::sighandler_t,
}

impl SigAction {
    /// Only `SIG_DFL` and `SIG_IGN` are ever installed: no code of ours runs
    /// on delivery.
    pub(crate) fn new(handler: libc::sighandler_t) -> SigAction {
        SigAction { handler }
    }
}

/// libc's `sigaction`, the only door where there is no raw system call to
/// use. A C library's reserved signals are refused (`EINVAL`): glibc's 32
/// and 33 under `daemon_portable`, FreeBSD libthr's `SIGTHR`.
pub(crate) fn sigaction(signal: libc::c_int, new: Option<&SigAction>) -> nix::Result<SigAction> {
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
    Errno::result(res).map(|_| SigAction { handler: old.sa_sigaction })
}

/// No listing of another process's signal handlers is read here: "cannot
/// tell", never "yes".
#[cfg(not(linux))]
pub(crate) fn catches(_pid: u32, _signal: nix::sys::signal::Signal) -> std::io::Result<bool> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "which signals another process catches is read from /proc/PID/status, which only linux has",
    ))
}

/// systemd is Linux's: elsewhere `$NOTIFY_SOCKET` is ignored, as if unset.
#[cfg(not(linux))]
pub(crate) fn notify_address(_value: &std::ffi::OsStr) -> Option<nix::sys::socket::UnixAddr> {
    None
}

/// Never reached: there is no address to send to.
#[cfg(not(linux))]
pub(crate) fn send_datagram(_address: &nix::sys::socket::UnixAddr, _message: &[u8]) {}

/// Abstract sockets and `SO_PASSCRED` are Linux's: refused.
#[cfg(not(linux))]
pub(crate) fn bind_credentialed(_name: &[u8]) -> std::io::Result<std::os::fd::OwnedFd> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "a private NOTIFY_SOCKET needs abstract sockets and SO_PASSCRED, which only linux has",
    ))
}

/// Abstract sockets and `SO_PASSCRED` are Linux's: refused.
#[cfg(not(linux))]
pub(crate) fn bind_credentialed_at(_path: &std::path::Path) -> std::io::Result<std::os::fd::OwnedFd> {
    bind_credentialed(b"")
}

/// Never reached: no socket is ever bound.
#[cfg(not(linux))]
pub(crate) fn receive_from(
    _socket: std::os::fd::BorrowedFd<'_>,
    _buf: &mut [u8],
) -> Option<(usize, Option<u32>)> {
    None
}

/// Whether `child` has ended: `waitpid(WNOHANG)`, which reaps it at once
/// (macOS's `waitid` is not one nix offers): `None` while it runs,
/// `Some(Some(status))` once it ended and was reaped (exit 0 when it can
/// no longer be waited for). Its process group id then stays unused by
/// others only while a process of the group lives, the case where a
/// `killpg` of what is left matters.
pub fn child_ended(child: nix::unistd::Pid) -> Option<Option<nix::sys::wait::WaitStatus>> {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => None,
        Ok(status) => Some(Some(status)),
        Err(_) => Some(Some(WaitStatus::Exited(child, 0))),
    }
}

/// No `signalfd` here: a caller catches the signals with handlers instead
/// (`daemon-run`'s supervisor: `signal-hook`'s self-pipe). Uninhabited.
#[derive(Debug)]
pub enum SignalFd {}

impl SignalFd {
    /// `ENOSYS`: there is no `signalfd`.
    ///
    /// # Errors
    ///
    /// Always `ENOSYS`.
    pub fn open(_mask: &nix::sys::signal::SigSet) -> nix::Result<SignalFd> {
        Err(Errno::ENOSYS)
    }

    /// Never called: no value exists.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match *self {}
    }

    /// Never called: no value exists.
    pub fn take(&mut self) -> Vec<nix::sys::signal::Signal> {
        match *self {}
    }
}
