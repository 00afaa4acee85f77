//! `--respawn`: `daemon-run` stays, as a small supervisor in the daemon's
//! place, and restarts PROGRAM when it exits abnormally. With syslog output
//! and no `--respawn`, the same supervisor stays as a relay of PROGRAM's
//! output that never restarts it ([`Start::restart`]).
//!
//! The supervisor is the daemon: [`Daemon::start`](daemon_runtime::Daemon::start)
//! detaches it, locks the pid file (which names the supervisor, so
//! `--stop`, `--status` and `--signal` reach it) and drops privileges. It
//! then forks PROGRAM, writes its pid to `--child-pid-file` (kept with the
//! pid file's care: [`child_pid_file`]), forwards TERM,
//! INT, HUP, USR1 and USR2 to it (USR2 upgrades PROGRAM instead when the
//! supervisor holds sockets: [`swap`]), and waits. PROGRAM exiting 0, or after a
//! TERM or INT the supervisor forwarded, ends the supervisor; any other exit
//! restarts it after a delay that doubles with each quick failure, until
//! too many failures fall within the window. PROGRAM is killed by the
//! kernel when the supervisor dies ([`parent_death`]; not on macOS), and
//! what is left of its process group when it exits.
//!
//! With `--listen` (or sockets a service manager passed), the supervisor
//! holds the sockets for its whole life and each PROGRAM it starts inherits
//! them on the same descriptors, `LISTEN_PID` rewritten to that child's pid
//! in the child, before the `exec`: a connection that arrives while no
//! PROGRAM runs waits in the socket's backlog for the next one, as under
//! systemd.
//!
//! With `--ready notify`, the supervisor starts with the runtime's
//! `Ready::Manual`, gives PROGRAM the private `NOTIFY_SOCKET` of a
//! [`NotifyReceiver`](daemon_runtime::NotifyReceiver) (only datagrams from
//! PROGRAM's pid count), and calls `daemon_runtime::ready()` once the first
//! instance sent `READY=1`; with log files, PROGRAM's
//! output goes through pipes the supervisor copies to its own descriptors
//! 1 and 2, which it reopens on SIGHUP.
//!
//! What differs between systems lives in one module per concern, each with
//! its Linux fast path and the POSIX means macOS and FreeBSD take (also on
//! Linux built with `--cfg daemon_portable`, so that the tests run them):
//! [`signals`] (a `signalfd`, or `signal-hook`'s self-pipe), [`child`]
//! (PROGRAM's end seen unreaped, or reaped), [`parent_death`] and
//! [`readiness`] (`--ready notify`, Linux only).

mod child;
mod child_pid_file;
mod parent_death;
mod readiness;
mod signals;
mod swap;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use daemon_runtime::__private::{Environment, Program, reap};
use daemon_runtime::{Daemon, Error, Ready};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::WaitStatus;
use nix::unistd::{ForkResult, Pid};

use crate::syslog::{Destination, Relay, Sink};
pub use child_pid_file::ChildPidFile;
use daemon_runtime::NotifyReceiver;
use signals::{Blocked, Signals};

/// How long after the first instance's readiness deadline the supervisor
/// gives up on its own: time for the launcher to report the timeout.
const LAUNCHER_DECIDES: Duration = Duration::from_secs(1);

/// The signals the supervisor passes on to PROGRAM.
pub const FORWARDED: [Signal; 5] =
    [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGUSR1, Signal::SIGUSR2];

/// The supervisor's exit code when it gives up on a PROGRAM that keeps
/// failing (`EX_SOFTWARE`, as for a start that failed).
pub const GAVE_UP: i32 = daemon_runtime::sysexits::EX_SOFTWARE;

/// The supervisor's exit code when the first instance, with `--ready
/// notify`, exited or was late before `READY=1` (`EX_UNAVAILABLE`); the
/// launcher reports that the daemon died before it was ready.
pub const NOT_READY: i32 = daemon_runtime::sysexits::EX_UNAVAILABLE;

