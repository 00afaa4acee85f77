//! Waiting until a deadline: the one `poll` loop of the crate, with one
//! rounding, used wherever a process, a pipe or a socket is waited for;
//! and how long a start waits unless told otherwise.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollTimeout, poll};

/// How long the launcher waits for the daemon's report unless told
/// otherwise (`ready_timeout`), and an upgrade for its new process.
pub(crate) const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A moment after which a wait gives up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Instant);

impl Deadline {
    /// `timeout` from now.
    pub(crate) fn after(timeout: Duration) -> Deadline {
        Deadline(Instant::now() + timeout)
    }

    /// What is left of the wait; zero once the deadline has passed.
    pub(crate) fn left(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Calls `attempt` until it answers (`Some`), sleeping `every` (less
    /// near the end) between calls, until the deadline passes: `None` then.
    /// For what no descriptor can be polled for (a lock released, an orphan
    /// gone); `attempt` runs at least once, and once more at the deadline.
    pub(crate) fn retry<T>(&self, every: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
        loop {
            if let Some(answer) = attempt() {
                return Some(answer);
            }
            let left = self.left();
            if left.is_zero() {
                return None;
            }
            std::thread::sleep(left.min(every));
        }
    }

    /// `poll(2)` on `fds` until one of them has an event (`Ok(true)`) or the
    /// deadline passes (`Ok(false)`), retrying `EINTR`. The time left is
    /// rounded up to whole milliseconds: a poll of 0 ms for 0.4 ms left would
    /// spin, and one that returns early is just polled again.
    pub(crate) fn poll(&self, fds: &mut [PollFd<'_>]) -> nix::Result<bool> {
        loop {
            let left = self.left();
            let millis = u32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(u32::MAX);
            match poll(fds, PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)) {
                Ok(0) if left.is_zero() => return Ok(false),
                Ok(0) | Err(Errno::EINTR) => {}
                Ok(_) => return Ok(true),
                Err(errno) => return Err(errno),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::time::{Duration, Instant};

    use nix::poll::{PollFd, PollFlags};

    use super::Deadline;

    #[test]
    fn poll_waits_for_the_deadline_then_reports_nothing() {
        let (read, _write) = nix::unistd::pipe().unwrap();
        let start = Instant::now();
        let mut fds = [PollFd::new(read.as_fd(), PollFlags::POLLIN)];
        assert_eq!(Deadline::after(Duration::from_millis(30)).poll(&mut fds), Ok(false));
        assert!(start.elapsed() >= Duration::from_millis(30), "returned before the deadline");
    }

    #[test]
    fn poll_reports_an_event_at_once() {
        let (read, write) = nix::unistd::pipe().unwrap();
        nix::unistd::write(&write, b"x").unwrap();
        let mut fds = [PollFd::new(read.as_fd(), PollFlags::POLLIN)];
        assert_eq!(Deadline::after(Duration::from_secs(60)).poll(&mut fds), Ok(true));
    }
}
