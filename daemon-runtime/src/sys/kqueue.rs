//! macOS's and FreeBSD's [`ProcessHandle`]: a kqueue watching one pid's
//! `EVFILT_PROC`/`NOTE_EXIT`. Allocation-free.
//!
//! What it proves is less than a pidfd. The watch is registered before the
//! process is checked, and registration fails with `ESRCH` for a pid no
//! process has, so an exit after that is never missed: until the queue
//! reports one, the pid named the process that was checked. But the watch
//! does not hold the pid: a signal is sent by number, with `kill(2)`, once
//! the queue shows no exit, and it could reach another process only if
//! this one exited, was reaped by its parent and its pid was handed out
//! again between that look and the `kill` (a zombie keeps its pid until
//! reaped). A pidfd (Linux) names the process itself and has no such gap.
//!
//! The kernels: xnu `bsd/kern/kern_event.c` `filt_procattach` (line 1098 at
//! xnu-11417.101.15) answers `ESRCH` when `proc_find` finds no process
//! (line 1111), and `EACCES` only when `NOTE_EXITSTATUS` is asked as well
//! (line 1117): a plain `NOTE_EXIT` watch is allowed on any process.
//! FreeBSD's (`sys/kern/kern_event.c`, index id 2347888757) finds zombies
//! too (`pfind_any`), then asks `p_cansee`, which answers `ESRCH` for a
//! live process hidden by the `see_other_uids` family of sysctls: an
//! `ESRCH` is "no such process" only when `esrch_is_ambiguous` says so.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::event::{EvFlags, EventFilter, FilterFlag, KEvent, Kqueue};
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

use crate::deadline::Deadline;

/// One process, pinned by a kqueue that reports its exit.
#[derive(Debug)]
pub(crate) struct ProcessHandle {
    pid: Pid,
    queue: Kqueue,
    /// The exit was reported (`NOTE_EXIT` is delivered once, then the watch
    /// is gone): remembered, so that no later look mistakes it for a life.
    exited: AtomicBool,
}

/// Readable once the exit is queued (a kqueue is pollable on macOS and
/// FreeBSD): to `poll` beside other descriptors.
impl std::os::fd::AsFd for ProcessHandle {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.queue.as_fd()
    }
}

impl ProcessHandle {
    /// Watches process `pid`; `ESRCH` when there is none (or, on FreeBSD,
    /// one this caller may not see: see the module's text).
    pub(crate) fn open(pid: u32) -> io::Result<ProcessHandle> {
        let raw = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
        let queue = Kqueue::new()?;
        // A program another thread executes meanwhile must not inherit it.
        fcntl(&queue, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        let watch = KEvent::new(
            raw as libc::uintptr_t,
            EventFilter::EVFILT_PROC,
            EvFlags::EV_ADD,
            FilterFlag::NOTE_EXIT,
            0,
            0,
        );
        // No room for events: a registration error is returned, not queued.
        queue.kevent(&[watch], &mut [], Some(timespec(Duration::ZERO)))?;
        Ok(ProcessHandle { pid: Pid::from_raw(raw), queue, exited: AtomicBool::new(false) })
    }

    /// Whether the process has not exited yet: while it has not, its pid
    /// names it and no other.
    pub(crate) fn alive(&self) -> bool {
        !self.wait_exit(Duration::ZERO)
    }

    /// `kill(2)` once the queue shows no exit: the pid is still this
    /// process's, unless it exited, was reaped and its pid was handed out
    /// again between the two calls (see the module's text).
    pub(crate) fn signal(&self, signal: Signal) -> io::Result<()> {
        if !self.alive() {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(signal::kill(self.pid, signal)?)
    }

    /// Waits up to `timeout` for the process to exit; whether it has.
    pub(crate) fn wait_exit(&self, timeout: Duration) -> bool {
        if self.exited.load(Ordering::Relaxed) {
            return true;
        }
        let deadline = Deadline::after(timeout);
        let mut events =
            [KEvent::new(0, EventFilter::EVFILT_PROC, EvFlags::empty(), FilterFlag::empty(), 0, 0)];
        loop {
            let left = deadline.left();
            match self.queue.kevent(&[], &mut events, Some(timespec(left))) {
                Ok(0) if left.is_zero() => return false,
                Ok(0) | Err(Errno::EINTR) => {}
                // The one event watched: its exit (or an error about it,
                // which tells nothing, so it is taken as gone as well and
                // nothing is signalled on its word).
                Ok(_) | Err(_) => {
                    self.exited.store(true, Ordering::Relaxed);
                    return true;
                }
            }
        }
    }
}

fn timespec(duration: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(duration.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: duration.subsec_nanos() as _,
    }
}
