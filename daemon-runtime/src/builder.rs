//! [`Daemon`]: the configuration of a start, and [`Running`], what the daemon holds.

use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::sd_notify::ready::Ready;
use crate::steps::pidfile::PidFile;
use crate::steps::privileges::Account;

/// How to turn the current process into a daemon: the same machinery as
/// `#[daemon]`, without the macro.
///
/// Every setter mirrors a key of the attribute and has the same default.
/// [`start`](Daemon::start) performs the steps in the order documented at the
/// crate root.
///
/// # Example
///
/// ```no_run
/// use daemon_runtime::Daemon;
///
/// let running = Daemon::new()
///     .umask(0o027)
///     .chdir("/")
///     .pid_file("/run/myd.pid")
///     .start()
///     .unwrap_or_else(|error| error.exit());
/// // Only the daemon gets here; the launcher has exited 0.
/// assert_eq!(running.pid_file(), Some(std::path::Path::new("/run/myd.pid")));
/// ```
#[derive(Debug, Clone)]
#[must_use = "a `Daemon` does nothing until `start` is called"]
pub struct Daemon {
    pub(crate) umask: u32,
    pub(crate) chdir: PathBuf,
    pub(crate) double_fork: bool,
    pub(crate) pid_file: Option<PathBuf>,
    pub(crate) close_fds: bool,
    pub(crate) keep_fds: Vec<RawFd>,
    pub(crate) user: Option<Account>,
    pub(crate) group: Option<Account>,
    pub(crate) chroot: Option<PathBuf>,
    pub(crate) core_dumps: bool,
    pub(crate) stdout: Option<PathBuf>,
    pub(crate) stderr: Option<PathBuf>,
    pub(crate) ready: Ready,
    pub(crate) ready_timeout: Option<Duration>,
    pub(crate) foreground: bool,
    pub(crate) reopen_logs_on: Option<Signal>,
}

/// The umask a daemon runs with unless told otherwise: `0o022`, systemd's
/// `UMask=` default (daemonize defaults to `0o027`). Not 0: a daemon's files
/// would be writable by every local user.
pub(crate) const DEFAULT_UMASK: u32 = 0o022;

impl Default for Daemon {
    fn default() -> Self {
        Daemon {
            umask: DEFAULT_UMASK,
            chdir: PathBuf::from("/"),
            double_fork: true,
            pid_file: None,
            close_fds: true,
            keep_fds: Vec::new(),
            user: None,
            group: None,
            chroot: None,
            core_dumps: true,
            stdout: None,
            stderr: None,
            ready: Ready::Auto,
            ready_timeout: None,
            foreground: false,
            reopen_logs_on: None,
        }
    }
}

impl Daemon {
    /// The defaults: umask `0o022` (files the daemon creates are not
    /// writable by others; `umask(0)` restores the old default), working directory `/`, double fork, every
    /// inherited descriptor closed, no pid file.
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new();
    /// # drop(daemon);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The file mode creation mask the daemon runs with (`0..=0o777`; bits
    /// above are ignored, as by `umask(2)`); `0o022` unless set. `umask(0)` gives files exactly the modes they are
    /// created with.
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().umask(0o027);
    /// # drop(daemon);
    /// ```
    pub fn umask(mut self, mask: u32) -> Self {
        self.umask = mask & 0o777;
        self
    }

    /// The working directory of the daemon. A relative path is taken against
    /// the launcher's working directory when [`start`](Daemon::start) is
    /// called. It is walked in the launcher (inside the [`chroot`](Daemon::chroot),
    /// if any) like the pid file's directory, and entered with `fchdir`; a
    /// symbolic link another user owns on the way fails the start (exit 78).
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().chdir("/var/lib/myd");
    /// # drop(daemon);
    /// ```
    pub fn chdir(mut self, dir: impl AsRef<Path>) -> Self {
        self.chdir = dir.as_ref().to_path_buf();
        self
    }

    /// Whether to fork a second time after `setsid`, so that the daemon is
    /// not a session leader and can never acquire a controlling terminal.
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().double_fork(false);
    /// # drop(daemon);
    /// ```
    pub fn double_fork(mut self, double_fork: bool) -> Self {
        self.double_fork = double_fork;
        self
    }

    /// A pid file, created `0644` and owned by the starting user, locked for
    /// the daemon's life on a read-only descriptor, holding its pid, removed
    /// when [`Running`] is dropped or the daemon dies of a terminating signal
    /// it does not handle. A second start while a live process holds its
    /// exclusive lock fails with "already running (pid N)"; a file locked by
    /// no live process (a shared lock, a lock-taker that exited) is replaced.
    /// A relative path is taken against the launcher's working directory.
    ///
    /// Its directory is walked in the launcher one component at a time: a
    /// symbolic link is followed only when root or the starting user owns it
    /// and the directory holding it (`/var/run` → `/run`). With a
    /// [`user`](Daemon::user), the daemon cannot remove the root-owned file
    /// when it exits unless it can write the directory: put the file in a
    /// directory that user owns (`/run/myd/myd.pid`, made by the package or
    /// by systemd's `RuntimeDirectory=`), or let [`stop`](crate::stop), run as
    /// root, remove it, as it does once the lock is free.
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().pid_file("/run/myd.pid");
    /// # drop(daemon);
    /// ```
    pub fn pid_file(mut self, path: impl AsRef<Path>) -> Self {
        self.pid_file = Some(path.as_ref().to_path_buf());
        self
    }

