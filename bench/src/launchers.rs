//! Figure 7: `daemon-run` against the service launchers of shell scripts,
//! `start-stop-daemon --start --background` (dpkg) and libslack `daemon`,
//! each starting and stopping `/bin/sleep`. Start latency: spawn of the start
//! command until it returns. Stop latency: spawn of the stop command until
//! it has returned *and* every process it was to end is gone (seen on a
//! pidfd each, the driver reaping its own children at once, so a zombie
//! never passes for a live process). `daemon-run --stop` and
//! `start-stop-daemon --stop --retry TERM/5` return only then; libslack's
//! `daemon --stop` returns at once, so its figure includes the wait.
//! A peer that is not installed is skipped by name.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, poll};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

use crate::measure::pidfd_open;
use crate::procfs;
use crate::reaper::Reaper;

/// The program each launcher starts.
const PROGRAM: [&str; 2] = ["/bin/sleep", "1000"];

/// How one launcher is driven.
#[derive(Debug, Clone)]
enum Kind {
    DaemonRun(PathBuf),
    StartStopDaemon(PathBuf),
    Libslack(PathBuf),
}

/// One launcher, as the table names it.
#[derive(Debug, Clone)]
pub struct Tool {
    pub name: &'static str,
    kind: Kind,
}

/// Both latencies of one tool, per round.
#[derive(Debug, Default)]
pub struct Latencies {
    pub start: Vec<Duration>,
    pub stop: Vec<Duration>,
    pub failures: usize,
}

/// `daemon-run` (built by the caller), then each peer found on `PATH`; a
/// missing one is named on stdout as skipped.
pub fn tools(daemon_run: &Path) -> Vec<Tool> {
    let mut list = vec![Tool { name: "daemon-run", kind: Kind::DaemonRun(daemon_run.to_owned()) }];
    match find("start-stop-daemon") {
        Some(path) => {
            list.push(Tool { name: "start-stop-daemon --background", kind: Kind::StartStopDaemon(path) })
        }
        None => println!("SKIPPED start-stop-daemon: not installed (apt-get install dpkg)"),
    }
    match find("daemon") {
        Some(path) => list.push(Tool { name: "libslack daemon 0.8", kind: Kind::Libslack(path) }),
        None => println!("SKIPPED libslack daemon: not installed (apt-get install daemon)"),
    }
    list
}

fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin".into(), "/sbin".into()]);
    dirs.map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

impl Tool {
    /// The start command for instance `name`, its pid files under `dir`.
    fn start(&self, dir: &Path, name: &str) -> Command {
        let pid_file = dir.join(format!("{name}.pid"));
        let mut command;
        match &self.kind {
            Kind::DaemonRun(bin) => {
                command = Command::new(bin);
                command.arg("--pid-file").arg(&pid_file).arg("--");
            }
            Kind::StartStopDaemon(bin) => {
                command = Command::new(bin);
                command.args(["--start", "--background", "--make-pidfile", "--pidfile"]).arg(&pid_file);
                command.args(["--exec", PROGRAM[0], "--"]);
                command.args(&PROGRAM[1..]);
                return command;
            }
            Kind::Libslack(bin) => {
                command = Command::new(bin);
                command.args(["--name", name, "--pidfiles"]).arg(dir).arg("--");
            }
        }
        command.args(PROGRAM);
        command
    }

    /// The stop command for instance `name`.
    fn stop(&self, dir: &Path, name: &str) -> Command {
        let pid_file = dir.join(format!("{name}.pid"));
        let mut command;
        match &self.kind {
            Kind::DaemonRun(bin) => {
                command = Command::new(bin);
                command.arg("--pid-file").arg(&pid_file).arg("--stop");
            }
            Kind::StartStopDaemon(bin) => {
                command = Command::new(bin);
                command.args(["--stop", "--retry", "TERM/5", "--remove-pidfile", "--pidfile"]).arg(&pid_file);
            }
            Kind::Libslack(bin) => {
                command = Command::new(bin);
                command.args(["--name", name, "--pidfiles"]).arg(dir).arg("--stop");
            }
        }
        command
    }

    /// The files naming the processes a stop must end.
    fn pid_files(&self, dir: &Path, name: &str) -> Vec<PathBuf> {
        let mut files = vec![dir.join(format!("{name}.pid"))];
        if let Kind::Libslack(_) = self.kind {
            files.push(dir.join(format!("{name}.clientpid")));
        }
        files
    }
}