/// When to restart PROGRAM, and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The delay before the first restart; it doubles with each further
    /// failure of a run shorter than `window`, up to `window`.
    pub delay: Duration,
    /// How many restarts are allowed within `window`; one more failure, and
    /// the supervisor gives up.
    pub attempts: u32,
    /// A run at least this long resets the delay; failures older than this
    /// no longer count against `attempts`.
    pub window: Duration,
}

impl Policy {
    /// The delay before the next restart after `failures` (their times,
    /// oldest first, the latest just now) and a run that lasted `ran`;
    /// `None` to give up.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let policy = daemon_run::Policy { delay: Duration::from_secs(1), attempts: 3, window: Duration::from_secs(60) };
    /// let now = Instant::now();
    /// assert_eq!(policy.next_delay(&[now], 1, Duration::ZERO), Some(Duration::from_secs(1)));
    /// assert_eq!(policy.next_delay(&[now; 3], 3, Duration::ZERO), Some(Duration::from_secs(4)));
    /// assert_eq!(policy.next_delay(&[now; 4], 4, Duration::ZERO), None);
    /// ```
    pub fn next_delay(&self, failures: &[Instant], consecutive: u32, ran: Duration) -> Option<Duration> {
        let now = *failures.last()?;
        let recent = failures.iter().filter(|&&at| now.duration_since(at) < self.window).count();
        if recent > self.attempts as usize {
            return None;
        }
        if ran >= self.window {
            return Some(self.delay);
        }
        let factor = 1u32.checked_shl(consecutive.saturating_sub(1)).unwrap_or(u32::MAX);
        Some(self.delay.saturating_mul(factor).min(self.window))
    }
}

/// Which of PROGRAM's streams the supervisor relays, and where: to the
/// system log (`--stdout syslog:…`), or to a log file (`--stdout FILE`) the
/// supervisor holds as its own descriptor, so that it can reopen it on
/// SIGHUP (`daemon_runtime::reopen_logs`) without PROGRAM's help.
#[derive(Debug, Default)]
pub struct Logging {
    /// The connected log socket, when a stream goes to syslog.
    pub sink: Option<Sink>,
    /// Standard output's destination, when it is relayed.
    pub stdout: Option<Destination>,
    /// Standard error's, likewise; the supervisor's own messages follow it.
    pub stderr: Option<Destination>,
}

/// How the supervisor starts: the policy, and whether the launcher waits
/// for the first instance's `READY=1` (`--ready notify`) or its `exec`.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    /// When to restart, when to give up.
    pub policy: Policy,
    /// `--ready notify`: wait for `READY=1`, at most `timeout`.
    pub notify: bool,
    /// `--ready-timeout`.
    pub timeout: Duration,
    /// `--respawn`; without it (syslog output alone) the supervisor is a
    /// relay: PROGRAM's end, however it ends, is the supervisor's, which
    /// exits with PROGRAM's status (128 + the signal's number when killed).
    pub restart: bool,
    /// The supervisor holds sockets (`--listen`, or a service manager's):
    /// with `restart`, SIGUSR2 upgrades PROGRAM on them ([`swap`]).
    pub sockets: bool,
}