    /// Whether to close every inherited descriptor above 2 (except
    /// [`keep_fds`](Daemon::keep_fds) and the sockets a service manager
    /// passed). On by default.
    ///
    /// Inherited means without `FD_CLOEXEC`: a descriptor that has the flag
    /// was opened by this program (Rust opens every file, socket and pipe
    /// close-on-exec) and may be owned by one of its values, so it stays
    /// open. The start finds the open descriptors in `/proc/self/fd`
    /// (`/dev/fd` on macOS), at the cost of what is open.
    ///
    /// The contract this relies on: a descriptor the program opened
    /// *without* `FD_CLOEXEC` and still owns (from C code, or nix's `dup`)
    /// must be listed in `keep_fds`, or opened after the start. Where no
    /// listing can be read (FreeBSD without fdescfs, Linux without `/proc`),
    /// every descriptor above 2 not kept is closed: there, open what the
    /// daemon needs after the start, or keep it.
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().close_fds(false);
    /// # drop(daemon);
    /// ```
    pub fn close_fds(mut self, close_fds: bool) -> Self {
        self.close_fds = close_fds;
        self
    }

    /// Inherited descriptors that stay open in the daemon (for example a
    /// listening socket passed by a supervisor). Values below 3 are ignored:
    /// stdio is always redirected. Sockets passed with `LISTEN_FDS` to this
    /// process are kept without being listed (see [`listen_fds`](crate::listen_fds)).
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().keep_fds([3, 4]);
    /// # drop(daemon);
    /// ```
    pub fn keep_fds(mut self, fds: impl IntoIterator<Item = RawFd>) -> Self {
        self.keep_fds.extend(fds.into_iter().filter(|&fd| fd > 2));
        self
    }

