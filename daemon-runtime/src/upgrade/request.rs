//! Asking a running daemon, from outside, to upgrade: the other end of
//! `reply.rs`, and what `daemon-run --upgrade` calls.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags};
use nix::sys::signal::Signal;

use crate::control::proven_holder;
use crate::deadline::Deadline;
use crate::lock::Holder;
use crate::sys;
use crate::upgrade::reply::{self, Reply};

/// How often the pid file is looked at while no reply comes: a daemon in
/// another network namespace (where the abstract reply address is another
/// one) is still seen to have handed over.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// The biggest reply read: a `<step>: <cause>` line is far shorter.
const REPLY_MAX: usize = 8192;

/// What [`request_upgrade`] learned.
///
/// ```no_run
/// use daemon_runtime::Requested;
/// use std::time::Duration;
/// match daemon_runtime::request_upgrade("/run/myd.pid", Duration::from_secs(60))? {
///     Requested::Upgraded { old, new } => println!("{old} handed over to {new}"),
///     Requested::Failed { pid, message, code } => eprintln!("{pid} still serves; the new one failed: {message} ({code})"),
///     Requested::NotRunning => eprintln!("not running"),
///     _ => {}
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requested {
    /// The daemon `old` handed over to `new`, which is ready and holds the
    /// pid file; `old` is draining (or gone).
    Upgraded {
        /// The process that was asked.
        old: u32,
        /// The process that serves now.
        new: u32,
    },
    /// The upgrade failed or was refused, and the daemon `pid` still serves
    /// and holds the pid file.
    Failed {
        /// The process that was asked, still the daemon.
        pid: u32,
        /// The new process's error (`init: cannot open /etc/myd.key`) or the
        /// refusal (`upgrade: another upgrade of this daemon is in progress`),
        /// as `<step>: <cause>`.
        message: String,
        /// The code a launcher would have exited with.
        code: i32,
    },
    /// Nothing holds the pid file's lock: nothing was signalled.
    NotRunning,
}

/// Asks the daemon holding the lock of the pid file at `path` to upgrade,
/// and waits up to `timeout` for the outcome.
///
/// The request is SIGUSR2, sent through a pidfd to the proven holder of
/// the lock, so only a user allowed to signal it (its owner, and root)
/// can ask, and no other process is ever signalled. It is meant for
/// daemons that run [`Upgrade::run`](crate::Upgrade::run) on SIGUSR2 (as
/// `examples/upgrade.rs` does), and for `daemon-run --respawn` supervisors
/// holding sockets, which swap their PROGRAM (`Requested::Upgraded`'s `old` is then the
/// supervisor, which stays, and `new` the new PROGRAM); a daemon that does not catch SIGUSR2 is not
/// signalled at all (its default action would end it). The outcome comes
/// back from the daemon itself: before signalling, this binds an abstract
/// Unix address named after the daemon's pid, where `Upgrade::run` sends
/// `ready NEW_PID` or the new process's error when it returns; only a
/// datagram the kernel says the daemon sent is believed. A daemon seen to
/// have handed over (the pid file proven held by another process while
/// the one asked still lives) counts as upgraded even without a reply.
///
/// # Errors
///
/// Those of [`status`](crate::status); the daemon does not catch SIGUSR2
/// (`InvalidInput`), or which signals it catches cannot be told (off
/// Linux: `Unsupported`); another request for the same daemon is waiting
/// (`AddrInUse`); sending the signal; the daemon exited without a reply
/// and no other process holds the file; no outcome within `timeout`
/// (`TimedOut`: the upgrade may still complete).
pub fn request_upgrade(path: impl AsRef<Path>, timeout: Duration) -> io::Result<Requested> {
    let path = path.as_ref();
    let Some(Holder { pid, process, .. }) = proven_holder(path)? else { return Ok(Requested::NotRunning) };
    let replies =
        sys::bind_credentialed(reply::name(pid).as_bytes()).map_err(|error| match error.raw_os_error() {
            Some(libc::EADDRINUSE) => io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("another request to upgrade pid {pid} is waiting for its outcome"),
            ),
            _ => error,
        })?;
    let catches = sys::catches(pid, Signal::SIGUSR2);
    if !process.alive() {
        return Err(io::Error::other(format!("pid {pid} exited before it was asked")));
    }
    if !catches? {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("pid {pid} does not catch SIGUSR2: the signal would end it, not upgrade it"),
        ));
    }
    process.signal(Signal::SIGUSR2)?;
    let deadline = Deadline::after(timeout);
    loop {
        if let Some(outcome) = outcome(replies.as_fd(), pid) {
            return Ok(outcome);
        }
        if !process.alive() {
            // A reply is queued before its sender exits: read it now.
            if let Some(outcome) = outcome(replies.as_fd(), pid) {
                return Ok(outcome);
            }
            return match proven_holder(path)? {
                Some(holder) if holder.pid != pid => Ok(Requested::Upgraded { old: pid, new: holder.pid }),
                _ => Err(io::Error::other(format!(
                    "pid {pid} exited without reporting its upgrade, and no other process holds the pid file"
                ))),
            };
        }
        if let Ok(Some(holder)) = proven_holder(path)
            && holder.pid != pid
        {
            return Ok(Requested::Upgraded { old: pid, new: holder.pid });
        }
        if deadline.left().is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("pid {pid} reported no outcome within {timeout:?}; its upgrade may still complete"),
            ));
        }
        let mut fds = [
            PollFd::new(replies.as_fd(), PollFlags::POLLIN),
            PollFd::new(process.as_fd(), PollFlags::POLLIN),
        ];
        Deadline::after(deadline.left().min(LOOK_EVERY)).poll(&mut fds)?;
    }
}

/// The first reply waiting on `replies` that the daemon `pid` sent.
fn outcome(replies: BorrowedFd<'_>, pid: u32) -> Option<Requested> {
    let mut buf = [0u8; REPLY_MAX];
    while let Some((len, sender)) = sys::receive_from(replies, &mut buf) {
        match reply::decode(&buf[..len]) {
            Some(_) if sender != Some(pid) => {}
            Some(Reply::Ready(new)) => return Some(Requested::Upgraded { old: pid, new }),
            Some(Reply::Failed { code, message }) => return Some(Requested::Failed { pid, message, code }),
            None => {}
        }
    }
    None
}
