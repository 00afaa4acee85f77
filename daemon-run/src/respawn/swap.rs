//! `--respawn` with held sockets (`--listen`, or a service manager's): an
//! upgrade of PROGRAM without a moment in which no process accepts.
//!
//! `daemon-run --upgrade` sends SIGUSR2 to the proven holder of the pid
//! file, which is the supervisor. When it holds sockets, the supervisor
//! does not pass that signal on: it starts the PROGRAM now on disk at the
//! same path, with the same arguments, on the same sockets (`LISTEN_PID`
//! naming it), and waits for its readiness: its `exec` with `--ready exec`,
//! its `READY=1` within `--ready-timeout` with `--ready notify`. Only then
//! is the old PROGRAM sent SIGTERM; it drains and exits, watched as
//! [`Retiring`] until it does, and the new one is supervised in its place.
//! A new PROGRAM that cannot be executed, exits, or is not ready in time is
//! killed with its group, and the old one serves on, untouched. Either
//! way the outcome goes back the way the runtime's `Upgrade` sends it
//! (`daemon_runtime::__private::send_upgrade_reply`: a datagram the
//! requester believes only from the supervisor's pid), so `--upgrade`
//! exits 0, or prints the new PROGRAM's error and exits with its code.
//!
//! Without sockets held, SIGUSR2 is PROGRAM's, passed on as before: there
//! is nothing a second PROGRAM could serve on while the first still runs.

use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::time::Instant;

use daemon_runtime::{Error, Step};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::{Supervisor, child, describe};
use crate::syslog::Relay;

/// A new PROGRAM started by an upgrade, not ready yet (`--ready notify`).
pub struct Candidate {
    pid: Pid,
    relays: Vec<Relay>,
    deadline: Instant,
}

/// An old PROGRAM, sent SIGTERM once its successor was ready: it drains
/// and exits; its output is still relayed until then.
pub struct Retiring {
    pid: Pid,
    relays: Vec<Relay>,
}

impl Supervisor {
    /// SIGUSR2 came. True when it asks for an upgrade (sockets held, and
    /// `--respawn`): the upgrade starts, or is refused; false when the
    /// signal is PROGRAM's, to be passed on.
    pub(super) fn upgrade_requested(&mut self, child: &mut Pid, relays: &mut Vec<Relay>) -> bool {
        if !self.sockets || !self.policy_restarts {
            return false;
        }
        if self.swap.is_some() {
            // The waiting requester's answer is that upgrade's outcome: a
            // second request (a plain `kill -USR2`) gets none.
            self.log(format_args!("upgrade: another upgrade is in progress; SIGUSR2 ignored"));
            return true;
        }
        if self.pending.is_some() {
            // The first PROGRAM has not sent READY=1: the start is not over.
            return self.refuse(Error::Sys { step: Step::Upgrade, errno: crate::errno(Errno::EAGAIN) });
        }
        let (pid, new_relays) = match self.spawn() {
            Ok(spawned) => spawned,
            Err(errno) => {
                let path =
                    std::path::PathBuf::from(std::ffi::OsStr::from_bytes(self.program.path().to_bytes()));
                return self.refuse(Error::Path { step: Step::Exec, path, errno: crate::errno(errno) });
            }
        };
        match &self.notify {
            // `--ready exec`: executed is ready.
            None => self.hand_over(child, relays, pid, new_relays),
            Some(_) => {
                let deadline = Instant::now() + self.timeout;
                self.swap = Some(Candidate { pid, relays: new_relays, deadline });
            }
        }
        true
    }

    /// The new PROGRAM's pid, while an upgrade waits for its `READY=1`.
    pub(super) fn candidate(&self) -> Option<Pid> {
        self.swap.as_ref().map(|candidate| candidate.pid)
    }

    /// When the waiting upgrade fails for lack of `READY=1`.
    pub(super) fn candidate_deadline(&self) -> Option<Instant> {
        self.swap.as_ref().map(|candidate| candidate.deadline)
    }

    /// The relays of the processes besides the current PROGRAM: the new
    /// one being waited for, the old ones draining.
    pub(super) fn other_relays(&self) -> impl Iterator<Item = &Relay> {
        let candidate = self.swap.iter().flat_map(|candidate| &candidate.relays);
        candidate.chain(self.retiring.iter().flat_map(|retiring| &retiring.relays))
    }

    /// Relays what the other processes wrote.
    pub(super) fn pump_others(&mut self) {
        let sink = self.logging.sink.as_ref();
        if let Some(candidate) = &mut self.swap {
            candidate.relays.iter_mut().for_each(|relay| relay.pump(sink, candidate.pid.as_raw()));
        }
        for retiring in &mut self.retiring {
            retiring.relays.iter_mut().for_each(|relay| relay.pump(sink, retiring.pid.as_raw()));
        }
    }

