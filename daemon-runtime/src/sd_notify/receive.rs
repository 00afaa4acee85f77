//! A private `NOTIFY_SOCKET` on which a launcher waits for a program's own
//! `READY=1`, as `start-stop-daemon --notify-await` and systemd's
//! `Type=notify` do: [`NotifyReceiver`], public for a program that starts
//! its own children (`daemon-run --respawn` does), and what
//! [`Daemon::exec_notify`](crate::Daemon::exec_notify) builds on.
//!
//! [`NotifyReceiver::bind`] gives the socket an abstract address (no file to
//! clean up, no directory permissions to arrange after a privilege drop),
//! which is free for anyone to bind once the receiver is gone: keep it for
//! as long as the program lives, as `daemon-run --respawn`'s supervisor does.
//! `exec_notify`, whose launcher exits at ready, binds a file instead, in a
//! directory only root and the launching user can write, and removes it
//! then ([`super::private`]). Either way `SO_PASSCRED` is set, so a datagram
//! is believed only when the kernel says it comes from the program's pid: no
//! other local process can fake readiness.
//!
//! Abstract sockets, `SO_PASSCRED` and pidfds are Linux's: elsewhere
//! [`NotifyReceiver::bind`] refuses with [`io::ErrorKind::Unsupported`], and
//! `exec_notify` with [`Error::Unsupported`], before anything is forked.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags};

use crate::deadline::Deadline;
use crate::error::{Error, Step};
use crate::path::cstr::CStringArray;
use crate::sd_notify::private::{Place, SocketFile};
use crate::start::program::Environment;
use crate::sys::{self, ProcessHandle};

/// A private `NOTIFY_SOCKET`: give its [`address`](NotifyReceiver::address)
/// to a program you start, then learn from [`ready_from`](NotifyReceiver::ready_from)
/// when that very process sends `READY=1` (sd_notify(3)). Datagrams from
/// any other process, its own children included, are read and ignored.
///
/// The socket is non-blocking and close-on-exec: wait for it with `poll`
/// on its descriptor ([`AsFd`]) beside others, or simply call
/// `ready_from` again a little later. Linux only: elsewhere
/// [`bind`](NotifyReceiver::bind) refuses.
///
/// ```no_run
/// let receiver = daemon_runtime::NotifyReceiver::bind()?;
/// let mut child = std::process::Command::new("/usr/sbin/myd")
///     .env("NOTIFY_SOCKET", receiver.address())
///     .spawn()?;
/// while !receiver.ready_from(child.id()) {
///     if child.try_wait()?.is_some() {
///         panic!("myd exited before it was ready");
///     }
///     std::thread::sleep(std::time::Duration::from_millis(10));
/// }
/// println!("myd is ready");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct NotifyReceiver {
    socket: OwnedFd,
    /// `@` and the abstract name, or the file's path in the program's
    /// view, as `NOTIFY_SOCKET` writes it.
    address: String,
    /// With a filesystem address: the file, removed when dropped.
    file: Option<SocketFile>,
}

