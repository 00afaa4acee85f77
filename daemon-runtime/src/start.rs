//! [`Daemon::start`]: the launcher's side and the daemon's side of the sequence.

use std::ffi::{CStr, CString, OsStr};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{Signal, killpg};
use nix::sys::stat::{self, Mode};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{self, ForkResult, Pid};

use crate::builder::{Daemon, Running};
use crate::error::{self, Error, Step};
use crate::pidfile::{self, PidFile};
use crate::privileges::{self, Credentials};
use crate::readiness::{self, Pending, Ready};
use crate::report::{self, Failure, Outcome};
use crate::{fds, logs, signals, steps, sysexits};

/// How long the launcher waits for the daemon's report unless told otherwise.
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything the daemon's side needs, built before the first fork so that
/// nothing between the forks allocates, formats or resolves a name.
struct Prepared {
    umask: Mode,
    core_dumps: bool,
    double_fork: bool,
    ready: Ready,
    timeout: Duration,
    chroot: Option<CString>,
    chdir: CString,
    pid_file: Option<CString>,
    pid_location: Option<pidfile::Location>,
    credentials: Option<Credentials>,
    /// Taken by the stdio step.
    devnull: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    /// With manual readiness: where stdout and stderr go once ready.
    deferred_stdio: Option<(OwnedFd, OwnedFd)>,
}

impl Daemon {
    /// Detaches the calling process; returns in the daemon only.
    ///
    /// Runs the steps in the order given at the crate root. The launching
    /// process waits for the daemon's report and exits 0 once the daemon is
    /// ready; in the daemon, `start` returns [`Running`]. With
    /// [`foreground`](Daemon::foreground) there is no launcher: the steps
    /// that remain run in this process, which returns [`Running`].
    ///
    /// # Errors
    ///
    /// In the launching process, the first step that failed, in the launcher
    /// (before forking: nothing was started) or in the daemon (which has
    /// exited, leaving no pid file). [`Error::exit`] prints it and exits with
    /// its sysexits code, which is what `#[daemon]` does.
    ///
    /// ```no_run
    /// let running = daemon_runtime::Daemon::new()
    ///     .pid_file("/run/myd.pid")
    ///     .start()
    ///     .unwrap_or_else(|error| error.exit());
    /// // the daemon's work
    /// # drop(running);
    /// ```
    pub fn start(self) -> Result<Running, Error> {
        steps::ensure_single_threaded()?;
        if !self.foreground && unistd::getpid().as_raw() == 1 {
            return Err(Error::Pid1);
        }
        steps::fill_closed_stdio().map_err(|errno| Error::Sys { step: Step::Preflight, errno })?;
        let prepared = self.prepare()?;
        let pipe = match self.foreground {
            true => None,
            false => Some(
                unistd::pipe2(OFlag::O_CLOEXEC)
                    .map_err(|errno| Error::Sys { step: Step::Preflight, errno })?,
            ),
        };
        if self.close_fds {
            let mut keep: Vec<RawFd> = self.keep_fds.clone();
            keep.extend(pipe.iter().flat_map(|(r, w)| [r.as_raw_fd(), w.as_raw_fd()]));
            keep.extend(prepared.own_fds());
            fds::close_inherited_fds(&keep).map_err(|errno| Error::Sys { step: Step::CloseFds, errno })?;
        }
        signals::reset_signals().map_err(|errno| Error::Sys { step: Step::Signals, errno })?;
        // Text printed without a newline must reach the terminal once, from
        // the launcher, not again from a child's copy of the buffer.
        let _ = std::io::stdout().flush();
        logs::remember(self.stdout.clone(), self.stderr.clone());
        drop(self);

        let Some((from_daemon, to_launcher)) = pipe else {
            return prepared.in_foreground();
        };
        // SAFETY: the process is single-threaded (checked above), so the
        // child's copy of every lock is unlocked; the child runs only
        // async-signal-safe code until `start` returns in the daemon.
        match unsafe { unistd::fork() } {
            Err(errno) => Err(Error::Sys { step: Step::Fork, errno }),
            Ok(ForkResult::Parent { child }) => {
                drop(to_launcher);
                Err(prepared.wait_for_report(child, from_daemon))
            }
            Ok(ForkResult::Child) => {
                drop(from_daemon);
                Ok(prepared.detach(to_launcher))
            }
        }
    }

