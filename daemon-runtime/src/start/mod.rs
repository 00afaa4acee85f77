//! A start, read top to bottom: [`Daemon::start`], [`Daemon::start_with`],
//! [`Daemon::exec`] and [`Daemon::exec_notify`] run the preflight
//! (`steps/preflight.rs`), build the plan (`plan.rs`: every name resolved,
//! every path walked, every descriptor opened, split into the launcher's
//! half and the daemon's), close the inherited descriptors and reset the
//! signals (steps 2 and 3), then fork (step 4). After the fork, the
//! launcher waits for the daemon's report (`launcher.rs`, over the pipe of
//! `report.rs`; `verdict.rs` where there is no subreaper; `child.rs` to
//! reap and name how a child ended), and the daemon takes the remaining
//! steps (`detach.rs`), executing a program at the end for `exec`
//! (`program.rs`). The new process of an upgrade takes them on its own
//! terms instead of forking (`takeover.rs`).
//!
//! Everything here runs in the launching process, which the preflight
//! proved single-threaded.

pub(crate) mod child;
pub(crate) mod detach;
pub(crate) mod launcher;
pub(crate) mod plan;
pub(crate) mod program;
pub(crate) mod report;
pub(crate) mod takeover;
pub(crate) mod verdict;

use std::ffi::OsStr;
use std::fmt::Display;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{self, ForkResult};

use crate::builder::{Daemon, Running};
use crate::deadline::DEFAULT_READY_TIMEOUT;
use crate::error::{Error, Step};
use crate::path::cstr::{absolute, c_string};
use crate::path::walk::{self, Trust};
use crate::sd_notify::ready::{Ready, ServiceManager};
use crate::sd_notify::receive::NotifyReceiver;
use crate::start::plan::{Detach, Launcher, Paths, Plan, Stdio};
use crate::start::program::Program;
use crate::start::report::Relay;
use crate::start::verdict::VerdictPipe;
use crate::steps::pidfile;
use crate::steps::privileges::{self, Credentials};
use crate::steps::{activation, fds, lock_handover, preflight, signals, stdio as logs};

