//! One launch, timed: from just before `spawn` until (1) the pid file holds
//! the pid of a live, detached daemon and (2) the launching process exits.
//!
//! Method: the driver watches the pid file's directory with inotify (create,
//! modify, close-after-write, moved-to) and the launcher through a pidfd, and
//! blocks in one `poll(2)` on both; each wake-up is stamped with the
//! monotonic clock. No busy loop, so the driver does not compete with the
//! contender for the CPU; the resolution is the wake-up latency of `poll`
//! (microseconds) on a clock of [`clock_resolution`].

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use inotify::{Inotify, WatchMask};
use nix::poll::{PollFd, PollFlags, poll};
use nix::sys::wait::WaitStatus;

use crate::contenders::Contender;
use crate::launch::{Launcher, Mode};
use crate::procfs;
use crate::reaper::Reaper;

/// How long a launch may take before it counts as failed.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// What one launch showed.
#[derive(Debug)]
pub struct Sample {
    /// Spawn until the pid file named the live daemon.
    pub ready: Option<Duration>,
    /// Spawn until the launcher exited.
    pub launcher_exit: Option<Duration>,
    pub launcher_status: Option<WaitStatus>,
    /// The daemon, still running, when `ready` is set.
    pub daemon: Option<i32>,
    pub pid_file: PathBuf,
}

/// Launches contenders and times them.
pub struct Probe {
    inotify: Inotify,
    dir: PathBuf,
    launches: u64,
    driver_session: i32,
}

impl Probe {
    /// Watches `dir`, where the pid files are written (a fresh name each launch).
    pub fn new(dir: &Path) -> io::Result<Probe> {
        let inotify = Inotify::init()?;
        inotify
            .watches()
            .add(dir, WatchMask::CREATE | WatchMask::MODIFY | WatchMask::CLOSE_WRITE | WatchMask::MOVED_TO)?;
        Ok(Probe {
            inotify,
            dir: dir.to_owned(),
            launches: 0,
            driver_session: nix::unistd::getsid(None)?.as_raw(),
        })
    }

    /// Launches `contender` and waits for readiness and for the launcher's
    /// exit (or a failed launcher, or [`DEADLINE`], or `patience` after the
    /// launcher exited without the daemon being ready). The daemon is left
    /// running for the caller to inspect; end it with [`Probe::finish`].
    #[allow(clippy::too_many_arguments)]
    pub fn launch(
        &mut self,
        launcher: &Launcher,
        reaper: &mut Reaper,
        contender: &Contender,
        mode: Mode,
        bad_chdir: bool,
        terminal: Option<&OwnedFd>,
        patience: Duration,
    ) -> io::Result<Sample> {
        let (name, pid_file) = self.next_pid_file();
        let mut env: Vec<(&str, OsString)> = vec![("BENCH_PID_FILE", pid_file.clone().into())];
        let argv = if bad_chdir {
            env.push(("BENCH_CHDIR", "/nonexistent/daemon-bench".into()));
            &contender.bad_chdir_argv
        } else {
            &contender.argv
        };
        let mut buffer = [0u8; 4096];
        let (start, pid, pidfd) = self.spawn_timed(launcher, argv, &env, mode, terminal, &mut buffer)?;
        let mut sample =
            Sample { ready: None, launcher_exit: None, launcher_status: None, daemon: None, pid_file };
        let mut deadline = start + DEADLINE;
        loop {
            let launcher_failed = matches!(
                sample.launcher_status,
                Some(status) if status != WaitStatus::Exited(status.pid().unwrap(), 0)
            );
            if sample.ready.is_some() && sample.launcher_exit.is_some() || launcher_failed {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let mut fds = vec![PollFd::new(self.inotify.as_fd(), PollFlags::POLLIN)];
            if sample.launcher_exit.is_none() {
                fds.push(PollFd::new(pidfd.as_fd(), PollFlags::POLLIN));
            }
            let timeout = u16::try_from((deadline - now).as_millis().min(60_000)).unwrap_or(u16::MAX);
            match poll(&mut fds, timeout) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(error) => return Err(error.into()),
            }
            let stamp = start.elapsed();
            let events_ready = fds[0].any().unwrap_or(false);
            let exited = fds.get(1).is_some_and(|fd| fd.any().unwrap_or(false));
            drop(fds);
            if exited {
                sample.launcher_exit = Some(stamp);
                sample.launcher_status = reaper.wait(pid);
                deadline = deadline.min(Instant::now() + patience);
            }
            if events_ready
                && sample.ready.is_none()
                && self.touched(&mut buffer, &name)?
                && let Some(daemon) = self.live_daemon(&sample.pid_file, pid)
            {
                sample.ready = Some(stamp);
                sample.daemon = Some(daemon);
            }
        }
        if sample.launcher_exit.is_none() {
            // Past the deadline: the launcher is stuck; end it.
            reaper.kill_and_reap(pid);
        }
        Ok(sample)
    }