/// Starts the supervisor (the launcher returns once it runs) and supervises
/// PROGRAM at `program`. `child_pid_file` is `--child-pid-file`, taken as
/// `--pid-file` (`pid_file`) is, inside `chroot` when given. Returns only in
/// the launcher, on failure.
pub fn supervise(
    daemon: Daemon,
    program: &Path,
    args: &[OsString],
    pid_file: Option<&Path>,
    child_pid_file: Option<(&Path, Option<&Path>)>,
    start: Start,
    logging: Logging,
) -> Error {
    if let Err(error) = readiness::check(start.notify) {
        return error;
    }
    let program = match Program::new(program, args) {
        Ok(program) => program,
        Err(error) => return error,
    };
    let mut child_pid_file =
        match child_pid_file.map(|(path, chroot)| ChildPidFile::find(path, chroot)).transpose() {
            Ok(file) => file,
            Err(error) => return error,
        };
    let keep = child_pid_file
        .as_ref()
        .map(ChildPidFile::raw_fd)
        .into_iter()
        .chain(logging.sink.as_ref().map(Sink::raw_fd));
    let ready = if start.notify { Ready::Manual } else { Ready::Auto };
    // The child pid file is claimed once the pid file's lock is held, still
    // as the starting user: a start refused as already running touches none.
    let claim = || child_pid_file.as_mut().map_or(Ok(()), ChildPidFile::claim);
    let running = match daemon.keep_fds(keep).ready(ready).start_with(claim) {
        Ok((running, ())) => running,
        Err(error) => {
            let refused = matches!(error, Error::AlreadyRunning { .. });
            if let Some(file) = child_pid_file.as_ref().filter(|_| !refused) {
                let _ = file.remove_unheld(pid_file);
            }
            return error;
        }
    };
    if let Some(file) = &mut child_pid_file {
        file.settle();
    }
    let code = Supervisor::new(program, child_pid_file, start, logging)
        .map_or(daemon_runtime::sysexits::EX_OSERR, |supervisor| supervisor.run());
    drop(running); // removes the pid file, when the user may
    std::process::exit(code)
}

struct Supervisor {
    program: Program,
    child_pid_file: Option<ChildPidFile>,
    policy: Policy,
    /// `--respawn`: false for a relay, which never restarts.
    policy_restarts: bool,
    logging: Logging,
    signals: Signals,
    me: Pid,
    /// With `--ready notify`: PROGRAM's `NOTIFY_SOCKET`, read for the
    /// supervisor's life (later instances' messages are drained).
    notify: Option<NotifyReceiver>,
    /// Until the first instance sent `READY=1`: the deadline.
    pending: Option<Instant>,
    /// `Start::sockets`: SIGUSR2 upgrades PROGRAM.
    sockets: bool,
    /// `--ready-timeout`, for an upgrade's new PROGRAM too.
    timeout: Duration,
    /// The upgrade waiting for its new PROGRAM's `READY=1`.
    swap: Option<swap::Candidate>,
    /// Old PROGRAMs draining after an upgrade.
    retiring: Vec<swap::Retiring>,
}

