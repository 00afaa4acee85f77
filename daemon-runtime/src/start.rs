//! [`Daemon::start`]: the launcher's side and the daemon's side of the sequence.

use std::ffi::{CStr, CString, OsStr};
use std::io::Write;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::sys::stat::{self, Mode};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{self, ForkResult, Pid};

use crate::builder::{Daemon, Running};
use crate::error::{self, Error, Step};
use crate::pidfile::{self, PidFile};
use crate::report::{self, Failure, Outcome};
use crate::{fds, signals, steps, sysexits};

/// Everything the daemon's side needs, built before the first fork so that
/// nothing between the forks allocates, formats or resolves a name.
struct Prepared {
    umask: Mode,
    double_fork: bool,
    chdir: CString,
    pid_file: Option<CString>,
    devnull: OwnedFd,
}

impl Daemon {
    /// Detaches the calling process; returns in the daemon only.
    ///
    /// Runs the steps in the order given at the crate root. The launching
    /// process waits for the daemon's report and exits 0 once every step
    /// succeeded; in the daemon, `start` returns [`Running`].
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
        let prepared = self.prepare()?;
        let (from_daemon, to_launcher) =
            unistd::pipe2(OFlag::O_CLOEXEC).map_err(|errno| Error::Sys {
                step: Step::Preflight,
                errno,
            })?;
        if self.close_fds {
            let keep = [&from_daemon, &to_launcher, &prepared.devnull]
                .map(std::os::fd::AsRawFd::as_raw_fd);
            let keep: Vec<RawFd> = self.keep_fds.iter().copied().chain(keep).collect();
            fds::close_inherited_fds(&keep).map_err(|errno| Error::Sys {
                step: Step::CloseFds,
                errno,
            })?;
        }
        signals::reset_signals().map_err(|errno| Error::Sys {
            step: Step::Signals,
            errno,
        })?;
        // Text printed without a newline must reach the terminal once, from
        // the launcher, not again from a child's copy of the buffer.
        let _ = std::io::stdout().flush();
        drop(self);

        // SAFETY: the process is single-threaded (checked above), so the
        // child's copy of every lock is unlocked; the child runs only
        // async-signal-safe code until `start` returns in the daemon.
        match unsafe { unistd::fork() } {
            Err(errno) => Err(Error::Sys {
                step: Step::Fork,
                errno,
            }),
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

    /// Step 1's resolution of names: absolute paths as C strings, `/dev/null`.
    fn prepare(&self) -> Result<Prepared, Error> {
        Ok(Prepared {
            umask: Mode::from_bits_truncate(self.umask),
            double_fork: self.double_fork,
            chdir: c_path(&self.chdir)?,
            pid_file: self.pid_file.as_deref().map(c_path).transpose()?,
            devnull: fcntl::open(
                c"/dev/null",
                OFlag::O_RDWR | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|errno| Error::Path {
                step: Step::Stdio,
                path: "/dev/null".into(),
                errno,
            })?,
        })
    }
}

/// `path` made absolute against the launcher's working directory (before any
/// `chdir` changes what a relative path means), as a C string.
fn c_path(path: &Path) -> Result<CString, Error> {
    let error = |errno| Error::Path {
        step: Step::Preflight,
        path: path.to_path_buf(),
        errno,
    };
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

use std::os::unix::ffi::OsStringExt;

impl Prepared {
    /// The launcher: reads the daemon's report. Exits 0 on "ready"; returns
    /// the error otherwise, once the failed processes have exited.
    fn wait_for_report(&self, child: Pid, from_daemon: OwnedFd) -> Error {
        let outcome = report::receive(from_daemon);
        // The child is the intermediate process (gone right after the second
        // fork) or, without a double fork, the daemon itself (only waited for
        // when it failed).
        let status = if self.double_fork || outcome != Outcome::Ready {
            reap(child)
        } else {
            None
        };
        match outcome {
            Outcome::Ready => std::process::exit(0),
            Outcome::Failed(failure) => error::from_failure(failure, |step| match step {
                Step::Chdir => Some(as_path(&self.chdir)),
                Step::PidFile => self.pid_file.as_deref().map(as_path),
                _ => None,
            }),
            Outcome::Silent => Error::Died {
                status: status.and_then(|status| describe(status, self.double_fork)),
            },
        }
    }

    /// The daemon's side, steps 5 to 12. Async-signal-safe throughout.
    fn detach(self, to_launcher: OwnedFd) -> Running {
        match self.run_steps() {
            Ok(pid_file) => {
                report::send(&to_launcher, Ok(()));
                Running { pid_file }
            }
            Err(failure) => {
                report::send(&to_launcher, Err(failure));
                leave(sysexits::EX_OSERR)
            }
        }
    }

    fn run_steps(self) -> Result<Option<PidFile>, Failure> {
        let sys = |step| move |errno| Failure::Sys(step, errno);
        unistd::setsid().map_err(sys(Step::Setsid))?;
        if self.double_fork {
            // SAFETY: still single-threaded (the first child of a
            // single-threaded process); the same rules as the first fork.
            match unsafe { unistd::fork() }.map_err(sys(Step::SecondFork))? {
                ForkResult::Parent { .. } => leave(0),
                ForkResult::Child => {}
            }
        }
        steps::redirect_stdio(&self.devnull).map_err(sys(Step::Stdio))?;
        drop(self.devnull);
        stat::umask(self.umask);
        unistd::chdir(self.chdir.as_c_str()).map_err(sys(Step::Chdir))?;
        let Some(path) = self.pid_file else {
            return Ok(None);
        };
        let lock = pidfile::lock(&path)?;
        Ok(Some(PidFile::from_lock(path, lock)))
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
