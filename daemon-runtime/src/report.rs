//! The report pipe between the daemon and the launcher.
//!
//! The daemon writes one fixed-size record: "ready", or the step that failed
//! and why. Records are built and written without allocating, so they can be
//! sent from between the forks. The launcher reads one record; end of file
//! without one means the daemon died. The pipe is `O_CLOEXEC`, so nothing the
//! daemon executes can hold it open; when the daemon execs a program, "ready"
//! comes first and end of file then means the exec succeeded. A failed
//! `init` sends its `Debug` text after its record.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::unistd;

use crate::error::{Refusal, Step};

/// What went wrong in a forked process: `Copy`, no heap, so it can cross the
/// pipe. The launcher turns it into an [`Error`](crate::Error) with the
/// configured paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Sys(Step, Errno),
    Refused(Refusal),
    AlreadyRunning(Option<u32>),
    RootRegained,
}

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
    /// No record within the timeout; the daemon was killed.
    TimedOut,
    /// The `init` function failed; its `Debug` text.
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
    };
    let step = Step::ALL.iter().position(|&s| s == step).unwrap_or(0) as u8;
    let mut record = [0u8; RECORD];
    record[0] = tag;
    record[1] = step;
    record[4..8].copy_from_slice(&errno.to_ne_bytes());
    record[8..16].copy_from_slice(&value.to_ne_bytes());
    record
}

fn decode(record: &[u8; RECORD]) -> Outcome {
    let step = Step::ALL.get(usize::from(record[1])).copied().unwrap_or(Step::Report);
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
        _ => Failure::Sys(Step::Report, Errno::EPROTO),
    };
    Outcome::Failed(failure)
}

/// Writes one record. Async-signal-safe: no allocation, no lock. A launcher
/// that is gone (`EPIPE`, SIGPIPE being ignored) is not an error for the daemon.
pub(crate) fn send(pipe: impl AsFd, report: Result<(), Failure>) {
    write_all(pipe.as_fd(), &encode(report));
}

/// Sends the `Debug` text of a failed `init` (in the daemon's body context,
/// where allocating is fine).
pub(crate) fn send_init_failure(pipe: impl AsFd, text: &str) {
    let mut cut = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut record = [0u8; RECORD];
    record[0] = INIT_FAILED;
    record[8..16].copy_from_slice(&(cut as u64).to_ne_bytes());
    write_all(pipe.as_fd(), &record);
    write_all(pipe.as_fd(), &text.as_bytes()[..cut]);
}

fn write_all(pipe: std::os::fd::BorrowedFd<'_>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match unistd::write(pipe, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// Reads the daemon's record, waiting at most `timeout`; when it expires,
/// calls `kill` (which must make every writer exit) and reports
/// [`Outcome::TimedOut`]. After anything but "ready" it also waits for end of
/// file, that is until every process holding the pipe (the failed one among
/// them) has exited, so that nothing is left running when the launcher reports.
pub(crate) fn receive(pipe: OwnedFd, timeout: Duration, exec: bool, kill: impl FnOnce()) -> Outcome {
    let deadline = Instant::now() + timeout;
    let mut outcome = match read_record(&pipe, deadline) {
        Err(Outcome::TimedOut) => Outcome::TimedOut,
        Err(other) => return other,
        Ok(record) if record[0] == INIT_FAILED => Outcome::InitFailed(read_text(&pipe, &record)),
        Ok(record) => decode(&record),
    };
    if exec && matches!(outcome, Outcome::Ready { .. }) {
        // Then end of file (the exec closed the pipe) or why the exec failed.
        outcome = match read_record(&pipe, deadline) {
            Ok(record) => decode(&record),
            Err(Outcome::Silent) => return outcome,
            Err(other) => other,
        };
    }
    if outcome == Outcome::TimedOut {
        kill();
    }
    if !matches!(outcome, Outcome::Ready { .. }) {
        let mut rest = [0u8; 64];
        loop {
            match unistd::read(&pipe, &mut rest) {
                Ok(0) => break,
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => break,
            }
        }
    }
    outcome
}

/// One record, or why there is none (`Silent`, `TimedOut`, a read error).
fn read_record(pipe: &OwnedFd, deadline: Instant) -> Result<[u8; RECORD], Outcome> {
    let mut record = [0u8; RECORD];
    let mut filled = 0;
    while filled < RECORD {
        if !readable_before(pipe, deadline) {
            return Err(Outcome::TimedOut);
        }
        match unistd::read(pipe, &mut record[filled..]) {
            Ok(0) => return Err(Outcome::Silent),
            Ok(n) => filled += n,
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(errno) => return Err(Outcome::Failed(Failure::Sys(Step::Report, errno))),
        }
    }
    Ok(record)
}

/// The text that follows an `INIT_FAILED` record.
fn read_text(pipe: &OwnedFd, record: &[u8; RECORD]) -> String {
    let len = (u64::from_ne_bytes(record[8..16].try_into().unwrap_or_default()) as usize).min(MAX_TEXT);
    let mut text = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match unistd::read(pipe, &mut text[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    text.truncate(filled);
    String::from_utf8_lossy(&text).into_owned()
}

/// Whether `pipe` has data (or end of file) before `deadline`.
fn readable_before(pipe: &OwnedFd, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Round up: a poll of 0 ms for 0.4 ms left would spin.
        let millis = u32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(u32::MAX);
        let timeout = PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(0) if Instant::now() >= deadline => return false,
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) | Err(_) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
