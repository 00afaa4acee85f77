//! The report pipe between the daemon and the launcher.
//!
//! The daemon writes one fixed-size record: "ready", or the step that failed
//! and why. Records are built and written without allocating, so they can be
//! sent from between the forks. The launcher reads one record; end of file
//! without one means the daemon died. The pipe is `O_CLOEXEC`, so nothing the
//! daemon executes can hold it open; when the daemon execs a program, "ready"
//! comes first and end of file then means the exec succeeded. A failed
//! `init` sends its `Display` text after its record.
//!
//! Before any code of the body can run (`init`), the daemon sends its pid in
//! a "started" record: the launcher, its subreaper, then knows which child
//! to stop if the start fails, even one that left the process group. When
//! nothing runs between the two, "started" and "ready" go in one write. With
//! manual readiness the pipe carries the body's stdout and stderr too, on
//! two more pipes ([`Relay`]), so that the daemon never holds the terminal.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::unistd;

use crate::deadline::Deadline;
use crate::error::Failure;
use crate::error::{Refusal, Step};

/// What the launcher learned from the pipe.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The daemon, this pid, is ready (or is about to exec).
    Ready {
        pid: u32,
    },
    Failed(Failure),
    /// End of file before any record: every writer exited without a word.
    Silent,
    /// No record within the timeout.
    TimedOut,
    /// The `init` function failed; its `Display` text.
    InitFailed(String),
}

const RECORD: usize = 16;
const READY: u8 = 1;
const SYS: u8 = 2;
const NOT_REGULAR: u8 = 3;
const LINKED: u8 = 4;
const FOREIGN: u8 = 5;
const ALREADY_RUNNING: u8 = 6;
const SYMBOLIC_LINK: u8 = 7;
const ROOT_REGAINED: u8 = 8;
const UNTRUSTED_SYMLINK: u8 = 9;
const INIT_FAILED: u8 = 10;
const STARTED: u8 = 11;
const LOCKED_UNSEEN: u8 = 12;
/// The longest `init` error text sent; the rest is cut.
const MAX_TEXT: usize = 4096;

fn encode(report: Result<(), Failure>) -> [u8; RECORD] {
    let (tag, step, errno, value): (u8, Step, i32, u64) = match report {
        Ok(()) => (READY, Step::Report, 0, u64::from(unistd::getpid().as_raw().unsigned_abs())),
        Err(Failure::Sys(step, errno)) => (SYS, step, errno as i32, 0),
        Err(Failure::Refused(Refusal::SymbolicLink)) => (SYMBOLIC_LINK, Step::PidFile, 0, 0),
        Err(Failure::Refused(Refusal::NotRegular)) => (NOT_REGULAR, Step::PidFile, 0, 0),
        Err(Failure::Refused(Refusal::Linked { links })) => (LINKED, Step::PidFile, 0, links),
        Err(Failure::Refused(Refusal::Foreign { uid })) => (FOREIGN, Step::PidFile, 0, uid.into()),
        Err(Failure::Refused(Refusal::UntrustedSymlink { uid })) => {
            (UNTRUSTED_SYMLINK, Step::PidFile, 0, uid.into())
        }
        // Found by the walk, in the launcher: never sent.
        Err(Failure::Refused(_)) => (SYS, Step::PidFile, libc::EPERM, 0),
        Err(Failure::RootRegained) => (ROOT_REGAINED, Step::Privileges, 0, 0),
        Err(Failure::AlreadyRunning(pid)) => (ALREADY_RUNNING, Step::PidFile, 0, pid.map_or(0, u64::from)),
        Err(Failure::LockedUnseen(why)) => (LOCKED_UNSEEN, Step::PidFile, 0, why.wire()),
    };
    let step = step.wire();
    let mut record = [0u8; RECORD];
    record[0] = tag;
    record[1] = step;
    record[4..8].copy_from_slice(&errno.to_ne_bytes());
    record[8..16].copy_from_slice(&value.to_ne_bytes());
    record
}

