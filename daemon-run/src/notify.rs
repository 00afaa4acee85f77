//! `--respawn --ready notify`: the supervisor's own `NOTIFY_SOCKET` for
//! PROGRAM, so that the launcher returns once the first instance sent
//! `READY=1` (the supervisor then calls `daemon_runtime::ready()`).
//!
//! As the runtime's `exec_notify` does: an abstract address (nothing to
//! clean up, reachable after `chroot` and the privilege drop) and
//! `SO_PASSCRED`, so a datagram counts only when the kernel says it comes
//! from PROGRAM's pid.

use std::ffi::CString;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr, bind, recvmsg, setsockopt,
    socket, sockopt,
};
use nix::unistd::Pid;

/// The supervisor's end, and PROGRAM's environment naming it.
pub struct Receiver {
    socket: OwnedFd,
    /// `KEY=value`: the supervisor's environment, `NOTIFY_SOCKET` replaced.
    /// Never read: kept alive because `envp` points into it.
    _vars: Vec<CString>,
    /// Null-terminated pointers into `vars`, for `execve`.
    pub envp: Vec<*const libc::c_char>,
}

impl Receiver {
    /// Binds the socket (non-blocking), in the supervisor, before any fork.
    ///
    /// # Errors
    ///
    /// `socket`, `bind` or `setsockopt` failed.
    pub fn bind() -> Result<Receiver, Errno> {
        let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
        let socket = socket(AddressFamily::Unix, SockType::Datagram, flags, None)?;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let name = format!("daemon-run/{}/{}", std::process::id(), nanos.as_nanos());
        bind(socket.as_raw_fd(), &UnixAddr::new_abstract(name.as_bytes())?)?;
        setsockopt(&socket, sockopt::PassCred, &true)?;
        let mut vars: Vec<CString> = std::env::vars_os()
            .filter(|(key, _)| key != "NOTIFY_SOCKET")
            .filter_map(|(key, value)| CString::new([key.as_bytes(), b"=", value.as_bytes()].concat()).ok())
            .collect();
        vars.push(CString::new(format!("NOTIFY_SOCKET=@{name}")).map_err(|_| Errno::EINVAL)?);
        let envp = vars.iter().map(|var| var.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();
        Ok(Receiver { socket, _vars: vars, envp })
    }

    /// The socket, to poll.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// Reads the datagrams waiting: did one from `pid` say `READY=1`?
    pub fn ready_from(&self, pid: Pid) -> bool {
        let mut ready = false;
        loop {
            let mut buf = [0u8; 4096];
            let mut iov = [IoSliceMut::new(&mut buf)];
            let mut control = nix::cmsg_space!(libc::ucred);
            let Ok(message) =
                recvmsg::<()>(self.socket.as_raw_fd(), &mut iov, Some(&mut control), MsgFlags::empty())
            else {
                return ready; // EAGAIN: nothing more
            };
            let bytes = message.bytes;
            let from_program = message.cmsgs().is_ok_and(|mut cmsgs| {
                cmsgs.any(
                    |cmsg| matches!(cmsg, ControlMessageOwned::ScmCredentials(c) if c.pid() == pid.as_raw()),
                )
            });
            ready |= from_program && buf[..bytes].split(|&b| b == b'\n').any(|line| line == b"READY=1");
        }
    }
}
