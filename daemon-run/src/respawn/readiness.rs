//! `--respawn --ready notify`: the supervisor's `NOTIFY_SOCKET` for PROGRAM,
//! [`crate::notify`], which only Linux has (an abstract address, peer
//! credentials on each datagram). Elsewhere the start is refused at
//! preflight, as `--ready notify` without `--respawn` is, and the receiver
//! is a type without values.

use daemon_runtime::Error;

#[cfg(target_os = "linux")]
pub use crate::notify::Receiver;

/// Refuses `--ready notify` where there is no receiver, before anything
/// is started.
///
/// # Errors
///
/// `Unsupported` at preflight, off Linux with `notify`.
pub fn check(notify: bool) -> Result<(), Error> {
    if notify && !cfg!(target_os = "linux") {
        let what = "--respawn --ready notify";
        return Err(Error::Unsupported { step: daemon_runtime::Step::Preflight, what });
    }
    Ok(())
}

/// PROGRAM's environment naming the receiver, for `execve`.
#[cfg(target_os = "linux")]
pub fn envp(receiver: &Receiver) -> *const *const libc::c_char {
    receiver.envp.as_ptr()
}

/// No receiver exists off Linux ([`check`] refused the start).
#[cfg(not(target_os = "linux"))]
pub enum Receiver {}

#[cfg(not(target_os = "linux"))]
impl Receiver {
    pub fn bind() -> Result<Receiver, nix::errno::Errno> {
        Err(nix::errno::Errno::ENOTSUP)
    }

    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match *self {}
    }

    pub fn ready_from(&self, _pid: nix::unistd::Pid) -> bool {
        match *self {}
    }
}

/// PROGRAM's environment naming the receiver, for `execve`.
#[cfg(not(target_os = "linux"))]
pub fn envp(receiver: &Receiver) -> *const *const libc::c_char {
    match *receiver {}
}