/// Runs `rounds` rounds (the starting tool rotates); prints progress.
pub fn run(tools: &[Tool], rounds: usize, dir: &Path, reaper: &mut Reaper) -> io::Result<Vec<Latencies>> {
    let mut measured: Vec<Latencies> = tools.iter().map(|_| Latencies::default()).collect();
    let mut launch = 0u64;
    // One unrecorded start and stop of each first (page cache, loader).
    for round in 0..=rounds {
        for k in 0..tools.len() {
            let index = (k + round) % tools.len();
            launch += 1;
            let name = format!("launcher-{launch}");
            let result = once(&tools[index], dir, &name, reaper);
            reaper.sweep();
            if round == 0 {
                continue;
            }
            match result {
                Ok((start, stop)) => {
                    measured[index].start.push(start);
                    measured[index].stop.push(stop);
                }
                Err(why) => {
                    eprintln!("\nwarning: {} ({name}): {why}", tools[index].name);
                    measured[index].failures += 1;
                }
            }
        }
        if round % 10 == 0 || round == rounds {
            eprint!("\r  round {round}/{rounds}");
        }
    }
    eprintln!();
    Ok(measured)
}

/// One start, then one stop, of `tool`: both latencies, or why not (the
/// start failed, no process came up, or the stop left one).
fn once(tool: &Tool, dir: &Path, name: &str, reaper: &mut Reaper) -> Result<(Duration, Duration), String> {
    let began = Instant::now();
    let started = tool.start(dir, name).status().map_err(|e| format!("start: {e}"))?;
    let start = began.elapsed();
    reaper.collect();
    if !started.success() {
        return Err(format!("start: {started}"));
    }
    let pids =
        wait_for_pids(&tool.pid_files(dir, name)).ok_or("the pid files named no live process in 5 s")?;
    let watched: Vec<(i32, OwnedFd)> = pids
        .iter()
        .map(|&pid| pidfd_open(pid).map(|fd| (pid, fd)))
        .collect::<io::Result<_>>()
        .map_err(|e| format!("pidfd_open: {e}"))?;

    let began = Instant::now();
    let child = tool.stop(dir, name).spawn().map_err(|e| format!("stop: {e}"))?;
    let command = pidfd_open(child.id() as i32).map_err(|e| format!("pidfd_open: {e}"))?;
    let (mut returned, mut gone) = (None, vec![None; watched.len()]);
    let deadline = began + Duration::from_secs(15);
    while returned.is_none() || gone.iter().any(Option::is_none) {
        if Instant::now() > deadline {
            return Err("not stopped in 15 s".into());
        }
        let mut fds = vec![PollFd::new(command.as_fd(), PollFlags::POLLIN)];
        fds.extend(watched.iter().map(|(_, fd)| PollFd::new(fd.as_fd(), PollFlags::POLLIN)));
        let _ = poll(&mut fds, 1000u16);
        let stamp = began.elapsed();
        let readable: Vec<bool> = fds.iter().map(|fd| fd.any().unwrap_or(false)).collect();
        drop(fds);
        if readable[0] && returned.is_none() {
            returned = Some(stamp);
            let _ = waitpid(Pid::from_raw(child.id() as i32), None);
        }
        for ((index, (pid, _)), seen) in watched.iter().enumerate().zip(&readable[1..]) {
            if *seen && gone[index].is_none() {
                gone[index] = Some(stamp);
                // Ours when its parent left (the driver is a subreaper):
                // reaped now, so the stop command sees it gone.
                let _ = waitpid(Pid::from_raw(*pid), Some(WaitPidFlag::WNOHANG));
            }
        }
    }
    let stop = gone.into_iter().flatten().chain(returned).max().unwrap_or_default();
    Ok((start, stop))
}

/// Waits (untimed, up to 5 s) until every file names a live process.
fn wait_for_pids(files: &[PathBuf]) -> Option<Vec<i32>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pids: Vec<Option<i32>> = files.iter().map(|file| live_pid(file)).collect();
        if pids.iter().all(Option::is_some) {
            return Some(pids.into_iter().flatten().collect());
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn live_pid(file: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(file).ok()?.trim().parse().ok()?;
    let alive = pid > 0 && procfs::stat(pid).is_ok_and(|stat| stat.state != 'Z');
    alive.then_some(pid)
}