    /// Step 1's resolution of names: users, absolute paths as C strings,
    /// `/dev/null` and the log files opened.
    fn prepare(&self) -> Result<Prepared, Error> {
        let open_log = |path: &Option<PathBuf>| path.as_deref().map(logs::open).transpose();
        Ok(Prepared {
            umask: Mode::from_bits_truncate(self.umask),
            core_dumps: self.core_dumps,
            double_fork: self.double_fork,
            ready: self.ready,
            timeout: self.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT),
            chroot: self.chroot.as_deref().map(c_path).transpose()?,
            // Inside a chroot, relative paths are taken inside the new root.
            chdir: c_path(&self.chdir)?,
            pid_file: self.pid_file.as_deref().map(c_path).transpose()?,
            pid_location: match &self.pid_file {
                Some(path) => Some(pidfile::Location::find(
                    &std::path::absolute(path).unwrap_or_else(|_| path.clone()),
                    self.chroot.as_deref(),
                )?),
                None => None,
            },
            credentials: privileges::resolve(self.user.as_ref(), self.group.as_ref())?,
            devnull: Some(
                fcntl::open(c"/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
                    .map_err(|errno| Error::Path { step: Step::Stdio, path: "/dev/null".into(), errno })?,
            ),
            stdout: open_log(&self.stdout)?,
            stderr: open_log(&self.stderr)?,
            deferred_stdio: None,
        })
    }
}

/// `path` made absolute against the launcher's working directory (before any
/// `chdir` changes what a relative path means), as a C string.
fn c_path(path: &Path) -> Result<CString, Error> {
    let error = |errno| Error::Path { step: Step::Preflight, path: path.to_path_buf(), errno };
    let absolute = std::path::absolute(path)
        .map_err(|e| error(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL))))?;
    CString::new(absolute.into_os_string().into_vec()).map_err(|_| error(Errno::EINVAL))
}

fn as_path(path: &CStr) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(path.to_bytes()))
}

/// Leaves a forked process at once: `_exit`, so no atexit handler runs and no
/// stdio buffer inherited from the launcher is flushed a second time.
fn leave(code: i32) -> ! {
    // SAFETY: `_exit` has no preconditions; it ends the process without
    // running any user-space code.
    unsafe { libc::_exit(code) }
}

