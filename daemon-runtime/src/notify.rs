//! A private `NOTIFY_SOCKET` for a program started by [`Daemon::exec_notify`](crate::Daemon::exec_notify):
//! the launcher returns only once the program itself sends `READY=1`, as
//! `start-stop-daemon --notify-await` and systemd's `Type=notify` do.
//!
//! The socket has an abstract address (reachable after a `chroot`, no file
//! to clean up, no directory permissions to arrange after a privilege drop)
//! and `SO_PASSCRED`, so a datagram is believed only when the kernel says it
//! comes from the program's pid: no other local process can fake readiness.
//!
//! Abstract sockets, `SO_PASSCRED` and pidfds are Linux's: elsewhere
//! [`NotifySocket::bind`] refuses with [`Error::Unsupported`], before
//! anything is forked.

#[cfg(target_os = "linux")]
use std::ffi::CString;
#[cfg(target_os = "linux")]
use std::io::IoSliceMut;
#[cfg(target_os = "linux")]
use std::os::fd::AsFd;
use std::os::fd::{AsRawFd, OwnedFd};
#[cfg(target_os = "linux")]
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;
#[cfg(target_os = "linux")]
use std::time::Instant;

#[cfg(target_os = "linux")]
use nix::errno::Errno;
#[cfg(target_os = "linux")]
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
#[cfg(target_os = "linux")]
use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr, bind, recvmsg, setsockopt,
    socket, sockopt,
};

use crate::c_strings::CStringArray;
use crate::error::{Error, Step};

/// The launcher's end, and the environment the program is executed with.
pub(crate) struct NotifySocket {
    socket: OwnedFd,
    /// `KEY=value` strings for `execve`: this process's environment with
    /// `NOTIFY_SOCKET` set.
    pub(crate) envp_ptrs: CStringArray,
}

/// Why waiting for `READY=1` ended otherwise.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // never waited for there
pub(crate) enum NotReady {
    Exited,
    TimedOut,
}

impl NotifySocket {
    /// Refuses: see the module's documentation.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn bind() -> Result<NotifySocket, Error> {
        Err(Error::Unsupported { step: Step::Preflight, what: "a private NOTIFY_SOCKET (exec_notify)" })
    }

    /// Binds the socket, in the launcher, before forking.
    #[cfg(target_os = "linux")]
    pub(crate) fn bind() -> Result<NotifySocket, Error> {
        let sys = |errno| Error::Sys { step: Step::Preflight, errno };
        let socket =
            socket(AddressFamily::Unix, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None).map_err(sys)?;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let name = format!("daemon-runtime/{}/{}", std::process::id(), nanos.as_nanos());
        bind(socket.as_raw_fd(), &UnixAddr::new_abstract(name.as_bytes()).map_err(sys)?).map_err(sys)?;
        setsockopt(&socket, sockopt::PassCred, &true).map_err(sys)?;
        // LISTEN_PID, WATCHDOG_PID: the program gets the entries the daemon rewrites.
        let rewritten = crate::pid_vars::entries();
        let mut envp: Vec<CString> = std::env::vars_os()
            .filter(|(key, _)| key != "NOTIFY_SOCKET" && !rewritten.iter().any(|(name, _)| key == name))
            .filter_map(|(key, value)| CString::new([key.as_bytes(), b"=", value.as_bytes()].concat()).ok())
            .collect();
        envp.push(CString::new(format!("NOTIFY_SOCKET=@{name}")).map_err(|_| sys(Errno::EINVAL))?);
        let entries: Vec<*const libc::c_char> = rewritten.iter().map(|&(_, entry)| entry).collect();
        Ok(NotifySocket { socket, envp_ptrs: CStringArray::new(envp, &entries) })
    }

    /// The socket's descriptor, to keep open while closing inherited ones.
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }

    /// Never reached: [`NotifySocket::bind`] refused.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn await_ready(&self, _pid: u32, _timeout: Duration) -> Result<(), NotReady> {
        Err(NotReady::Exited)
    }

    /// Waits until process `pid` sends `READY=1`, exits, or `timeout` passes.
    #[cfg(target_os = "linux")]
    pub(crate) fn await_ready(&self, pid: u32, timeout: Duration) -> Result<(), NotReady> {
        let deadline = Instant::now() + timeout;
        let program = crate::pidfd::pidfd_open(pid).map_err(|_| NotReady::Exited)?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(NotReady::TimedOut);
            }
            let millis = u32::try_from(left.as_millis().max(1)).unwrap_or(u32::MAX);
            let mut fds = [
                PollFd::new(self.socket.as_fd(), PollFlags::POLLIN),
                PollFd::new(program.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)) {
                Ok(0) | Err(Errno::EINTR) => continue,
                Ok(_) => {}
                Err(_) => return Err(NotReady::Exited),
            }
            if fds[0].any().unwrap_or(false) && self.ready_from(pid) {
                return Ok(());
            }
            if fds[1].any().unwrap_or(false) {
                return Err(NotReady::Exited);
            }
        }
    }

    /// Reads one datagram: does it come from `pid` and say `READY=1`?
    #[cfg(target_os = "linux")]
    fn ready_from(&self, pid: u32) -> bool {
        let mut buf = [0u8; 4096];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut control = nix::cmsg_space!(libc::ucred);
        let Ok(message) =
            recvmsg::<()>(self.socket.as_raw_fd(), &mut iov, Some(&mut control), MsgFlags::empty())
        else {
            return false;
        };
        let bytes = message.bytes;
        let from_program = message.cmsgs().is_ok_and(|mut cmsgs| {
            cmsgs.any(|cmsg| matches!(cmsg, ControlMessageOwned::ScmCredentials(c) if c.pid() as u32 == pid))
        });
        from_program && buf[..bytes].split(|&b| b == b'\n').any(|line| line == b"READY=1")
    }
}
