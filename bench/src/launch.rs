//! Starting a launcher in one of the benchmark's environments. Everything
//! the environment needs is set up in `pre_exec`, between fork and exec, in
//! the launched process only; every mode goes through the same fork-then-exec
//! path so their times compare.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Inherited descriptors (without `FD_CLOEXEC`) in the hostile mode, besides
/// the one at the highest number.
pub const INHERITED_FDS: usize = 500;
/// `RLIMIT_NOFILE` soft limit of the base mode: the usual default.
pub const BASE_NOFILE: u64 = 1024;

/// The environment a launcher starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Soft `RLIMIT_NOFILE` 1024, no inherited descriptor.
    Base,
    /// Soft `RLIMIT_NOFILE` at the hard limit, 500 inherited descriptors plus
    /// one at `hard - 1`, all naming the marker file.
    Hostile,
    /// As `Base`, plus a pseudo-terminal as controlling terminal and stdio,
    /// SIGHUP ignored and SIGTERM blocked (as `nohup` or a careless shell
    /// would leave them): what a daemon must undo.
    Terminal,
}

/// What every launch shares.
pub struct Launcher {
    /// Opened with `O_CLOEXEC`; duplicated without it in the hostile mode.
    marker: OwnedFd,
    hard_nofile: u64,
}

impl Launcher {
    pub fn new(marker: OwnedFd) -> io::Result<Launcher> {
        let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)?;
        Ok(Launcher { marker, hard_nofile: hard })
    }

    /// The hard `RLIMIT_NOFILE`, the hostile mode's soft limit.
    pub fn hard_nofile(&self) -> u64 {
        self.hard_nofile
    }

    /// Spawns `argv` with `env`, stdio on `/dev/null` (or `terminal`'s pty
    /// slave in the `Terminal` mode) and returns its pid.
    pub fn spawn(
        &self,
        argv: &[OsString],
        env: &[(&str, OsString)],
        mode: Mode,
        terminal: Option<&OwnedFd>,
    ) -> io::Result<i32> {
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]).envs(env.iter().map(|(k, v)| (k, v)));
        match terminal {
            Some(slave) => {
                command
                    .stdin(Stdio::from(slave.try_clone()?))
                    .stdout(Stdio::from(slave.try_clone()?))
                    .stderr(Stdio::from(slave.try_clone()?));
            }
            None => {
                command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let marker = self.marker.as_raw_fd();
        let hard = self.hard_nofile;
        // SAFETY: the closure makes only async-signal-safe system calls and
        // allocates nothing.
        unsafe {
            command.pre_exec(move || prepare(mode, marker, hard));
        }
        Ok(command.spawn()?.id() as i32)
    }
}

/// Runs in the child between fork and exec.
fn prepare(mode: Mode, marker: RawFd, hard: u64) -> io::Result<()> {
    let soft = match mode {
        Mode::Hostile => hard,
        Mode::Base | Mode::Terminal => BASE_NOFILE.min(hard),
    };
    let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: plain system calls on values owned by this frame.
    unsafe {
        check(libc::setrlimit(libc::RLIMIT_NOFILE, &limit))?;
        match mode {
            Mode::Base => {}
            Mode::Hostile => {
                for _ in 0..INHERITED_FDS {
                    check(libc::dup(marker))?;
                }
                let highest = RawFd::try_from(hard - 1).unwrap_or(RawFd::MAX);
                check(libc::dup2(marker, highest))?;
            }
            Mode::Terminal => {
                check(libc::setsid())?;
                check(libc::ioctl(0, libc::TIOCSCTTY, 0))?;
                if libc::signal(libc::SIGHUP, libc::SIG_IGN) == libc::SIG_ERR {
                    return Err(io::Error::last_os_error());
                }
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGTERM);
                check(libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()))?;
            }
        }
    }
    Ok(())
}

fn check(result: libc::c_int) -> io::Result<()> {
    if result < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Marks every descriptor above 2 of the driver close-on-exec: what the
/// driver itself inherited (a jobserver pipe from `cargo run`, a terminal)
/// must not reach the contenders, or a peer that closes nothing would be
/// charged for it.
pub fn close_on_exec_all() -> io::Result<()> {
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: F_SETFD on a number; a descriptor closed since the listing
        // (the directory's own) fails with EBADF, which is ignored.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}