/// Whether this process is a daemon already (or ran the steps in the
/// foreground): a second start is refused ([`Error::AlreadyStarted`]). Not
/// set by a start that failed in the launcher, which may try again.
static STARTED: AtomicBool = AtomicBool::new(false);

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
    /// It is announced in the program's environment as `DAEMON_LOCK_FD=3`
    /// and `DAEMON_LOCK_PID=<its pid>` (as `LISTEN_FDS` and `LISTEN_PID`
    /// announce sockets): a program built on this crate (a `#[daemon]`
    /// binary) keeps that descriptor through its own start instead of
    /// closing it with the others, and its daemon holds the lock (see
    /// [Wrapped by daemon-run](crate#wrapped-by-daemon-run)).
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
        match Program::new(program.as_ref(), args) {
            Ok(program) => self.run_program(program, None),
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
    /// The socket is a file in a directory that only root and the launching
    /// user can write: `/run` as root, `$XDG_RUNTIME_DIR` otherwise (with a
    /// [`chroot`](Daemon::chroot), that path inside it), refused at preflight
    /// when there is none. It is removed once the program is ready (or the
    /// start failed), so that what the program sends later (`STATUS=`, a
    /// descriptor) fails with `ENOENT` rather than reach a process of
    /// another user that took the name.
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
        let mut program = match Program::new(program.as_ref(), args) {
            Ok(program) => program,
            Err(error) => return error,
        };
        if self.foreground {
            return self.run_program(program, None);
        }
        match NotifyReceiver::for_program(self.chroot.as_deref()) {
            Ok((receiver, envp)) => {
                program.set_environment(envp);
                self.run_program(program, Some(receiver))
            }
            Err(error) => error,
        }
    }

    fn run_program(self, program: Program, notify: Option<NotifyReceiver>) -> Error {
        match self.launch(Some((program, notify)), false, || Ok::<(), std::convert::Infallible>(())) {
            Ok(_) => unreachable!("a successful exec does not return"),
            Err(error) => error,
        }
    }

    /// The start; `has_init` says whether `init` is the caller's (false: a
    /// stand-in that returns at once, as for [`start`](Daemon::start)).
    /// Returns in the daemon, which then reopens its logs on a signal if
    /// asked ([`Daemon::reopen_logs_on`]): its thread starts only now, after
    /// the last fork.
    fn launch<T, E: Display>(
        self,
        program: Option<(Program, Option<NotifyReceiver>)>,
        has_init: bool,
        init: impl FnOnce() -> Result<T, E>,
    ) -> Result<(Running, T), Error> {
        let reopen_on = self.reopen_logs_on.filter(|_| program.is_none());
        let started = self.run_steps(program, has_init, init)?;
        if let Some(signal) = reopen_on {
            crate::steps::reopen::install(signal).map_err(|errno| Error::Sys {
                step: Step::Stdio,
                errno: crate::error::errno::Errno::of(errno),
            })?;
        }
        Ok(started)
    }

    /// The steps of [`launch`](Daemon::launch).
    fn run_steps<T, E: Display>(
        self,
        program: Option<(Program, Option<NotifyReceiver>)>,
        has_init: bool,
        init: impl FnOnce() -> Result<T, E>,
    ) -> Result<(Running, T), Error> {
        // Started by an upgrade of a running daemon: already detached, so
        // no fork; the sockets and the pid file's lock are inherited.
        let announced = match program {
            None => crate::upgrade::state::announced(),
            Some(_) => None,
        };
        preflight::check(self.foreground || announced.is_some())?;
        if STARTED.load(Ordering::Relaxed) {
            return Err(Error::AlreadyStarted);
        }
        // SAFETY: taken once (`STARTED` is set below on every path that
        // uses it), in a process the preflight proved single-threaded.
        let inherited = announced.map(|announced| unsafe { crate::upgrade::state::take(announced) });
        for &fd in &self.keep_fds {
            if fds::fd_flags(fd) == Err(Errno::EBADF) {
                return Err(Error::NotOpen { fd });
            }
        }
        activation::check()?;
        // The lock of the pid file that the program which executed this one
        // holds for it (issue 27.2): kept, or step 2 would close it. Not in
        // an upgrade's new process, which inherited its lock from the old one.
        let handed_lock = match &inherited {
            // SAFETY: before step 2, in a process the preflight proved
            // single-threaded; a second call takes nothing (the call removes
            // the variables).
            None => unsafe { lock_handover::take(&self.keep_fds) },
            Some(_) => None,
        };
        let attached = self.foreground || inherited.is_some();
        let plan = self.plan(program, attached, handed_lock)?;
        crate::upgrade::state::remember_origin(
            self.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT),
            plan.launcher.paths.pid_file_seen_from_outside(),
        );
        let preflight =
            |errno| Error::Sys { step: Step::Preflight, errno: crate::error::errno::Errno::of(errno) };
        let pipe = match attached {
            true => None,
            false => Some(crate::start::report::cloexec_pipe().map_err(preflight)?),
        };
        let verdict = match !attached && self.double_fork && !crate::sys::SUBREAPER {
            true => Some(VerdictPipe::new().map_err(preflight)?),
            false => None,
        };
        // One read of what the kernel says of this process, for both steps
        // below (nothing is opened between it and them).
        let status = crate::sys::own_status();
        if self.close_fds {
            let mut keep: Vec<RawFd> = self.keep_fds.clone();
            if let Some((read, write)) = &pipe {
                keep.extend([read.as_raw_fd(), write.as_raw_fd()]);
            }
            plan.own_fds(&mut keep);
            if let Some(verdict) = &verdict {
                keep.extend(verdict.fds());
            }
            keep.extend(activation::kept());
            if let Some(inherited) = &inherited {
                keep.extend(inherited.lock.as_ref().map(AsRawFd::as_raw_fd));
                keep.push(inherited.report.as_raw_fd());
            }
            fds::close_inherited(&keep, status.fd_table_size).map_err(|errno| Error::Sys {
                step: Step::CloseFds,
                errno: crate::error::errno::Errno::of(errno),
            })?;
        }
        signals::reset(status.ignored).map_err(|errno| Error::Sys {
            step: Step::Signals,
            errno: crate::error::errno::Errno::of(errno),
        })?;
        // Text printed without a newline must reach the terminal once, from
        // the launcher, not again from a child's copy of the buffer.
        let _ = std::io::stdout().flush();
        logs::remember(self.stdout.clone(), self.stderr.clone(), log_owner(plan.daemon.credentials.as_ref()));
        drop(self);

        let looked_up = plan.daemon.credentials.is_some();
        let Plan { mut launcher, daemon } = plan;
        let Some((from_daemon, to_launcher)) = pipe else {
            STARTED.store(true, Ordering::Relaxed);
            if let Some(inherited) = inherited {
                let paths = launcher.paths;
                return Ok(daemon.take_over(&paths, inherited, init));
            }
            return daemon.in_foreground(&launcher.paths, init);
        };
        // The user and group look-ups ran foreign code (NSS modules on Linux
        // and FreeBSD, opendirectoryd's client on macOS), which may have
        // started a thread since the preflight counted: counted again.
        if looked_up {
            preflight::ensure_single_threaded()?;
        }
        crate::start::launcher::adopt_orphans()?;
        if crate::sys::SUBREAPER {
            // Children of the program's own, to be told from the start's orphans.
            launcher.children_before = crate::sys::children();
        }
        // SAFETY: what makes the child sound is the preflight: the process
        // runs one thread (counted then, and again just above when a look-up
        // ran code not ours; our own code since starts none), so
        // the child's copy of every lock, the allocator's included, is
        // unlocked, and the child may allocate as any single-threaded
        // process may. The child does not need to be async-signal-safe; by
        // design (DESIGN.md invariant 2) it still allocates nothing up to
        // the body, except where it runs the user's `init` (which may) and
        // drops values (which frees), both as safe in a one-thread process.
        match unsafe { unistd::fork() } {
            Err(errno) => Err(Error::Sys { step: Step::Fork, errno: crate::error::errno::Errno::of(errno) }),
            Ok(ForkResult::Parent { child }) => {
                // Ours: the report's read end, the relay's, the paths. The
                // daemon's half is closed and freed here, in the launcher.
                drop((to_launcher, daemon));
                Err(launcher.wait_for_report(child, from_daemon, verdict.map(VerdictPipe::into_launcher_end)))
            }
            Ok(ForkResult::Child) => {
                STARTED.store(true, Ordering::Relaxed);
                drop(from_daemon);
                launcher.close_in_daemon();
                Ok(daemon.detach(to_launcher, verdict.map(VerdictPipe::into_awaited_end), has_init, init))
            }
        }
    }

    /// Step 1's resolution of names: users, absolute paths as C strings,
    /// the chroot, working and pid file directories walked (see
    /// [`crate::path::walk`]), `/dev/null`, the log files and the relay
    /// opened; then split into the launcher's half and the daemon's.
    fn plan(
        &self,
        program: Option<(Program, Option<NotifyReceiver>)>,
        attached: bool,
        handed_lock: Option<OwnedFd>,
    ) -> Result<Plan, Error> {
        let chroot = self.chroot.as_deref().map(absolute).transpose()?;
        let chroot_dir = chroot
            .as_deref()
            .map(|path| {
                walk::directory(path, None, Trust::RootOnly)
                    .map_err(|denied| denied.into_error(Step::Chroot, path))
            })
            .transpose()?;
        let root = chroot_dir.as_ref().map(AsFd::as_fd);
        // Inside a chroot, the working directory is taken inside the new root.
        let chdir = absolute(&self.chdir)?;
        let chdir_dir = walk::directory(&chdir, root, Trust::Starter)
            .map_err(|denied| denied.into_error(Step::Chdir, &chdir))?;
        let pid_file = self.pid_file.as_deref().map(absolute).transpose()?;
        // A missing directory names the user who should own it.
        let owner = || self.user.as_ref().map(ToString::to_string);
        let pid_location = pid_file
            .as_deref()
            .map(|path| pidfile::Location::find(path, root))
            .transpose()
            .map_err(|error| error.or_no_directory(owner()))?;
        let pid_file = pid_file.map(c_string).transpose()?;
        // The launcher removes a file a failed start left through the
        // directory the daemon uses, never by walking the path again (issue
        // 26 F). Nothing to remove where there is no launcher.
        let leftover = match attached {
            true => Ok(None),
            false => pid_location.as_ref().map(pidfile::Location::for_launcher).transpose(),
        }
        .map_err(|errno| Error::Sys {
            step: Step::Preflight,
            errno: crate::error::errno::Errno::of(errno),
        })?;
        let credentials = privileges::resolve(self.user.as_ref(), self.group.as_ref())?;
        let owner = log_owner(credentials.as_ref());
        let open_log = |path: &Option<PathBuf>| {
            let opened = path.as_deref().map(|path| logs::open(path, owner)).transpose();
            opened.map_err(|error| error.or_no_directory(self.user.as_ref().map(ToString::to_string)))
        };
        let devnull =
            fcntl::open(c"/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty()).map_err(|errno| {
                Error::Path {
                    step: Step::Stdio,
                    path: "/dev/null".into(),
                    errno: crate::error::errno::Errno::of(errno),
                }
            })?;
        let (mut program, notify) = program.unzip();
        // A lock held at the exec (the pid file's, or one handed to this
        // start) goes to the program, announced (steps/lock_handover.rs).
        if let Some(program) = program.as_mut()
            && (pid_file.is_some() || handed_lock.is_some())
        {
            program.announce_lock();
        }
        // With manual readiness, stdout and stderr go to the launcher until
        // `ready()` (an executed program reports by its exec instead).
        let (relay, relay_write) = match !attached && self.ready == Ready::Manual && program.is_none() {
            true => Relay::new().map(|(read, write)| (Some(read), Some(write))),
            false => Ok((None, None)),
        }
        .map_err(|errno| Error::Sys {
            step: Step::Preflight,
            errno: crate::error::errno::Errno::of(errno),
        })?;
        let launcher = Launcher {
            timeout: self.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT),
            double_fork: self.double_fork,
            ready: self.ready,
            paths: Paths {
                chroot: chroot.map(c_string).transpose()?,
                chdir: c_string(chdir)?,
                pid_file: pid_file.clone(),
                program: program.as_ref().map(|program: &Program| program.path().to_owned()),
            },
            relay,
            notify: notify.flatten(),
            leftover,
            children_before: None,
        };
        let daemon = Detach {
            // `mode_t` is 16 bits on macOS: the umask's 9 bits fit everywhere.
            umask: Mode::from_bits_truncate((self.umask & 0o777) as libc::mode_t),
            core_dumps: self.core_dumps,
            double_fork: self.double_fork,
            ready: self.ready,
            chroot_dir,
            chdir_dir,
            pid_file: pid_file.zip(pid_location),
            handed_lock,
            credentials,
            stdio: Stdio {
                devnull,
                stdout: open_log(&self.stdout)?,
                stderr: open_log(&self.stderr)?,
                relay: relay_write,
            },
            program,
            service_manager: ServiceManager::from_env(),
        };
        Ok(Plan { launcher, daemon })
    }
}

/// Who owns a log file the start creates, and may own one it finds
/// besides root: the daemon's user and group.
fn log_owner(credentials: Option<&Credentials>) -> logs::Owner {
    match credentials {
        Some(credentials) => logs::Owner { uid: credentials.uid(), gid: credentials.gid() },
        None => logs::Owner { uid: unistd::geteuid().as_raw(), gid: unistd::getegid().as_raw() },
    }
}