fn decode(record: &[u8; RECORD]) -> Outcome {
    let step = Step::from_wire(record[1]).unwrap_or(Step::Report);
    let errno = Errno::from_raw(i32::from_ne_bytes(record[4..8].try_into().unwrap_or_default()));
    let value = u64::from_ne_bytes(record[8..16].try_into().unwrap_or_default());
    let failure = match record[0] {
        READY => return Outcome::Ready { pid: value as u32 },
        SYS => Failure::Sys(step, errno),
        SYMBOLIC_LINK => Failure::Refused(Refusal::SymbolicLink),
        ROOT_REGAINED => Failure::RootRegained,
        NOT_REGULAR => Failure::Refused(Refusal::NotRegular),
        LINKED => Failure::Refused(Refusal::Linked { links: value }),
        FOREIGN => Failure::Refused(Refusal::Foreign { uid: value as u32 }),
        UNTRUSTED_SYMLINK => Failure::Refused(Refusal::UntrustedSymlink { uid: value as u32 }),
        ALREADY_RUNNING => Failure::AlreadyRunning(u32::try_from(value).ok().filter(|&p| p > 0)),
        LOCKED_UNSEEN => Failure::LockedUnseen(crate::lock::Hidden::from_wire(value)),
        _ => Failure::Sys(Step::Report, Errno::EPROTO),
    };
    Outcome::Failed(failure)
}

/// Writes one record. Async-signal-safe: no allocation, no lock. Says
/// whether it was written; see [`lost`].
pub(crate) fn send(pipe: impl AsFd, report: Result<(), Failure>) -> nix::Result<()> {
    write_all(pipe.as_fd(), &encode(report))
}

/// Sends this process's pid as the daemon's, before any code of the body runs.
pub(crate) fn send_started(pipe: impl AsFd) -> nix::Result<()> {
    let mut record = [0u8; RECORD];
    record[0] = STARTED;
    record[8..16].copy_from_slice(&u64::from(unistd::getpid().as_raw().unsigned_abs()).to_ne_bytes());
    write_all(pipe.as_fd(), &record)
}

/// Sends "ready", after the "started" record in the same write when
/// `started_too` (one wake-up of the launcher, not two). Async-signal-safe.
pub(crate) fn send_ready(pipe: impl AsFd, started_too: bool) -> nix::Result<()> {
    let ready = encode(Ok(()));
    if !started_too {
        return write_all(pipe.as_fd(), &ready);
    }
    // Both carry the pid, in the same place.
    let mut records = [0u8; 2 * RECORD];
    records[0] = STARTED;
    records[8..RECORD].copy_from_slice(&ready[8..]);
    records[RECORD..].copy_from_slice(&ready);
    write_all(pipe.as_fd(), &records)
}

/// Whether a record the launcher waits for was lost: then the daemon must
/// leave rather than run unseen. A launcher that is gone (`EPIPE`, SIGPIPE
/// being ignored) waits for nothing: the daemon runs on.
pub(crate) fn lost(sent: nix::Result<()>) -> bool {
    matches!(sent, Err(errno) if errno != Errno::EPIPE)
}

/// Sends the `Display` text of a failed `init` (in the daemon's body context,
/// where allocating is fine).
pub(crate) fn send_init_failure(pipe: impl AsFd, text: &str) {
    let mut cut = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut record = [0u8; RECORD];
    record[0] = INIT_FAILED;
    record[8..16].copy_from_slice(&(cut as u64).to_ne_bytes());
    let _ = write_all(pipe.as_fd(), &record).and_then(|()| write_all(pipe.as_fd(), &text.as_bytes()[..cut]));
}

fn write_all(pipe: BorrowedFd<'_>, mut bytes: &[u8]) -> nix::Result<()> {
    while !bytes.is_empty() {
        match unistd::write(pipe, bytes) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// The pipes that carry a manually ready daemon's stdout and stderr to the
/// launcher, which copies them to its own while it waits: the daemon, maybe
/// already another user, never gets the launcher's terminal (which it could
/// read). The daemon puts the write ends on 1 and 2; at `ready()` it moves
/// them to the configured files.
#[derive(Debug)]
pub(crate) struct Relay {
    /// Read ends, the launcher's: stdout's, then stderr's.
    read: [OwnedFd; 2],
}

impl Relay {
    /// The launcher's read ends, and the daemon's write ends.
    pub(crate) fn new() -> nix::Result<(Relay, [OwnedFd; 2])> {
        let (out_read, out_write) = cloexec_pipe()?;
        let (err_read, err_write) = cloexec_pipe()?;
        Ok((Relay { read: [out_read, err_read] }, [out_write, err_write]))
    }

    /// The read ends, for the list that closing inherited ones keeps.
    pub(crate) fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.read.iter().map(AsRawFd::as_raw_fd)
    }

    /// Copies one chunk of `index` (0 stdout, 1 stderr) to the launcher's
    /// own; false at end of file or on an error (then the pipe is no longer
    /// watched). Output the launcher cannot write is dropped.
    fn copy(&self, index: usize) -> bool {
        let mut chunk = [0u8; 4096];
        let n = loop {
            match unistd::read(&self.read[index], &mut chunk) {
                Ok(0) => return false,
                Ok(n) => break n,
                Err(Errno::EINTR) => {}
                Err(_) => return false,
            }
        };
        // SAFETY: 1 and 2 are the launcher's stdout and stderr, borrowed for one write.
        let to = unsafe { BorrowedFd::borrow_raw(index as i32 + 1) };
        let _ = write_all(to, &chunk[..n]);
        true
    }

    /// Copies what is in the pipes now, without waiting for their end of
    /// file: children of the body may hold them for as long as they live.
    fn drain(&self, open: &mut [bool; 2]) {
        for (index, open) in open.iter_mut().enumerate() {
            while *open {
                let mut fds = [PollFd::new(self.read[index].as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::ZERO) {
                    Ok(1) => *open = self.copy(index),
                    Err(Errno::EINTR) => {}
                    _ => break,
                }
            }
        }
    }
}

/// What the launcher learned from the pipe, and the daemon's pid when it
/// said it (its "started" record).
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) outcome: Outcome,
    pub(crate) daemon: Option<u32>,
    /// The pipe, for [`await_end`].
    pub(crate) pipe: OwnedFd,
}