impl Supervisor {
    fn new(
        program: Program,
        child_pid_file: Option<ChildPidFile>,
        start: Start,
        logging: Logging,
    ) -> Result<Supervisor, Errno> {
        let mut program = program;
        let errno = |error: std::io::Error| Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO));
        let notify = start.notify.then(NotifyReceiver::bind).transpose().map_err(errno)?;
        if let Some(receiver) = &notify {
            // Built now: the forked child must not allocate.
            program.set_environment(Environment::setting("NOTIFY_SOCKET", receiver.address()).envp());
        }
        // The launcher's clock decides (it kills this process group when the
        // time is up): it may start after ours, since the child runs first
        // after a fork. Ours is only the backstop of a launcher that is gone.
        let pending = start.notify.then(|| Instant::now() + start.timeout + LAUNCHER_DECIDES);
        let signals = Signals::new()?;
        let me = nix::unistd::getpid();
        Ok(Supervisor {
            program,
            child_pid_file,
            policy: start.policy,
            policy_restarts: start.restart,
            logging,
            signals,
            me,
            notify,
            pending,
            sockets: start.sockets,
            timeout: start.timeout,
            swap: None,
            retiring: Vec::new(),
        })
    }

    /// The supervision loop; returns the supervisor's exit code.
    fn run(mut self) -> i32 {
        let mut failures: Vec<Instant> = Vec::new();
        let mut consecutive = 0;
        loop {
            let started = Instant::now();
            let (mut child, mut relays) = match self.spawn() {
                Ok(spawned) => spawned,
                Err(errno) => {
                    self.log(format_args!("cannot start {}: {}", self.name(), errno.desc()));
                    return daemon_runtime::sysexits::EX_OSERR;
                }
            };
            if let Some(file) = &mut self.child_pid_file {
                file.write(Some(child));
            }
            let Some((status, stopping)) = self.wait(&mut child, &mut relays) else {
                return NOT_READY;
            };
            if let Some(file) = &mut self.child_pid_file {
                file.write(None);
            }
            let ran = started.elapsed();
            match status {
                WaitStatus::Exited(_, 0) => return 0,
                _ if stopping => return 0,
                _ if !self.policy_restarts => {
                    self.log(format_args!("{} {}", self.name(), describe(status)));
                    return exit_code(status);
                }
                _ => {}
            }
            let now = Instant::now();
            failures.retain(|&at| now.duration_since(at) < self.policy.window);
            failures.push(now);
            consecutive = if ran >= self.policy.window { 1 } else { consecutive + 1 };
            let Some(delay) = self.policy.next_delay(&failures, consecutive, ran) else {
                self.log(format_args!(
                    "{} {}; {} failures within {:?}, giving up",
                    self.name(),
                    describe(status),
                    failures.len(),
                    self.policy.window
                ));
                return GAVE_UP;
            };
            self.log(format_args!("{} {}; restarting in {delay:?}", self.name(), describe(status)));
            if self.pause(delay) {
                return 0;
            }
        }
    }

    fn name(&self) -> String {
        self.program.path().to_string_lossy().into_owned()
    }

    /// One line on the supervisor's standard error (`--stderr`), or to the
    /// log with `--stderr syslog:…`.
    fn log(&self, message: std::fmt::Arguments<'_>) {
        match &self.logging {
            Logging { sink: Some(sink), stderr: Some(Destination::Syslog(priority)), .. } => {
                sink.send(*priority, self.me.as_raw(), format!("daemon-run: {message}").as_bytes());
            }
            _ => {
                let _ = writeln!(std::io::stderr(), "daemon-run: {message}");
            }
        }
    }

    /// Forks and executes PROGRAM; returns once the `exec` has happened,
    /// with the relays of its output to the log.
    fn spawn(&self) -> Result<(Pid, Vec<Relay>), Errno> {
        let mut relays = Vec::new();
        // The write ends the child puts on 1 and 2 (-1: left as it is).
        let mut ends: [Option<OwnedFd>; 2] = [None, None];
        for (end, to) in ends.iter_mut().zip([self.logging.stdout, self.logging.stderr]) {
            if let Some(to) = to {
                let (relay, write) = Relay::new(to)?;
                relays.push(relay);
                *end = Some(write);
            }
        }
        let targets = ends.each_ref().map(|end| end.as_ref().map_or(-1, AsRawFd::as_raw_fd));
        // The child's errno if its exec fails; end of file once it worked.
        // A socket pair, because std makes it close-on-exec everywhere
        // (macOS has no `pipe2`).
        let io_errno = |e: std::io::Error| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
        let (mut from_child, to_parent) = UnixStream::pair().map_err(io_errno)?;
        let blocked = Blocked::new()?;
        // SAFETY: the supervisor is single-threaded (the runtime checked it
        // before detaching and nothing started a thread since); the child
        // makes only async-signal-safe calls on memory prepared before.
        match unsafe { nix::unistd::fork() }? {
            ForkResult::Child => {
                drop(from_child);
                // SAFETY: see `exec_child`; the watched signals are blocked.
                unsafe { exec_child(&self.program, self.me, targets, &to_parent) }
            }
            ForkResult::Parent { child } => {
                drop(blocked);
                drop(to_parent);
                drop(ends);
                let mut errno = [0u8; 4];
                let read = loop {
                    match from_child.read(&mut errno) {
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        other => break other,
                    }
                };
                match read {
                    Ok(4) => {
                        reap(child);
                        Err(Errno::from_raw(i32::from_ne_bytes(errno)))
                    }
                    _ => Ok((child, relays)),
                }
            }
        }
    }

    /// Waits for `child` to exit, forwarding signals; returns how it ended
    /// and whether a TERM or INT asked the supervisor to stop. `None`: the
    /// first instance, with `--ready notify`, exited or was late before
    /// `READY=1` (its group is killed, the start fails). An upgrade
    /// ([`swap`]) replaces `child` and `relays` with the new PROGRAM's.
    fn wait(&mut self, child: &mut Pid, relays: &mut Vec<Relay>) -> Option<(WaitStatus, bool)> {
        let mut stopping = false;
        loop {
            let mut fds = vec![PollFd::new(self.signals.fd(), PollFlags::POLLIN)];
            let pipes = relays.iter().chain(self.other_relays()).filter_map(|relay| relay.pipe.as_ref());
            fds.extend(pipes.map(|pipe| PollFd::new(pipe.as_fd(), PollFlags::POLLIN)));
            let mut timeout = PollTimeout::NONE;
            if let Some(receiver) = &self.notify {
                fds.push(PollFd::new(receiver.as_fd(), PollFlags::POLLIN));
            }
            if let Some(deadline) = self.pending.or(self.candidate_deadline()) {
                let left = deadline.saturating_duration_since(Instant::now());
                timeout = PollTimeout::try_from(left.as_millis().max(1)).unwrap_or(PollTimeout::MAX);
            }
            let _ = poll(&mut fds, timeout);
            drop(fds);
            self.pump(relays, *child);
            self.pump_others();
            // During an upgrade, only the new PROGRAM's READY=1 counts.
            let candidate = self.candidate();
            let watched = candidate.unwrap_or(*child);
            let ready =
                self.notify.as_ref().is_some_and(|receiver| receiver.ready_from(watched.as_raw() as u32));
            if let Some(deadline) = self.pending {
                if ready {
                    // The launcher exits 0; stdout and stderr go to the log
                    // files (or /dev/null) from now on.
                    self.pending = None;
                    daemon_runtime::ready();
                } else if Instant::now() >= deadline {
                    // The launcher is gone (it would have killed us by now).
                    let _ = killpg(*child, Signal::SIGKILL);
                    reap(*child);
                    return None;
                }
            }
            for signal in self.signals.take() {
                if signal == Signal::SIGCHLD {
                    continue;
                }
                if signal == Signal::SIGUSR2 && self.upgrade_requested(child, relays) {
                    continue;
                }
                if signal == Signal::SIGHUP {
                    self.reopen_logs(relays, *child);
                }
                stopping |= matches!(signal, Signal::SIGTERM | Signal::SIGINT);
                // `child` is unreaped, so its pid cannot name anyone else.
                let _ = kill(*child, signal);
            }
            self.upgrade_progress(child, relays, candidate.is_some() && ready);
            // What is left of the group is PROGRAM's: see `child` for why.
            let Some(ended) = child::ended(*child) else { continue };
            let status = self.end_group(*child, Some(ended), relays);
            if self.pending.is_some() {
                return None;
            }
            self.abandon_upgrade();
            if stopping || !self.policy_restarts || matches!(status, WaitStatus::Exited(_, 0)) {
                self.await_retiring();
            }
            return Some((status, stopping));
        }
    }

    /// SIGHUP with `--stdout FILE`/`--stderr FILE`: what PROGRAM wrote so
    /// far goes to the old file, then the paths are opened again (after
    /// logrotate renamed them), before the HUP is passed on. Not before the
    /// first `READY=1`: until then, 1 and 2 are still the launcher's.
    fn reopen_logs(&self, relays: &mut [Relay], child: Pid) {
        let to_file = |to: Option<Destination>| matches!(to, Some(Destination::Descriptor(_)));
        if self.pending.is_some() || !(to_file(self.logging.stdout) || to_file(self.logging.stderr)) {
            return;
        }
        self.pump(relays, child);
        if let Err(error) = daemon_runtime::reopen_logs() {
            self.log(format_args!("cannot reopen the log files: {error}"));
        }
    }

    /// Relays what PROGRAM's pipes hold to the log.
    /// Ends what is left of the group of PROGRAM `pid` (ended: `ended`,
    /// seen by [`child::ended`]; or `None`, still running): SIGKILL to the
    /// group, what it wrote relayed, PROGRAM reaped, and the group waited
    /// for until it is gone. How PROGRAM ended. The same for the PROGRAM
    /// supervised, an upgrade's failed new one and a drained old one.
    fn end_group(&self, pid: Pid, ended: Option<child::Ended>, relays: &mut [Relay]) -> WaitStatus {
        let _ = killpg(pid, Signal::SIGKILL);
        relays.iter_mut().for_each(|relay| relay.finish(self.logging.sink.as_ref(), pid.as_raw()));
        let status = ended.unwrap_or_else(|| child::Ended::unknown(pid)).reap();
        child::await_group_gone(pid);
        status
    }

    fn pump(&self, relays: &mut [Relay], child: Pid) {
        relays.iter_mut().for_each(|relay| relay.pump(self.logging.sink.as_ref(), child.as_raw()));
    }

    /// Sleeps `delay`; true when a TERM or INT came meanwhile (stop).
    fn pause(&mut self, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let millis = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.signals.fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(millis));
            if self.signals.take().iter().any(|signal| matches!(signal, Signal::SIGTERM | Signal::SIGINT)) {
                return true;
            }
        }
    }
}