impl Prepared {
    /// Descriptors opened in step 1 that the daemon needs.
    fn own_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        [self.devnull.as_ref(), self.stdout.as_ref(), self.stderr.as_ref()]
            .into_iter()
            .flatten()
            .map(AsRawFd::as_raw_fd)
            .chain(self.pid_location.as_ref().map(pidfile::Location::dir_fd))
    }

    /// The launcher: reads the daemon's report. Exits 0 on "ready"; returns
    /// the error otherwise, once the failed processes have exited.
    fn wait_for_report(&self, child: Pid, from_daemon: OwnedFd) -> Error {
        let outcome = report::receive(from_daemon, self.timeout, || {
            // The daemon and anything it started share the process group
            // that `setsid` made, numbered after our child.
            let _ = killpg(child, Signal::SIGKILL);
        });
        // The child is the intermediate process (gone right after the second
        // fork) or, without a double fork, the daemon itself (only waited for
        // when it failed).
        let status = if self.double_fork || outcome != Outcome::Ready { reap(child) } else { None };
        match outcome {
            Outcome::Ready => std::process::exit(0),
            Outcome::Failed(failure) => self.error(failure),
            Outcome::Silent => {
                Error::Died { status: status.and_then(|status| describe(status, self.double_fork)) }
            }
            Outcome::TimedOut => {
                if let Some(path) = self.pid_file_seen_from_outside() {
                    pidfile::remove_if_stale(&path);
                }
                Error::NotReady { timeout: self.timeout }
            }
        }
    }

    /// The pid file's path as the launcher sees it (inside the chroot for the daemon).
    fn pid_file_seen_from_outside(&self) -> Option<PathBuf> {
        let pid_file = as_path(self.pid_file.as_deref()?);
        Some(match &self.chroot {
            Some(root) => as_path(root).join(pid_file.strip_prefix("/").unwrap_or(&pid_file)),
            None => pid_file,
        })
    }

    /// Turns what a step reported into an error naming the configured path.
    fn error(&self, failure: Failure) -> Error {
        error::from_failure(failure, |step| match step {
            Step::Chdir => Some(as_path(&self.chdir)),
            Step::Chroot => self.chroot.as_deref().map(as_path),
            Step::PidFile => self.pid_file.as_deref().map(as_path),
            _ => None,
        })
    }

    /// `foreground`: the steps that remain, in this process.
    fn in_foreground(mut self) -> Result<Running, Error> {
        let pid_file = self.run_steps(false).map_err(|failure| self.error(failure))?;
        match self.ready {
            Ready::Auto => readiness::notify_service_manager(),
            Ready::Manual => readiness::defer(Pending { report: None, stdio: None }),
        }
        Ok(Running { pid_file })
    }

    /// The daemon's side, steps 5 to 12. Async-signal-safe until the report.
    fn detach(mut self, to_launcher: OwnedFd) -> Running {
        match self.run_steps(true) {
            Ok(pid_file) => {
                match self.ready {
                    Ready::Auto => {
                        report::send(&to_launcher, Ok(()));
                        drop(to_launcher);
                        readiness::notify_service_manager();
                    }
                    Ready::Manual => {
                        // Until `ready()`, stdout and stderr stay the
                        // launcher's: what the body prints, its error or its
                        // panic, reaches the person who started it.
                        let stdio = self.deferred_stdio.take();
                        readiness::defer(Pending { report: Some(to_launcher), stdio });
                    }
                }
                Running { pid_file }
            }
            Err(failure) => {
                report::send(&to_launcher, Err(failure));
                leave(sysexits::EX_OSERR)
            }
        }
    }

    /// Step 7: stdin on `/dev/null`; stdout and stderr on the log files or
    /// `/dev/null`, now (automatic readiness) or when the body calls `ready()`.
    /// Every descriptor used here is closed afterwards, so the pid file's
    /// lock takes the lowest free number.
    fn redirect_stdio(&mut self) -> nix::Result<()> {
        let Some(devnull) = self.devnull.take() else {
            return Ok(());
        };
        unistd::dup2_stdin(&devnull)?;
        let target = |log: Option<OwnedFd>| log.map_or_else(|| unistd::dup(&devnull), Ok);
        let stdout = target(self.stdout.take())?;
        let stderr = target(self.stderr.take())?;
        match self.ready {
            Ready::Auto => {
                unistd::dup2_stdout(&stdout)?;
                unistd::dup2_stderr(&stderr)?;
            }
            Ready::Manual => self.deferred_stdio = Some((stdout, stderr)),
        }
        Ok(())
    }

    /// Steps 5 to 11 (5 to 7 only when `detach`).
    fn run_steps(&mut self, detach: bool) -> Result<Option<PidFile>, Failure> {
        let sys = |step| move |errno| Failure::Sys(step, errno);
        if detach {
            unistd::setsid().map_err(sys(Step::Setsid))?;
            if self.double_fork {
                // SAFETY: still single-threaded (the first child of a
                // single-threaded process); the same rules as the first fork.
                match unsafe { unistd::fork() }.map_err(sys(Step::SecondFork))? {
                    ForkResult::Parent { .. } => leave(0),
                    ForkResult::Child => {}
                }
            }
            self.redirect_stdio().map_err(sys(Step::Stdio))?;
        }
        stat::umask(self.umask);
        if !self.core_dumps {
            setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(sys(Step::Limits))?;
        }
        if let Some(root) = &self.chroot {
            unistd::chroot(root.as_c_str()).map_err(sys(Step::Chroot))?;
            unistd::chdir(c"/").map_err(sys(Step::Chroot))?;
        }
        unistd::chdir(self.chdir.as_c_str()).map_err(sys(Step::Chdir))?;
        let pid_file = match (self.pid_file.take(), self.pid_location.take()) {
            (Some(path), Some(location)) => {
                let lock = pidfile::lock_at(&location)?;
                drop(location);
                let pid_file = PidFile::from_lock(path, pidfile::lowest(lock));
                pid_file.remove_on_termination();
                Some(pid_file)
            }
            _ => None,
        };
        if let Some(credentials) = &self.credentials {
            // A failure here drops `pid_file`: removed, so nothing is left.
            privileges::drop_to(credentials)?;
        }
        Ok(pid_file)
    }
}

/// Waits for `child`, retrying `EINTR`.
fn reap(child: Pid) -> Option<WaitStatus> {
    loop {
        match waitpid(child, None) {
            Err(Errno::EINTR) => {}
            other => return other.ok(),
        }
    }
}

/// How the launcher's child ended, when that says something: an
/// intermediate process that exited 0 did its job (its child died silently).
fn describe(status: WaitStatus, double_fork: bool) -> Option<String> {
    match status {
        WaitStatus::Exited(_, 0) if double_fork => None,
        WaitStatus::Exited(_, code) => Some(format!("exited with status {code}")),
        WaitStatus::Signaled(_, signal, _) => Some(format!("was killed by {signal}")),
        _ => None,
    }
}