    /// After each wake-up: the waiting upgrade completes (`ready`: the new
    /// PROGRAM sent `READY=1`), fails (it ended, or its time is up), or
    /// goes on waiting; and the old PROGRAMs that ended are reaped.
    pub(super) fn upgrade_progress(&mut self, child: &mut Pid, relays: &mut Vec<Relay>, ready: bool) {
        self.reap_retired();
        let Some(candidate) = self.swap.take() else { return };
        if ready {
            return self.hand_over(child, relays, candidate.pid, candidate.relays);
        }
        if let Some(ended) = child::ended(candidate.pid) {
            let status = self.dispose(candidate, Some(ended));
            let status = Some(describe(status));
            self.refuse(Error::Died { status });
        } else if Instant::now() >= candidate.deadline {
            self.dispose(candidate, None);
            self.refuse(Error::NotReady { timeout: self.timeout, manual: false });
        } else {
            self.swap = Some(candidate);
        }
    }

    /// The supervisor is about to exit, or to restart PROGRAM (the old one
    /// ended first): a new PROGRAM still waited for is killed, and the
    /// requester told.
    pub(super) fn abandon_upgrade(&mut self) {
        if let Some(candidate) = self.swap.take() {
            self.dispose(candidate, None);
            self.refuse(Error::Died { status: Some("the running program ended during the upgrade".into()) });
        }
    }

    /// The supervisor is about to exit: waits until the old PROGRAMs, sent
    /// SIGTERM, have drained and exited (`--stop` escalating to SIGKILL on
    /// the supervisor ends them too: they die with it).
    pub(super) fn await_retiring(&mut self) {
        while !self.retiring.is_empty() {
            let mut fds = vec![PollFd::new(self.signals.fd(), PollFlags::POLLIN)];
            let pipes = self.retiring.iter().flat_map(|retiring| &retiring.relays);
            let pipes = pipes.filter_map(|relay| relay.pipe.as_ref());
            fds.extend(pipes.map(|pipe| PollFd::new(pipe.as_fd(), PollFlags::POLLIN)));
            let _ = poll(&mut fds, PollTimeout::NONE);
            drop(fds);
            let _ = self.signals.take();
            self.pump_others();
            self.reap_retired();
        }
    }

    /// The new PROGRAM `new` is ready: the old one is sent SIGTERM and left
    /// to drain, the new one supervised in its place, the requester told.
    fn hand_over(&mut self, child: &mut Pid, relays: &mut Vec<Relay>, new: Pid, new_relays: Vec<Relay>) {
        let old = std::mem::replace(child, new);
        // `old` is unreaped, so its pid cannot name anyone else.
        let _ = kill(old, Signal::SIGTERM);
        self.retiring.push(Retiring { pid: old, relays: std::mem::replace(relays, new_relays) });
        if let Some(file) = &mut self.child_pid_file {
            file.write(Some(new));
        }
        self.log(format_args!("upgraded: {} (pid {new}) serves; pid {old} drains", self.name()));
        daemon_runtime::__private::send_upgrade_reply(&Ok(new.as_raw().unsigned_abs()));
    }

    /// The upgrade failed or was refused: logged, and the requester told.
    /// True: the signal was the upgrade's.
    fn refuse(&self, error: Error) -> bool {
        self.log(format_args!("upgrade failed, the running {} serves on: {error}", self.name()));
        daemon_runtime::__private::send_upgrade_reply(&Err(error));
        true
    }

    /// Kills a failed new PROGRAM's group and reaps it: how it ended.
    /// `ended`: seen ended already, which off Linux (and under
    /// `daemon_portable`) reaped it and holds the only record of how.
    fn dispose(&self, mut candidate: Candidate, ended: Option<child::Ended>) -> WaitStatus {
        self.end_group(candidate.pid, ended, &mut candidate.relays)
    }

    /// Reaps the old PROGRAMs that have ended, and what is left of their
    /// groups.
    fn reap_retired(&mut self) {
        let mut index = 0;
        while index < self.retiring.len() {
            let Some(end) = child::ended(self.retiring[index].pid) else {
                index += 1;
                continue;
            };
            let mut retiring = self.retiring.remove(index);
            let status = self.end_group(retiring.pid, Some(end), &mut retiring.relays);
            self.log(format_args!("{} {}, replaced by an upgrade", self.name(), describe(status)));
        }
    }
}