    /// Launches `contender` (base mode) and waits for the launcher's exit
    /// alone, on its pidfd: no inotify wake-up of this driver competes with
    /// the launcher's for the two CPUs while it waits for its daemon (the
    /// watched launches of figure 2 are bimodal for every waiting launcher,
    /// the waiting floor's too). The daemon is looked up from the pid file
    /// afterwards, so `ready` stays `None`.
    pub fn launch_unwatched(
        &mut self,
        launcher: &Launcher,
        reaper: &mut Reaper,
        contender: &Contender,
    ) -> io::Result<Sample> {
        let (_, pid_file) = self.next_pid_file();
        let env: Vec<(&str, OsString)> = vec![("BENCH_PID_FILE", pid_file.clone().into())];
        let mut buffer = [0u8; 4096];
        let (start, pid, pidfd) =
            self.spawn_timed(launcher, &contender.argv, &env, Mode::Base, None, &mut buffer)?;
        let mut sample =
            Sample { ready: None, launcher_exit: None, launcher_status: None, daemon: None, pid_file };
        let timeout = u16::try_from(DEADLINE.as_millis().min(60_000)).unwrap_or(u16::MAX);
        loop {
            let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(error) => return Err(error.into()),
                Ok(0) => break,
                Ok(_) => {
                    sample.launcher_exit = Some(start.elapsed());
                    break;
                }
            }
        }
        if sample.launcher_exit.is_none() {
            reaper.kill_and_reap(pid);
            return Ok(sample);
        }
        sample.launcher_status = reaper.wait(pid);
        // A launcher that does not wait for its daemon may exit first.
        let deadline = Instant::now() + DEADLINE;
        while sample.daemon.is_none() && Instant::now() < deadline {
            sample.daemon = self.live_daemon(&sample.pid_file, pid);
            if sample.daemon.is_none() {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        Ok(sample)
    }

    /// Kills and reaps the daemon of `sample` (and, after a failed launch,
    /// whatever it left), reaps the intermediates, removes the pid file.
    pub fn finish(&mut self, reaper: &mut Reaper, sample: &Sample) {
        match sample.daemon {
            Some(daemon) => reaper.kill_and_reap(daemon),
            None => reaper.sweep(),
        }
        reaper.collect();
        let _ = fs::remove_file(&sample.pid_file);
        // A killed daemon of this crate leaves its lock file (`PATH.lock`)
        // too: removed, or the directory fills with them and every later
        // file creation in it, any contender's, costs more.
        let mut lock = sample.pid_file.clone().into_os_string();
        lock.push(".lock");
        let _ = fs::remove_file(lock);
    }

    /// Whether any pending event names `name`; consumes them all.
    fn touched(&mut self, buffer: &mut [u8], name: &str) -> io::Result<bool> {
        let mut hit = false;
        loop {
            match self.inotify.read_events(buffer) {
                Ok(events) => {
                    let mut any = false;
                    for event in events {
                        any = true;
                        hit |= event.name.is_some_and(|n| n == name);
                    }
                    if !any {
                        return Ok(hit);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(hit),
                Err(error) => return Err(error),
            }
        }
    }

    /// A pid file name no earlier launch used, and its path.
    fn next_pid_file(&mut self) -> (String, PathBuf) {
        self.launches += 1;
        let name = format!("launch-{}.pid", self.launches);
        let path = self.dir.join(&name);
        (name, path)
    }

    /// The start of every timed launch: earlier events drained, the clock
    /// started, the launcher spawned, its pidfd opened.
    fn spawn_timed(
        &mut self,
        launcher: &Launcher,
        argv: &[OsString],
        env: &[(&str, OsString)],
        mode: Mode,
        terminal: Option<&OwnedFd>,
        buffer: &mut [u8],
    ) -> io::Result<(Instant, i32, OwnedFd)> {
        self.drain(buffer)?;
        let start = Instant::now();
        let pid = launcher.spawn(argv, env, mode, terminal)?;
        Ok((start, pid, pidfd_open(pid)?))
    }

    fn drain(&mut self, buffer: &mut [u8]) -> io::Result<()> {
        self.touched(buffer, "").map(drop)
    }

    /// The pid in `pid_file` if it names a live process, not the launcher,
    /// in a session other than the driver's and the launcher's: a detached
    /// daemon (so a half-written number cannot pass for it).
    fn live_daemon(&self, pid_file: &Path, launcher: i32) -> Option<i32> {
        let text = fs::read_to_string(pid_file).ok()?;
        let pid: i32 = text.trim().parse().ok()?;
        if pid <= 0 || pid == launcher {
            return None;
        }
        let stat = procfs::stat(pid).ok()?;
        let detached = stat.session != self.driver_session && stat.session != launcher;
        (stat.state != 'Z' && detached).then_some(pid)
    }
}

/// A pidfd for `pid`: readable once the process has exited.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor; we own it
    // (pidfds are always close-on-exec).
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The resolution of the monotonic clock `Instant` reads.
pub fn clock_resolution() -> Duration {
    nix::time::clock_getres(nix::time::ClockId::CLOCK_MONOTONIC).map(Duration::from).unwrap_or_default()
}
