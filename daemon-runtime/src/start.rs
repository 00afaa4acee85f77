//! [`Daemon::start`], [`Daemon::start_with`] and [`Daemon::exec`]: step 1
//! to 4, in the launching process, up to the fork.

use std::ffi::OsStr;
use std::fmt::Display;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{self, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{self, ForkResult};

use crate::builder::{Daemon, Running};
use crate::c_strings::{self, absolute, c_string};
use crate::error::{Error, Step};
use crate::notify::NotifySocket;
use crate::pidfile;
use crate::prepared::{Exec, Prepared};
use crate::privileges::{self, Credentials};
use crate::readiness::{Ready, ServiceManager};
use crate::report::Relay;
use crate::resolve::{self, Trust};
use crate::verdict::VerdictPipe;
use crate::{activation, fds, logs, preflight, signals};

/// How long the launcher waits for the daemon's report unless told otherwise.
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

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
        self.launch(None, false, || Ok::<(), std::convert::Infallible>(())).map(|(running, ())| running)
    }

    /// [`start`](Daemon::start), running `init` in the daemon after the pid
    /// file is locked and after `chroot`, before the privilege drop: still as
    /// root, to bind a port below 1024 or read a key only root can. Its value
    /// is returned with [`Running`]; its error fails the start, and the
    /// launcher prints `error: init: <its Display>` (`E: Display`, as
    /// `std::io::Error`, `String` or `anyhow::Error` are)
    /// ([`EX_UNAVAILABLE`](crate::sysexits::EX_UNAVAILABLE)), leaving no
    /// process and no pid file.
    ///
    /// # Errors
    ///
    /// As [`start`](Daemon::start), plus [`Error::Init`].
    ///
    /// ```no_run
    /// let (running, listener) = daemon_runtime::Daemon::new()
    ///     .user("nobody")
    ///     .start_with(|| std::net::TcpListener::bind("127.0.0.1:80"))
    ///     .unwrap_or_else(|error| error.exit());
    /// // Serves port 80 as nobody.
    /// # drop((running, listener));
    /// ```
    pub fn start_with<T, E: Display>(
        self,
        init: impl FnOnce() -> Result<T, E>,
    ) -> Result<(Running, T), Error> {
        self.launch(None, true, init)
    }

    /// Runs the steps, then executes `program` with `args` (its `argv[1..]`)
    /// in place of a body: what `daemon-run` does. `program` is taken as it
    /// is (no `PATH` lookup). The pid file's lock is inherited on purpose by
    /// the program, on the lowest descriptor after stdio (3, unless
    /// `keep_fds` holds it), so status, stop and a second start work for it.
    /// The program starts with `SIGPIPE` at its default action (this process,
    /// as every Rust program, ignores it; std's `Command` restores it too).
    /// The launcher exits 0 once the `exec` succeeded.
    ///
    /// Returns only on failure: in the launcher (the program could not be
    /// executed: [`Step::Exec`](crate::Step::Exec), 127 when missing, 126 when not executable),
    /// or in the foreground.
    ///
    /// ```no_run
    /// let error = daemon_runtime::Daemon::new().pid_file("/run/sleep.pid").exec("/bin/sleep", ["30"]);
    /// error.exit();
    /// ```
    pub fn exec(self, program: impl AsRef<Path>, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Error {
        match Exec::new(program.as_ref(), args) {
            Ok(exec) => self.run_program(exec),
            Err(error) => error,
        }
    }

    /// [`exec`](Daemon::exec), but the launcher returns only once the program
    /// sends `READY=1` (sd_notify) on the private `NOTIFY_SOCKET` it is given,
    /// within [`ready_timeout`](Daemon::ready_timeout): honest readiness for
    /// any program that speaks the protocol. Only datagrams from the
    /// program's own pid count. A program that exits first fails the start
    /// ([`Error::Died`]); one that is late is killed ([`Error::NotReady`]).
    ///
    /// ```no_run
    /// let error = daemon_runtime::Daemon::new().exec_notify("/usr/sbin/myd", ["--no-fork"]);
    /// error.exit();
    /// ```
    pub fn exec_notify(
        self,
        program: impl AsRef<Path>,
        args: impl IntoIterator<Item = impl AsRef<OsStr>>,
    ) -> Error {
        let mut exec = match Exec::new(program.as_ref(), args) {
            Ok(exec) => exec,
            Err(error) => return error,
        };
        if !self.foreground {
            exec.notify = match NotifySocket::bind() {
                Ok(socket) => Some(socket),
                Err(error) => return error,
            };
        }
        self.run_program(exec)
    }

    fn run_program(self, exec: Exec) -> Error {
        match self.launch(Some(exec), false, || Ok::<(), std::convert::Infallible>(())) {
            Ok(_) => unreachable!("a successful exec does not return"),
            Err(error) => error,
        }
    }

    /// The start; `has_init` says whether `init` is the caller's (false: a
    /// stand-in that returns at once, as for [`start`](Daemon::start)).
    fn launch<T, E: Display>(
        self,
        exec: Option<Exec>,
        has_init: bool,
        init: impl FnOnce() -> Result<T, E>,
    ) -> Result<(Running, T), Error> {
        preflight::check(self.foreground)?;
        let mut prepared = self.prepare()?;
        prepared.exec = exec;
        if !self.foreground && self.ready == Ready::Manual && prepared.exec.is_none() {
            prepared.relay = Some(Relay::new().map_err(|errno| Error::Sys { step: Step::Preflight, errno })?);
        }
        let pipe = match self.foreground {
            true => None,
            false => Some(
                crate::report::cloexec_pipe().map_err(|errno| Error::Sys { step: Step::Preflight, errno })?,
            ),
        };
        let verdict = match !self.foreground && self.double_fork && !crate::launcher::SUBREAPER {
            true => Some(VerdictPipe::new().map_err(|errno| Error::Sys { step: Step::Preflight, errno })?),
            false => None,
        };
        if self.close_fds {
            let mut keep: Vec<RawFd> = self.keep_fds.clone();
            if let Some((read, write)) = &pipe {
                keep.extend([read.as_raw_fd(), write.as_raw_fd()]);
            }
            prepared.own_fds(&mut keep);
            if let Some(verdict) = &verdict {
                keep.extend(verdict.fds());
            }
            keep.extend(activation::kept());
            // SAFETY: single-threaded (checked above), and every descriptor
            // this process owns above 2 is in `keep`: the ones the caller
            // asked to keep, and those step 1 opened.
            unsafe { fds::close_all_but(&keep) }
                .map_err(|errno| Error::Sys { step: Step::CloseFds, errno })?;
        }
        signals::reset().map_err(|errno| Error::Sys { step: Step::Signals, errno })?;
        // Text printed without a newline must reach the terminal once, from
        // the launcher, not again from a child's copy of the buffer.
        let _ = std::io::stdout().flush();
        logs::remember(self.stdout.clone(), self.stderr.clone(), log_owner(prepared.credentials.as_ref()));
        drop(self);

        let Some((from_daemon, to_launcher)) = pipe else {
            return prepared.in_foreground(init);
        };
        crate::launcher::adopt_orphans()?;
        // SAFETY: what makes the child sound is the preflight: the process
        // runs one thread (checked above, and nothing since starts one), so
        // the child's copy of every lock, the allocator's included, is
        // unlocked, and the child may allocate as any single-threaded
        // process may. The child does not need to be async-signal-safe; by
        // design (DESIGN.md invariant 2) it still allocates nothing up to
        // the body, except where it runs the user's `init` (which may) and
        // drops values (which frees), both as safe in a one-thread process.
        match unsafe { unistd::fork() } {
            Err(errno) => Err(Error::Sys { step: Step::Fork, errno }),
            Ok(ForkResult::Parent { child }) => {
                drop(to_launcher);
                if let Some(relay) = &mut prepared.relay {
                    relay.write = None;
                }
                Err(prepared.wait_for_report(child, from_daemon, verdict.map(VerdictPipe::into_launcher_end)))
            }
            Ok(ForkResult::Child) => {
                drop(from_daemon);
                Ok(prepared.detach(to_launcher, verdict.map(VerdictPipe::into_awaited_end), has_init, init))
            }
        }
    }

    /// Step 1's resolution of names: users, absolute paths as C strings,
    /// the chroot, working and pid file directories walked (see
    /// [`crate::resolve`]), `/dev/null` and the log files opened.
    fn prepare(&self) -> Result<Prepared, Error> {
        let chroot = self.chroot.as_deref().map(absolute).transpose()?;
        let chroot_dir = chroot
            .as_deref()
            .map(|path| {
                resolve::directory(path, None, Trust::RootOnly)
                    .map_err(|denied| denied.into_error(Step::Chroot, path))
            })
            .transpose()?;
        let root = chroot_dir.as_ref().map(AsFd::as_fd);
        // Inside a chroot, the working directory is taken inside the new root.
        let chdir = absolute(&self.chdir)?;
        let chdir_dir = resolve::directory(&chdir, root, Trust::Starter)
            .map_err(|denied| denied.into_error(Step::Chdir, &chdir))?;
        let pid_file = self.pid_file.as_deref().map(absolute).transpose()?;
        let pid_location = pid_file.as_deref().map(|path| pidfile::Location::find(path, root)).transpose()?;
        let credentials = privileges::resolve(self.user.as_ref(), self.group.as_ref())?;
        let owner = log_owner(credentials.as_ref());
        let open_log =
            |path: &Option<PathBuf>| path.as_deref().map(|path| logs::open(path, owner)).transpose();
        Ok(Prepared {
            // `mode_t` is 16 bits on macOS: the umask's 9 bits fit everywhere.
            umask: Mode::from_bits_truncate((self.umask & 0o777) as libc::mode_t),
            core_dumps: self.core_dumps,
            double_fork: self.double_fork,
            ready: self.ready,
            timeout: self.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT),
            chroot: chroot.map(c_string).transpose()?,
            chdir: c_string(chdir)?,
            pid_file: pid_file.map(c_string).transpose()?,
            chroot_dir,
            chdir_dir: Some(chdir_dir),
            pid_location,
            credentials,
            devnull: Some(
                fcntl::open(c"/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
                    .map_err(|errno| Error::Path { step: Step::Stdio, path: "/dev/null".into(), errno })?,
            ),
            stdout: open_log(&self.stdout)?,
            stderr: open_log(&self.stderr)?,
            deferred_stdio: None,
            relay: None,
            exec: None,
            service_manager: ServiceManager::from_env(),
        })
    }
}

impl Exec {
    fn new(program: &Path, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Result<Exec, Error> {
        let (program, argv) = c_strings::argv(program, args)?;
        Ok(Exec { program, argv, notify: None })
    }
}

impl Prepared {
    /// Adds the descriptors opened in step 1 that the daemon needs to `keep`.
    /// Pushed one by one: a chain of iterators here cost some 4 KiB of code.
    fn own_fds(&self, keep: &mut Vec<RawFd>) {
        let owned = [&self.devnull, &self.stdout, &self.stderr, &self.chroot_dir, &self.chdir_dir];
        for fd in owned.into_iter().flatten() {
            keep.push(fd.as_raw_fd());
        }
        if let Some(location) = &self.pid_location {
            keep.extend(location.fds());
        }
        if let Some(notify) = self.exec.as_ref().and_then(|exec| exec.notify.as_ref()) {
            keep.push(notify.raw_fd());
        }
        if let Some(relay) = &self.relay {
            for fd in relay.fds() {
                keep.push(fd.as_raw_fd());
            }
        }
    }
}

/// Who may own a log file besides root: the daemon's user.
fn log_owner(credentials: Option<&Credentials>) -> u32 {
    credentials.map_or(unistd::geteuid().as_raw(), Credentials::uid)
}