/// In the forked child: PROGRAM's own process group, death with the
/// supervisor, default dispositions (SIGPIPE's too) and an empty mask,
/// then the exec. On
/// failure, the errno goes to the supervisor through `report`.
///
/// # Safety
///
/// Called in the child of a fork of a single-threaded process, with the
/// watched signals blocked ([`Blocked`]): only async-signal-safe calls, on
/// memory prepared before the fork.
unsafe fn exec_child(program: &Program, supervisor: Pid, stdio: [RawFd; 2], report: &UnixStream) -> ! {
    let leave = |code: i32| -> ! {
        // SAFETY: `_exit` ends the process without running any user-space code.
        unsafe { libc::_exit(code) }
    };
    parent_death::request(Signal::SIGKILL);
    // The supervisor may have died before the line above took effect.
    if nix::unistd::getppid() != supervisor {
        leave(1);
    }
    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    // The log pipes' write ends on 1 and 2 (`dup2` clears close-on-exec).
    for (fd, target) in stdio.into_iter().zip([1, 2]) {
        // SAFETY: `fd` is a pipe end this child inherited and `target` a
        // standard stream; dup2 replaces the latter and touches no memory.
        if fd >= 0 && unsafe { libc::dup2(fd, target) } < 0 {
            leave(127);
        }
    }
    // No handler of the supervisor's may run from here to the exec: the
    // runtime's removes its pid file, signal-hook's writes to its self-pipe.
    signals::default_dispositions();
    // The sockets the supervisor holds (`--listen`, or a service manager's)
    // are this child's now: `LISTEN_PID` names it, as systemd names each
    // new process of a service. Digits written in place: no allocation.
    daemon_runtime::__private::rewrite_listen_pid();
    // The runtime's exec, which allocates nothing and puts SIGPIPE back to
    // its default action; it returns only on failure.
    let errno = (program.exec() as i32).to_ne_bytes();
    let _ = nix::unistd::write(report, &errno);
    leave(127)
}

/// A relay's exit code for PROGRAM's end, as a shell reports it.
fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, signal, _) => 128 + signal as i32,
        _ => daemon_runtime::sysexits::EX_SOFTWARE,
    }
}

/// `(pid N) exited with status 3`: the runtime's words, with the pid.
fn describe(status: WaitStatus) -> String {
    match (status.pid(), daemon_runtime::__private::describe(status)) {
        (Some(pid), Some(ended)) => format!("(pid {pid}) {ended}"),
        _ => format!("ended: {status:?}"),
    }
}