/// Reads the daemon's records, waiting at most `timeout` in all, copying the
/// relayed output meanwhile. Returns at the first outcome; ending what is
/// left of a failed start is the caller's job (it knows the processes).
pub(crate) fn receive(pipe: OwnedFd, timeout: Duration, exec: bool, relay: Option<&Relay>) -> Received {
    let mut reader = Reader {
        pipe: &pipe,
        deadline: Deadline::after(timeout),
        relay,
        open: [true; 2],
        daemon: None,
        read: [0; 2 * RECORD],
        unread: 0..0,
    };
    let mut outcome = match reader.record() {
        Err(outcome) => outcome,
        Ok(record) if record[0] == INIT_FAILED => Outcome::InitFailed(reader.text(&record)),
        Ok(record) => decode(&record),
    };
    if exec && matches!(outcome, Outcome::Ready { .. }) {
        // Then end of file (the exec closed the pipe) or why the exec failed.
        outcome = match reader.record() {
            Ok(record) => decode(&record),
            Err(Outcome::Silent) => outcome,
            Err(other) => other,
        };
    }
    if let Some(relay) = relay {
        relay.drain(&mut reader.open);
    }
    let daemon = reader.daemon;
    Received { outcome, daemon, pipe }
}

/// Waits, at most `timeout`, for the pipe's end of file: every process that
/// held it has exited, among them a daemon whose pid the launcher never
/// learned (it failed before saying it), killed with its group.
pub(crate) fn await_end(pipe: &OwnedFd, timeout: Duration) {
    let deadline = Deadline::after(timeout);
    let mut rest = [0u8; 64];
    loop {
        let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
        if deadline.poll(&mut fds) != Ok(true) {
            return;
        }
        match unistd::read(pipe, &mut rest) {
            Ok(0) => return,
            Ok(_) | Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(_) => return,
        }
    }
}

/// The launcher's end of the pipes while it waits.
struct Reader<'a> {
    pipe: &'a OwnedFd,
    deadline: Deadline,
    relay: Option<&'a Relay>,
    /// Which relayed pipes are still watched.
    open: [bool; 2],
    daemon: Option<u32>,
    /// What was read and not yet taken (`unread`): "started" and "ready"
    /// come in one write, and are read in one `read`.
    read: [u8; 2 * RECORD],
    unread: std::ops::Range<usize>,
}