impl NotifyReceiver {
    /// Binds a new socket at a fresh abstract address, with `SO_PASSCRED`.
    ///
    /// Once the receiver is dropped, any local user may bind that name and
    /// read what is sent to it (descriptors included): keep the receiver
    /// for as long as the program it was given to may send.
    ///
    /// # Errors
    ///
    /// `socket`, `bind` or `setsockopt` failed; off Linux, `Unsupported`.
    ///
    /// ```no_run
    /// let receiver = daemon_runtime::NotifyReceiver::bind()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind() -> io::Result<NotifyReceiver> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let name = format!("daemon-runtime/{}/{}", std::process::id(), nanos.as_nanos());
        let socket = sys::bind_credentialed(name.as_bytes())?;
        Ok(NotifyReceiver { socket, address: format!("@{name}"), file: None })
    }

    /// What the program's `NOTIFY_SOCKET` must say: `@` and the abstract
    /// name (`@daemon-runtime/PID/NANOS`).
    ///
    /// ```no_run
    /// let receiver = daemon_runtime::NotifyReceiver::bind()?;
    /// assert!(receiver.address().starts_with("@daemon-runtime/"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Reads every datagram waiting, without blocking: did one come from
    /// process `pid` and say `READY=1` (on a line of its own)? The others
    /// (`STATUS=`, a child's, a later instance's) are consumed and dropped.
    ///
    /// ```no_run
    /// let receiver = daemon_runtime::NotifyReceiver::bind()?;
    /// assert!(!receiver.ready_from(std::process::id()), "nothing was sent yet");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ready_from(&self, pid: u32) -> bool {
        let mut ready = false;
        let mut buf = [0u8; 4096];
        // Until EAGAIN: nothing more waits.
        while let Some((bytes, sender)) = sys::receive_from(self.socket.as_fd(), &mut buf) {
            let from_program = sender == Some(pid);
            ready |= from_program && buf[..bytes].split(|&b| b == b'\n').any(|line| line == b"READY=1");
        }
        ready
    }

    /// Waits until process `pid` sends `READY=1`, exits, or `timeout` passes.
    pub(crate) fn await_ready(&self, pid: u32, timeout: Duration) -> Result<(), NotReady> {
        let deadline = Deadline::after(timeout);
        let program = ProcessHandle::open(pid).map_err(|_| NotReady::Exited)?;
        loop {
            let mut fds = [
                PollFd::new(self.socket.as_fd(), PollFlags::POLLIN),
                PollFd::new(program.as_fd(), PollFlags::POLLIN),
            ];
            match deadline.poll(&mut fds) {
                Ok(true) => {}
                Ok(false) => return Err(NotReady::TimedOut),
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
}

impl AsFd for NotifyReceiver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// Why waiting for `READY=1` ended otherwise.
pub(crate) enum NotReady {
    Exited,
    TimedOut,
}

impl NotifyReceiver {
    /// [`Daemon::exec_notify`](crate::Daemon::exec_notify)'s receiver,
    /// bound in the launcher before forking, and the environment the program
    /// is executed with: this process's, with `NOTIFY_SOCKET` naming it.
    pub(crate) fn for_program(chroot: Option<&Path>) -> Result<(NotifyReceiver, CStringArray), Error> {
        let sys = |errno| Error::Sys { step: Step::Preflight, errno: crate::error::errno::Errno::of(errno) };
        if !sys::CREDENTIALED_DATAGRAMS {
            return Err(Error::Unsupported {
                step: Step::Preflight,
                what: "a private NOTIFY_SOCKET (exec_notify)",
            });
        }
        let place = Place::find(chroot)?;
        let socket = sys::bind_credentialed_at(&place.bound_at).map_err(|error| {
            let errno = Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO));
            Error::Path {
                step: Step::Preflight,
                path: place.bound_at.clone(),
                errno: crate::error::errno::Errno::of(errno),
            }
        })?;
        let address = place.address.clone();
        let receiver = NotifyReceiver { socket, address, file: Some(place.bound().map_err(sys)?) };
        // LISTEN_PID, WATCHDOG_PID: the program gets the entries the daemon rewrites.
        let envp = Environment::setting("NOTIFY_SOCKET", receiver.address()).envp();
        Ok((receiver, envp))
    }

    /// At ready, or once the start failed: the socket's file is removed,
    /// so that the program's later messages reach no one.
    pub(crate) fn remove_file(&mut self) {
        if let Some(file) = &mut self.file {
            file.remove();
        }
    }

    /// In the daemon, right after the fork: closed, its file left to the launcher.
    pub(crate) fn close_in_daemon(self) {
        let NotifyReceiver { socket, address, file } = self;
        drop(socket);
        std::mem::forget(address);
        if let Some(file) = file {
            file.forget();
        }
    }

    /// The socket's descriptor, to keep open while closing inherited ones.
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }
}