    /// The user the daemon runs as: a name, or a numeric uid (which needs no
    /// passwd entry). Resolved before forking; the switch happens after the
    /// pid file is created: `setgroups` (the user's groups, never root's),
    /// `setgid`, `setuid`, then proof that `setuid(0)` fails. Only root can
    /// switch; anyone else gets `EPERM` before anything is forked.
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().user("nobody").group(65534);
    /// # drop(daemon);
    /// ```
    pub fn user(mut self, user: impl Into<Account>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The group the daemon runs as (default: the user's primary group).
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().group("nogroup");
    /// # drop(daemon);
    /// ```
    pub fn group(mut self, group: impl Into<Account>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// A directory to `chroot` into before dropping privileges; the
    /// working directory and the pid file are then taken inside it.
    /// `/dev/null` and the log files are opened before.
    ///
    /// As sshd's `ChrootDirectory`, every directory of the path, itself
    /// included, must be owned by root and writable by no one else (sticky
    /// directories such as `/tmp` excepted), or the start fails (exit 78):
    /// a user who could rename one could swap the jail for a link to `/`.
    /// It is walked once in the launcher and entered with `fchdir` and
    /// `chroot(".")`.
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().chroot("/srv/jail");
    /// # drop(daemon);
    /// ```
    pub fn chroot(mut self, dir: impl AsRef<Path>) -> Self {
        self.chroot = Some(dir.as_ref().to_path_buf());
        self
    }

    /// `false` sets `RLIMIT_CORE` to 0, so a crash cannot write memory (keys,
    /// passwords) to a core file (PEP 3143's `prevent_core`).
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().core_dumps(false);
    /// # drop(daemon);
    /// ```
    pub fn core_dumps(mut self, core_dumps: bool) -> Self {
        self.core_dumps = core_dumps;
        self
    }

    /// A file that receives the daemon's standard output instead of
    /// `/dev/null`: appended to, created `0o640`, opened by the launcher
    /// (before any `chroot` or privilege drop).
    ///
    /// Opened with the pid file's care: its directory walked without
    /// following a link another user owns, the file opened
    /// `O_NOFOLLOW|O_NONBLOCK`, and it must be a regular file with one link
    /// owned by root or the daemon's [`user`](Daemon::user). A symbolic
    /// link, a FIFO, a hard link or another user's file fails the start
    /// (exit 73), so a log directory its user can write cannot point root at
    /// `/etc/shadow`.
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().stdout("/var/log/myd.out");
    /// # drop(daemon);
    /// ```
    pub fn stdout(mut self, path: impl AsRef<Path>) -> Self {
        self.stdout = Some(path.as_ref().to_path_buf());
        self
    }

    /// A file that receives the daemon's standard error (and so its panic
    /// messages), like [`stdout`](Daemon::stdout).
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().stderr("/var/log/myd.err");
    /// # drop(daemon);
    /// ```
    pub fn stderr(mut self, path: impl AsRef<Path>) -> Self {
        self.stderr = Some(path.as_ref().to_path_buf());
        self
    }

    /// When the launcher returns: see [`Ready`].
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().ready(daemon_runtime::Ready::Manual);
    /// # drop(daemon);
    /// ```
    pub fn ready(mut self, ready: Ready) -> Self {
        self.ready = ready;
        self
    }

    /// How long the launcher waits for the daemon's report (default 60 s):
    /// then it kills the daemon's process group, removes a pid file left
    /// behind, and fails with "not ready after ...".
    ///
    /// ```
    /// let daemon = daemon_runtime::Daemon::new().ready_timeout(std::time::Duration::from_secs(30));
    /// # drop(daemon);
    /// ```
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = Some(timeout);
        self
    }

    /// `true` skips the forks, `setsid` and the stdio redirection, but still
    /// does the rest (umask, chdir, pid file, privileges): for debugging, and
    /// for service managers that want a foreground process.
    ///
    /// ```
    /// let foreground = std::env::args().any(|arg| arg == "--foreground");
    /// let daemon = daemon_runtime::Daemon::new().foreground(foreground);
    /// # drop(daemon);
    /// ```
    pub fn foreground(mut self, foreground: bool) -> Self {
        self.foreground = foreground;
        self
    }

    /// Reopens the [`stdout`](Daemon::stdout) and [`stderr`](Daemon::stderr)
    /// files on `signal` (SIGHUP, as logrotate's `postrotate` sends it),
    /// without the program's help: what [`reopen_logs`](crate::reopen_logs)
    /// does, run by the runtime. A server blocked in `accept()` needs no
    /// loop of its own; its next line lands in the new file.
    ///
    /// The handler only writes a byte to a pipe (async-signal-safe); a
    /// thread the daemon starts once its steps are done (after the last
    /// fork, so the start stays single-threaded) reads it and reopens. A
    /// reopening that fails keeps the old files and prints `error: reopen
    /// logs: <cause>` on the old standard error. The signal no longer ends
    /// the daemon; a handler the program installs later for it replaces
    /// this one. For [`start`](Daemon::start) and
    /// [`start_with`](Daemon::start_with); an executed program
    /// ([`exec`](Daemon::exec)) handles its own signals, and this does
    /// nothing there.
    ///
    /// ```no_run
    /// let running = daemon_runtime::Daemon::new()
    ///     .stdout("/var/log/myd.log")
    ///     .reopen_logs_on(daemon_runtime::Signal::SIGHUP)
    ///     .start()
    ///     .unwrap_or_else(|error| error.exit());
    /// # drop(running);
    /// ```
    pub fn reopen_logs_on(mut self, signal: Signal) -> Self {
        self.reopen_logs_on = Some(signal);
        self
    }
}

/// What the daemon holds while it runs: returned by [`Daemon::start`] in the
/// daemon process only. Dropping it sends `STOPPING=1` to a service manager
/// (`$NOTIFY_SOCKET`) and removes and unlocks the pid file, so keep
/// it alive until the daemon's work is done (`#[daemon]` holds it for the whole
/// of `main`).
///
/// ```no_run
/// let running = daemon_runtime::Daemon::new().start().unwrap_or_else(|e| e.exit());
/// // ... the daemon's work ...
/// drop(running);
/// ```
#[derive(Debug)]
#[must_use = "dropping `Running` removes the pid file at once"]
pub struct Running {
    pub(crate) pid_file: Option<PidFile>,
}

impl Drop for Running {
    /// `STOPPING=1` to the service manager, then the pid file goes.
    fn drop(&mut self) {
        // After an upgrade, the new process is the service's main process.
        if !crate::upgrade::state::handed_over() {
            crate::sd_notify::send::notify_stopping();
        }
    }
}

impl Running {
    /// What a start returns in the daemon: the pid file's lock descriptor
    /// is remembered for an [`Upgrade`](crate::Upgrade).
    pub(crate) fn new(pid_file: Option<PidFile>) -> Running {
        if let Some(fd) = pid_file.as_ref().and_then(PidFile::descriptor) {
            crate::upgrade::state::remember_lock(std::os::fd::AsRawFd::as_raw_fd(&fd));
        }
        Running { pid_file }
    }

    /// The pid file this daemon holds locked, if one was configured.
    ///
    /// ```no_run
    /// let running = daemon_runtime::Daemon::new().pid_file("/run/x.pid").start().unwrap();
    /// println!("{:?}", running.pid_file());
    /// ```
    pub fn pid_file(&self) -> Option<&Path> {
        self.pid_file.as_ref().map(PidFile::path)
    }
}