impl Reader<'_> {
    /// The next record after the "started" one, or why there is none
    /// (`Silent`, `TimedOut`, a read error). Only the first "started"
    /// record counts: it is sent before the body, which may hold the pipe,
    /// could write anything.
    fn record(&mut self) -> Result<[u8; RECORD], Outcome> {
        loop {
            let record = self.read_record()?;
            if record[0] != STARTED {
                return Ok(record);
            }
            if self.daemon.is_none() {
                let pid = u64::from_ne_bytes(record[8..16].try_into().unwrap_or_default());
                self.daemon = u32::try_from(pid).ok().filter(|&pid| pid > 1);
            }
        }
    }

    fn read_record(&mut self) -> Result<[u8; RECORD], Outcome> {
        while self.unread.len() < RECORD {
            // What is left moves to the front, the next read goes after it.
            self.read.copy_within(self.unread.clone(), 0);
            self.unread = 0..self.unread.len();
            if !self.readable_before() {
                return Err(Outcome::TimedOut);
            }
            match unistd::read(self.pipe, &mut self.read[self.unread.end..]) {
                Ok(0) => return Err(Outcome::Silent),
                Ok(n) => self.unread.end += n,
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(errno) => return Err(Outcome::Failed(Failure::Sys(Step::Report, errno))),
            }
        }
        let mut record = [0u8; RECORD];
        record.copy_from_slice(&self.read[self.unread.start..self.unread.start + RECORD]);
        self.unread.start += RECORD;
        Ok(record)
    }

    /// The text that follows an `INIT_FAILED` record: what was read with
    /// it, then the rest from the pipe.
    fn text(&mut self, record: &[u8; RECORD]) -> String {
        let len = (u64::from_ne_bytes(record[8..16].try_into().unwrap_or_default()) as usize).min(MAX_TEXT);
        let mut text = vec![0u8; len];
        let early = self.unread.len().min(len);
        text[..early].copy_from_slice(&self.read[self.unread.start..self.unread.start + early]);
        self.unread.start += early;
        let mut filled = early;
        while filled < len {
            match unistd::read(self.pipe, &mut text[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        text.truncate(filled);
        String::from_utf8_lossy(&text).into_owned()
    }

    /// Whether the report pipe has data (or end of file) before the
    /// deadline; relayed output is copied while waiting.
    fn readable_before(&mut self) -> bool {
        loop {
            // The report pipe first, then the relayed ones still open.
            let report = || PollFd::new(self.pipe.as_fd(), PollFlags::POLLIN);
            let mut fds = [report(), report(), report()];
            let mut watched = [0usize; 2];
            let mut count = 1;
            if let Some(relay) = self.relay {
                for index in (0..2).filter(|&index| self.open[index]) {
                    watched[count - 1] = index;
                    fds[count] = PollFd::new(relay.read[index].as_fd(), PollFlags::POLLIN);
                    count += 1;
                }
            }
            match self.deadline.poll(&mut fds[..count]) {
                Ok(false) => return false,
                Ok(true) => {
                    let report = fds[0].any().unwrap_or(true);
                    let mut ready = [false; 2];
                    for (slot, fd) in fds[1..count].iter().enumerate() {
                        ready[watched[slot]] = fd.any().unwrap_or(true);
                    }
                    if let Some(relay) = self.relay {
                        for index in (0..2).filter(|&index| ready[index]) {
                            self.open[index] = relay.copy(index);
                        }
                    }
                    if report {
                        return true;
                    }
                }
                Err(_) => return true,
            }
        }
    }
}

/// A pipe whose two ends close on `exec` (see `sys/`).
pub(crate) use crate::sys::cloexec_pipe;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_numbers_are_dense_and_round_trip() {
        let steps: Vec<Step> = (0..=u8::MAX).map_while(Step::from_wire).collect();
        assert!(steps.len() >= 18, "{steps:?}");
        for (number, step) in steps.into_iter().enumerate() {
            assert_eq!(usize::from(step.wire()), number);
        }
        assert_eq!(Step::from_wire(u8::MAX), None);
    }

    #[test]
    fn every_record_round_trips() {
        let cases = [
            Ok(()),
            Err(Failure::Sys(Step::SecondFork, Errno::EAGAIN)),
            Err(Failure::Sys(Step::Chdir, Errno::ENOENT)),
            Err(Failure::Refused(Refusal::NotRegular)),
            Err(Failure::Refused(Refusal::SymbolicLink)),
            Err(Failure::Refused(Refusal::Linked { links: 3 })),
            Err(Failure::Refused(Refusal::Foreign { uid: 65534 })),
            Err(Failure::Refused(Refusal::UntrustedSymlink { uid: 1000 })),
            Err(Failure::AlreadyRunning(Some(4242))),
            Err(Failure::AlreadyRunning(None)),
            Err(Failure::LockedUnseen(crate::lock::Hidden::OtherNamespace)),
            Err(Failure::LockedUnseen(crate::lock::Hidden::Unreadable)),
            Err(Failure::RootRegained),
        ];
        for case in cases {
            let expected = match case {
                Ok(()) => Outcome::Ready { pid: std::process::id() },
                Err(failure) => Outcome::Failed(failure),
            };
            assert_eq!(decode(&encode(case)), expected);
        }
    }
}
