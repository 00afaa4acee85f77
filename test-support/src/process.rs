//! Processes seen from outside, through `/proc/PID`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::{Harness, PATIENCE, wait};

/// A process seen through `/proc/PID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc(pub i32);

impl Proc {
    pub fn pid(self) -> Pid {
        Pid::from_raw(self.0)
    }

    pub fn read(self, file: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{file}", self.0))
            .unwrap_or_else(|e| panic!("/proc/{}/{file}: {e}", self.0))
    }

    /// A field of `/proc/PID/status`, such as `Umask` or `SigIgn`.
    pub fn status(self, field: &str) -> String {
        let prefix = format!("{field}:");
        self.read("status")
            .lines()
            .find_map(|line| line.strip_prefix(&prefix).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {field} in /proc/{}/status", self.0))
    }

    /// `/proc/PID/stat` after the command name: state, ppid, pgrp, session, tty_nr, ...
    fn stat(self) -> Vec<String> {
        let stat = self.read("stat");
        let rest = &stat[stat.rfind(')').expect("stat") + 2..];
        rest.split_whitespace().map(str::to_string).collect()
    }

    /// The command name, `/proc/PID/comm`.
    pub fn comm(self) -> String {
        self.read("comm").trim_end().to_string()
    }

    pub fn state(self) -> String {
        self.stat()[0].clone()
    }
    pub fn ppid(self) -> i32 {
        self.stat()[1].parse().unwrap()
    }
    pub fn session(self) -> i32 {
        self.stat()[3].parse().unwrap()
    }
    pub fn tty_nr(self) -> i32 {
        self.stat()[4].parse().unwrap()
    }

    pub fn cwd(self) -> PathBuf {
        std::fs::read_link(format!("/proc/{}/cwd", self.0)).expect("cwd")
    }

    /// Open descriptors and what they point to.
    pub fn fds(self) -> BTreeMap<i32, PathBuf> {
        std::fs::read_dir(format!("/proc/{}/fd", self.0))
            .expect("fd dir")
            .flatten()
            .map(|e| {
                (
                    e.file_name().to_str().unwrap().parse().unwrap(),
                    std::fs::read_link(e.path()).unwrap_or_default(),
                )
            })
            .collect()
    }

    pub fn alive(self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.0)).is_ok() && self.state() != "Z"
    }

    /// Collects the process's exit status if it is our child (or was
    /// re-parented to us): waits up to [`PATIENCE`].
    pub fn reap(self) -> Option<WaitStatus> {
        wait::poll(PATIENCE, || match waitpid(self.pid(), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::EINTR) => None,
            Ok(status) => Some(Some(status)),
            Err(_) => Some(None), // not ours
        })
        .flatten()
    }

    /// Where the process stands with the signals sent to it, from one
    /// reading of `/proc/PID/status`. A signal sent to a process (`kill`,
    /// `killpg`, a terminal's hangup) is pending from the moment the call
    /// returns until it is delivered: a handler runs, or the default action
    /// ends the process, which then shows as [`Ended`](Signals::Ended) (a
    /// zombie keeps its pending set until reaped).
    pub fn signals(self) -> Signals {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", self.0)) else {
            return Signals::Ended;
        };
        let field = |name: &str| status.lines().find_map(|line| line.strip_prefix(name)).map(str::trim);
        if field("State:").is_none_or(|state| state.starts_with(['Z', 'X'])) {
            return Signals::Ended;
        }
        let pending = [field("SigPnd:"), field("ShdPnd:")]
            .iter()
            .any(|mask| mask.is_none_or(|m| !m.trim_start_matches('0').is_empty()));
        if pending { Signals::Pending } else { Signals::NonePending }
    }

    /// Asserts that `who` (this process) lives with no signal pending. For a
    /// process that catches no signal (a `sleep`, say) that means no signal
    /// was sent to it: one that ends it stays pending until it has, so this
    /// needs no waiting.
    #[track_caller]
    pub fn assert_untouched(self, who: &str) {
        let signals = self.signals();
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0)).unwrap_or_default();
        assert_eq!(signals, Signals::NonePending, "{who} (pid {}) was signalled: {status}", self.0);
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(self) -> Option<WaitStatus> {
        kill(self.pid(), Signal::SIGTERM).expect("SIGTERM");
        self.reap()
    }

    /// Sends SIGKILL and waits for the exit status.
    pub fn kill(self) -> Option<WaitStatus> {
        kill(self.pid(), Signal::SIGKILL).expect("SIGKILL");
        self.reap()
    }
}

/// Where a process stands with the signals sent to it: see [`Proc::signals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signals {
    /// A zombie, or no longer there.
    Ended,
    /// Alive, with a signal sent and not yet delivered.
    Pending,
    /// Alive, with no signal waiting.
    NonePending,
}

/// A live process that must never be signalled (what a stale pid file
/// names, say): `sleep 60` by default, killed and reaped when dropped.
pub struct Bystander(pub std::process::Child);

impl Bystander {
    /// Starts `sleep 60` as this test's user.
    pub fn spawn(harness: &Harness) -> Bystander {
        Bystander(harness.command("sleep").arg("60").spawn().expect("bystander"))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Asserts that no signal reached it: it lives, and none is pending.
    /// Every signal a `sleep` can be sent ends it, and one just sent stays
    /// pending until it has (see [`Proc::signals`]), so this needs no
    /// waiting.
    #[track_caller]
    pub fn assert_untouched(&self) {
        Proc(self.pid() as i32).assert_untouched("the bystander");
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `SigIgn` of a daemon whose signals were reset: only SIGPIPE ignored.
///
/// Built with `--cfg daemon_portable` on glibc, the reset goes through
/// libc's `sigaction`, which refuses glibc's reserved signals 32 and 33: they
/// keep what the launcher inherited from this test (which is ignored when
/// this test was started through glibc's `posix_spawn`, as cargo does). That
/// is the documented gap of that fallback, and why Linux uses the raw system
/// call by default.
pub fn ignored_after_reset() -> String {
    let sigpipe: u64 = 1 << (libc::SIGPIPE - 1);
    #[cfg(all(daemon_portable, target_env = "gnu"))]
    let sigpipe = sigpipe
        | (u64::from_str_radix(&Proc(std::process::id() as i32).status("SigIgn"), 16).unwrap() & 0b11 << 31);
    format!("{sigpipe:016x}")
}
