//! Reaping: the driver is a child subreaper, so every daemon and every
//! intermediate process of a double fork ends up its child once its parent
//! leaves; each is waited for here, nothing is left a zombie.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::procfs;

/// Tracks statuses reaped while waiting for another pid.
#[derive(Default)]
pub struct Reaper {
    unclaimed: HashMap<i32, WaitStatus>,
}

impl Reaper {
    /// Makes this process the reaper of its orphaned descendants.
    pub fn new() -> nix::Result<Reaper> {
        nix::sys::prctl::set_child_subreaper(true)?;
        Ok(Reaper::default())
    }

    /// Waits for `pid` to end and returns its status. A daemon may not be our
    /// child yet (its parent, the intermediate, has not exited): then wait for
    /// whichever child ends next, keep its status, and ask again.
    pub fn wait(&mut self, pid: i32) -> Option<WaitStatus> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.unclaimed.remove(&pid) {
                return Some(status);
            }
            match waitpid(Pid::from_raw(pid), None) {
                Ok(status) => return Some(status),
                Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => {}
                Err(_) => return None,
            }
            if Instant::now() > deadline {
                eprintln!("warning: pid {pid} never became a child of the driver");
                return None;
            }
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(status) => self.keep(status),
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }

    /// Kills `pid` with SIGKILL and reaps it.
    pub fn kill_and_reap(&mut self, pid: i32) {
        if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
            self.wait(pid);
        }
    }

    /// Reaps every child that has already ended (intermediates of double
    /// forks), without blocking.
    pub fn collect(&mut self) {
        while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
            self.keep(status);
        }
        // Nobody claims the intermediates: keep the map from growing.
        self.unclaimed.clear();
    }

    /// Kills and reaps every child still alive (after a failed launch, and
    /// at the end of the run).
    pub fn sweep(&mut self) {
        let me = std::process::id() as i32;
        for _ in 0..50 {
            let children = procfs::children_of(me);
            if children.is_empty() {
                break;
            }
            for child in children {
                self.kill_and_reap(child);
            }
        }
        self.collect();
    }

    fn keep(&mut self, status: WaitStatus) {
        if let Some(pid) = status.pid() {
            self.unclaimed.insert(pid.as_raw(), status);
        }
    }
}
