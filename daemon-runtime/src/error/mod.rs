//! [`Error`]: why a start failed, as the launcher prints it, and its exit
//! code; and [`Failure`], what a step reports from a forked process before
//! the launcher names the configured paths in an [`Error`].

pub(crate) mod errno;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::errno::Errno;
use crate::sysexits;

/// A step of the detachment sequence, in the order the steps run.
///
/// The launcher names the step that failed in its message
/// (`error: <step>: <cause>`), so a failure is located at a glance.
///
/// ```
/// assert_eq!(daemon_runtime::Step::PidFile.to_string(), "pid file");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum Step {
    /// Checks in the launching process: one thread, paths, `/dev/null`, the report pipe.
    Preflight,
    /// Closing inherited descriptors.
    CloseFds,
    /// Resetting signal dispositions and the signal mask.
    Signals,
    /// The first `fork`.
    Fork,
    /// `setsid`: a new session without a controlling terminal.
    Setsid,
    /// The second `fork`, after which the daemon is no session leader.
    SecondFork,
    /// Standard input, output and error onto `/dev/null` or the log files.
    Stdio,
    /// Resource limits (`core_dumps = false`).
    Limits,
    /// Entering the new root directory.
    Chroot,
    /// Entering the working directory.
    Chdir,
    /// Creating, locking and writing the pid file.
    PidFile,
    /// Looking up the user, in the launcher.
    User,
    /// Looking up the group, in the launcher.
    Group,
    /// The `init` function given to [`start_with`](crate::Daemon::start_with).
    Init,
    /// `setgroups`, `setgid`, `setuid`, and the proof that they hold.
    Privileges,
    /// Executing the program of [`Daemon::exec`](crate::Daemon::exec).
    Exec,
    /// Waiting for the daemon's report.
    Report,
    /// Waiting for the daemon to call [`ready`](crate::ready) in time.
    Ready,
    /// Connecting to the syslog socket `daemon-run --stdout syslog:…`
    /// sends PROGRAM's lines to; never a step of the runtime's own.
    Syslog,
    /// Starting the new executable of an [`Upgrade`](crate::Upgrade), in
    /// the running daemon.
    Upgrade,
}

impl Step {
    /// The step's number on the report pipe between the daemon and the
    /// launcher (its `#[repr(u8)]` discriminant).
    pub(crate) fn wire(self) -> u8 {
        self as u8
    }

    /// The step whose [`wire`](Step::wire) number is `value`, if any.
    pub(crate) fn from_wire(value: u8) -> Option<Step> {
        Some(match value {
            _ if value == Step::Preflight as u8 => Step::Preflight,
            _ if value == Step::CloseFds as u8 => Step::CloseFds,
            _ if value == Step::Signals as u8 => Step::Signals,
            _ if value == Step::Fork as u8 => Step::Fork,
            _ if value == Step::Setsid as u8 => Step::Setsid,
            _ if value == Step::SecondFork as u8 => Step::SecondFork,
            _ if value == Step::Stdio as u8 => Step::Stdio,
            _ if value == Step::Limits as u8 => Step::Limits,
            _ if value == Step::Chroot as u8 => Step::Chroot,
            _ if value == Step::Chdir as u8 => Step::Chdir,
            _ if value == Step::PidFile as u8 => Step::PidFile,
            _ if value == Step::User as u8 => Step::User,
            _ if value == Step::Group as u8 => Step::Group,
            _ if value == Step::Init as u8 => Step::Init,
            _ if value == Step::Privileges as u8 => Step::Privileges,
            _ if value == Step::Exec as u8 => Step::Exec,
            _ if value == Step::Report as u8 => Step::Report,
            _ if value == Step::Ready as u8 => Step::Ready,
            _ if value == Step::Syslog as u8 => Step::Syslog,
            _ if value == Step::Upgrade as u8 => Step::Upgrade,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Step::Preflight => "preflight",
            Step::CloseFds => "close fds",
            Step::Signals => "signals",
            Step::Fork => "fork",
            Step::Setsid => "setsid",
            Step::SecondFork => "second fork",
            Step::Stdio => "stdio",
            Step::Limits => "limits",
            Step::Chroot => "chroot",
            Step::Chdir => "chdir",
            Step::PidFile => "pid file",
            Step::User => "user",
            Step::Group => "group",
            Step::Init => "init",
            Step::Privileges => "privileges",
            Step::Exec => "exec",
            Step::Report => "report",
            Step::Ready => "ready",
            Step::Syslog => "syslog",
            Step::Upgrade => "upgrade",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a start failed.
///
/// `Display` gives the `<step>: <cause>` text that the launcher prints after
/// `error: `; [`exit_code`](Error::exit_code) the sysexits code it exits with.
///
/// ```
/// use daemon_runtime::{Error, Step};
/// use std::path::PathBuf;
///
/// let error = Error::AlreadyRunning { path: PathBuf::from("/run/myd.pid"), pid: Some(4242) };
/// assert_eq!(error.to_string(), "pid file: /run/myd.pid: already running (pid 4242)");
/// assert_eq!(error.exit_code(), daemon_runtime::sysexits::EX_TEMPFAIL);
/// assert_eq!(error.step(), Step::PidFile);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The launching process runs more than one thread: forking it would
    /// leave the daemon with locks held by threads that no longer exist.
    Threads {
        /// How many threads `/proc/self/task` listed.
        count: usize,
    },
    /// A system call failed.
    Sys {
        /// The step it belongs to.
        step: Step,
        /// What the kernel said.
        errno: Errno,
    },
    /// A system call on a configured path failed.
    Path {
        /// The step it belongs to.
        step: Step,
        /// The path, as configured (made absolute).
        path: PathBuf,
        /// What the kernel said.
        errno: Errno,
    },
    /// Something other than a regular file, or a hard-linked file, or a file
    /// of another owner, is at the pid file's path: it is never written.
    PidFileRefused {
        /// The pid file's path.
        path: PathBuf,
        /// Why it was refused.
        reason: Refusal,
    },
    /// A log file, the chroot or the working directory was refused: root
    /// would have opened something another user controls.
    Refused {
        /// [`Step::Stdio`], [`Step::Chroot`] or [`Step::Chdir`].
        step: Step,
        /// The path, as configured (made absolute).
        path: PathBuf,
        /// Why it was refused.
        reason: Refusal,
    },
    /// The directory of the pid file or a log file does not exist: the
    /// message says how to create it.
    ///
    /// ```
    /// let error = daemon_runtime::Error::NoDirectory {
    ///     step: daemon_runtime::Step::PidFile,
    ///     path: "/run/echod".into(),
    ///     owner: Some("nobody".into()),
    /// };
    /// assert_eq!(
    ///     error.to_string(),
    ///     "pid file: directory /run/echod does not exist (create it owned by nobody: \
    ///      `install -d -o nobody /run/echod`, or systemd `RuntimeDirectory=`)"
    /// );
    /// assert_eq!(error.exit_code(), daemon_runtime::sysexits::EX_CANTCREAT);
    /// ```
    NoDirectory {
        /// [`Step::PidFile`] or [`Step::Stdio`].
        step: Step,
        /// The directory, as configured (made absolute).
        path: PathBuf,
        /// The user the daemon runs as, when it switches: the directory's
        /// owner it needs, to remove its pid file or reopen its logs.
        owner: Option<String>,
    },
    /// Another process holds the pid file's lock.
    AlreadyRunning {
        /// The pid file's path.
        path: PathBuf,
        /// The pid the file names, when it could be read.
        pid: Option<u32>,
    },
    /// The pid file's lock is held, but by a process that cannot be told
    /// from here: one outside this pid namespace (`/proc/locks` lists no
    /// holder, or one that no process this namespace shows still is), or
    /// one this user may not inspect. Neither "already running (pid N)"
    /// nor free; the file is never replaced (issue 26, item E).
    LockedUnseen {
        /// The pid file's path.
        path: PathBuf,
        /// Who holds it, as far as can be said ("a process this pid
        /// namespace cannot see").
        holder: &'static str,
    },
    /// No user or group of that name exists.
    NoSuchAccount {
        /// [`Step::User`] or [`Step::Group`].
        step: Step,
        /// The name as configured.
        name: String,
    },
    /// Looking up a user or group, or switching to it, failed (`EPERM`: only
    /// root can switch).
    Account {
        /// [`Step::User`] or [`Step::Group`].
        step: Step,
        /// The name or id as configured.
        name: String,
        /// What the system said.
        errno: Errno,
    },
    /// After dropping privileges, `setuid(0)`, `setresuid(0, 0, 0)` or
    /// `setgid(0)` succeeded: the drop would not hold, so the daemon refused to run.
    RootRegained,
    /// The daemon did not report ready within the timeout: its process group
    /// was killed and a pid file it left removed.
    NotReady {
        /// The timeout that expired.
        timeout: std::time::Duration,
        /// Whether the launcher was waiting for the body to call
        /// [`ready`](crate::ready) ([`Ready::Manual`](crate::Ready::Manual)),
        /// which the message then names.
        manual: bool,
    },
    /// The `init` function returned an error.
    Init {
        /// Its `Display` text.
        message: String,
    },
    /// The process is PID 1 of its namespace (a container's entry point):
    /// when the launcher exits, the kernel kills everything in it, the
    /// daemon included. Run in the foreground instead.
    Pid1,
    /// The configuration asks for something this platform lacks (a
    /// systemd notification socket off Linux, say): refused before
    /// anything is forked, rather than done differently.
    ///
    /// ```
    /// let error = daemon_runtime::Error::Unsupported { step: daemon_runtime::Step::Preflight, what: "pidfds" };
    /// assert_eq!(error.to_string(), format!("preflight: pidfds: not supported on {}", std::env::consts::OS));
    /// ```
    Unsupported {
        /// The step that needs it.
        step: Step,
        /// What is missing.
        what: &'static str,
    },
    /// A descriptor listed in `keep_fds` is not open: the daemon would
    /// start without what it was meant to keep (a socket, say).
    ///
    /// ```
    /// let error = daemon_runtime::Error::NotOpen { fd: 7 };
    /// assert_eq!(error.to_string(), "close fds: descriptor 7 is to be kept (keep_fds) but is not open");
    /// assert_eq!(error.exit_code(), daemon_runtime::sysexits::EX_CONFIG);
    /// ```
    NotOpen {
        /// The descriptor's number.
        fd: std::os::fd::RawFd,
    },
    /// `LISTEN_PID` names this process but `LISTEN_FDS` does not describe
    /// its descriptors: not a count from 1 to `i32::MAX - 3`, or a count
    /// whose descriptors `3 .. 3 + count` are not all open. sd_listen_fds(3)
    /// fails the same way (`EINVAL`, `EBADF`); a start that went on would
    /// keep strays as sockets, and could put its own pid file's lock
    /// among them.
    ///
    /// ```
    /// let error = daemon_runtime::Error::ListenFds { value: "3".into(), missing: Some(4) };
    /// assert_eq!(
    ///     error.to_string(),
    ///     "close fds: LISTEN_FDS=3 announces descriptors 3 to 5, but 4 is not open"
    /// );
    /// assert_eq!(error.exit_code(), daemon_runtime::sysexits::EX_CONFIG);
    /// ```
    ListenFds {
        /// `LISTEN_FDS` as it was set.
        value: String,
        /// The first announced descriptor that is not open; `None` when the
        /// value is no valid count.
        missing: Option<std::os::fd::RawFd>,
    },
    /// This process already became a daemon (or ran the steps in the
    /// foreground): `start`, `start_with` and `exec` are for once per
    /// process. A second start would detach again, as a launcher, and the
    /// new daemon would run without the first one's pid file lock.
    ///
    /// ```
    /// let error = daemon_runtime::Error::AlreadyStarted;
    /// assert_eq!(error.exit_code(), daemon_runtime::sysexits::EX_SOFTWARE);
    /// ```
    AlreadyStarted,
    /// A program executed with [`Daemon::exec_notify`](crate::Daemon::exec_notify)
    /// (`daemon-run --ready notify`) reported ready without holding the pid
    /// file's lock it inherited (it closed the descriptor `DAEMON_LOCK_FD`
    /// names, as a program that closes what it inherits does; a program
    /// built on this crate keeps it): `status` and `stop` would not find
    /// it, so it was stopped and the file removed.
    ///
    /// ```
    /// let error = daemon_runtime::Error::LockReleased { path: "/run/d.pid".into(), pid: 42 };
    /// assert_eq!(error.exit_code(), daemon_runtime::sysexits::EX_SOFTWARE);
    /// assert!(error.to_string().starts_with("pid file: /run/d.pid: the program (pid 42) released its lock"));
    /// ```
    LockReleased {
        /// The pid file as configured.
        path: PathBuf,
        /// The program's pid.
        pid: u32,
    },
    /// The daemon ended before it reported that it was ready.
    Died {
        /// How the launcher's child ended, when it was the one that died.
        status: Option<String>,
    },
    /// An [`Upgrade`](crate::Upgrade) was asked for while another one of
    /// this process is still waiting for its new process: at most one runs
    /// at a time.
    ///
    /// ```
    /// let error = daemon_runtime::Error::UpgradeInProgress;
    /// assert_eq!(error.to_string(), "upgrade: another upgrade of this daemon is in progress");
    /// assert_eq!(error.exit_code(), daemon_runtime::sysexits::EX_TEMPFAIL);
    /// ```
    UpgradeInProgress,
    /// An [`Upgrade`](crate::Upgrade) was asked for after this process had
    /// already handed its sockets and pid file over to a new one.
    ///
    /// ```
    /// let error = daemon_runtime::Error::HandedOver { pid: 4242 };
    /// assert_eq!(error.to_string(), "upgrade: this daemon has handed over to pid 4242 already");
    /// assert_eq!(error.exit_code(), daemon_runtime::sysexits::EX_SOFTWARE);
    /// ```
    HandedOver {
        /// The process that took over.
        pid: u32,
    },
}

/// Why an existing file at the pid file's path was refused.
///
/// ```
/// let reason = daemon_runtime::Refusal::NotRegular;
/// assert_eq!(reason.to_string(), "not a regular file");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// A symbolic link: never followed, whatever it points to.
    SymbolicLink,
    /// A directory, FIFO, socket or device.
    NotRegular,
    /// A file with more than one hard link: writing it would write elsewhere too.
    Linked {
        /// The number of links.
        links: u64,
    },
    /// A directory on the way to the file is a symbolic link owned by
    /// another user than root or the one starting the daemon.
    UntrustedSymlink {
        /// The link's owner.
        uid: u32,
    },
    /// A file owned by another user than the one starting the daemon.
    Foreign {
        /// The owner's uid.
        uid: u32,
    },
    /// A symbolic link on the way lies in a directory of another user, who
    /// could have hard-linked it there.
    ForeignDirectory {
        /// The directory's owner.
        uid: u32,
    },
    /// A log file owned by neither root nor the daemon's user.
    UntrustedOwner {
        /// The owner's uid.
        uid: u32,
    },
    /// A directory of a chroot not owned by root.
    NotRootOwned {
        /// The owner's uid.
        uid: u32,
    },
    /// A directory of a chroot writable by group or others (and not sticky).
    WritableByOthers,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::SymbolicLink => f.write_str("is a symbolic link, refusing to follow it"),
            Refusal::NotRegular => f.write_str("not a regular file"),
            Refusal::Linked { links } => write!(f, "has {links} hard links, refusing to write it"),
            Refusal::UntrustedSymlink { uid } => {
                write!(f, "a parent directory is a symbolic link owned by uid {uid}, refusing to follow it")
            }
            Refusal::Foreign { uid } => {
                write!(f, "owned by uid {uid}, not by the user starting the daemon, refusing to write it")
            }
            Refusal::ForeignDirectory { uid } => write!(
                f,
                "a symbolic link on the way lies in a directory owned by uid {uid}, refusing to follow it"
            ),
            Refusal::UntrustedOwner { uid } => {
                write!(f, "owned by uid {uid}, neither root nor the daemon's user, refusing to write it")
            }
            Refusal::NotRootOwned { uid } => {
                write!(f, "a directory on the way is owned by uid {uid}, not root, refusing to use it")
            }
            Refusal::WritableByOthers => {
                f.write_str("a directory on the way is writable by group or others, refusing to use it")
            }
        }
    }
}

impl Error {
    /// A pid or log file whose directory is missing (`ENOENT` from the
    /// walk to it: the file itself is created) as [`Error::NoDirectory`],
    /// naming `owner` (the daemon's user); any other error as it is.
    pub(crate) fn or_no_directory(self, owner: Option<String>) -> Error {
        match self {
            Error::Path { step: step @ (Step::PidFile | Step::Stdio), path, errno }
                if errno.raw() == libc::ENOENT =>
            {
                let path = path.parent().map_or(path.clone(), Path::to_path_buf);
                Error::NoDirectory { step, path, owner }
            }
            error => error,
        }
    }

    /// The step that failed.
    ///
    /// ```
    /// let error = daemon_runtime::Error::Threads { count: 3 };
    /// assert_eq!(error.step(), daemon_runtime::Step::Preflight);
    /// ```
    pub fn step(&self) -> Step {
        match self {
            Error::Threads { .. } => Step::Preflight,
            Error::Sys { step, .. }
            | Error::Path { step, .. }
            | Error::NoDirectory { step, .. }
            | Error::Refused { step, .. }
            | Error::Unsupported { step, .. } => *step,
            Error::PidFileRefused { .. }
            | Error::AlreadyRunning { .. }
            | Error::LockReleased { .. }
            | Error::LockedUnseen { .. } => Step::PidFile,
            Error::Died { .. } => Step::Report,
            Error::NoSuchAccount { step, .. } | Error::Account { step, .. } => *step,
            Error::RootRegained => Step::Privileges,
            Error::Pid1 | Error::AlreadyStarted => Step::Preflight,
            Error::NotOpen { .. } | Error::ListenFds { .. } => Step::CloseFds,
            Error::Init { .. } => Step::Init,
            Error::NotReady { .. } => Step::Ready,
            Error::UpgradeInProgress | Error::HandedOver { .. } => Step::Upgrade,
        }
    }

    /// The `errno` a system call failed with, for the errors that carry
    /// one ([`Error::Sys`], [`Error::Path`], [`Error::Account`]), as
    /// [`std::io::Error::raw_os_error`] gives it.
    ///
    /// ```
    /// use daemon_runtime::{Errno, Error, Step};
    /// let error = Error::Sys { step: Step::Fork, errno: Errno::from_raw(libc::EAGAIN) };
    /// assert_eq!(error.raw_os_error(), Some(libc::EAGAIN));
    /// assert_eq!(Error::Pid1.raw_os_error(), None);
    /// ```
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Sys { errno, .. } | Error::Path { errno, .. } | Error::Account { errno, .. } => {
                Some(errno.raw())
            }
            _ => None,
        }
    }

    /// The exit code the launcher ends with: see [`sysexits`](crate::sysexits).
    ///
    /// ```
    /// let error = daemon_runtime::Error::Threads { count: 3 };
    /// assert_eq!(error.exit_code(), 71);
    /// ```
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::AlreadyRunning { .. } | Error::UpgradeInProgress => sysexits::EX_TEMPFAIL,
            Error::LockedUnseen { .. } => sysexits::EX_OSFILE,
            Error::HandedOver { .. } => sysexits::EX_SOFTWARE,
            Error::PidFileRefused { .. } | Error::NoDirectory { .. } => sysexits::EX_CANTCREAT,
            Error::Refused { step: Step::Chroot | Step::Chdir, .. } => sysexits::EX_CONFIG,
            Error::Refused { .. } => sysexits::EX_CANTCREAT,
            Error::Died { .. }
            | Error::NotReady { .. }
            | Error::AlreadyStarted
            | Error::LockReleased { .. } => sysexits::EX_SOFTWARE,
            Error::NotOpen { .. } | Error::ListenFds { .. } => sysexits::EX_CONFIG,
            Error::NoSuchAccount { .. } => sysexits::EX_NOUSER,
            Error::Account { errno, .. } if errno.raw() == libc::EPERM => sysexits::EX_NOPERM,
            Error::Account { .. } | Error::RootRegained => sysexits::EX_OSERR,
            Error::Sys { step: Step::Privileges, errno } if errno.raw() == libc::EPERM => sysexits::EX_NOPERM,
            Error::Path { step: Step::Chroot, .. } => sysexits::EX_CONFIG,
            Error::Path { step: Step::Stdio | Step::Syslog, .. } => sysexits::EX_CANTCREAT,
            Error::Threads { .. } => sysexits::EX_OSERR,
            Error::Pid1 | Error::Unsupported { .. } => sysexits::EX_CONFIG,
            Error::Init { .. } => sysexits::EX_UNAVAILABLE,
            Error::Path { step: Step::Exec, errno, .. } => exec_exit_code(errno.nix()),
            Error::Path { step: Step::Chdir, .. } => sysexits::EX_CONFIG,
            Error::Path { step: Step::PidFile, .. } => sysexits::EX_CANTCREAT,
            Error::Path { .. } | Error::Sys { .. } => sysexits::EX_OSERR,
        }
    }

    /// Prints `error: <self>` on standard error and exits with
    /// [`exit_code`](Error::exit_code): what the launcher of `#[daemon]` does.
    ///
    /// ```no_run
    /// let running = daemon_runtime::Daemon::new().start().unwrap_or_else(|e| e.exit());
    /// # drop(running);
    /// ```
    pub fn exit(&self) -> ! {
        use std::io::Write;
        // Best effort: a full or closed stderr must not turn the documented
        // code into a panic (`eprintln!` panics when the write fails).
        // One write: the line reaches stderr whole or not at all.
        let _ = std::io::stderr().lock().write_all(format!("error: {self}\n").as_bytes());
        std::process::exit(self.exit_code())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = self.step();
        match self {
            Error::Threads { count } => write!(
                f,
                "{step}: {count} threads are running; a process must be single-threaded to \
                 fork safely (start the daemon before spawning threads or an async runtime)"
            ),
            Error::Sys { errno, .. } => write!(f, "{step}: {}", os_error(*errno)),
            Error::Path { path, errno, .. } => {
                write!(f, "{step}: {}: {}", path.display(), os_error(*errno))
            }
            Error::PidFileRefused { path, reason } | Error::Refused { path, reason, .. } => {
                write!(f, "{step}: {}: {reason}", path.display())
            }
            Error::NoDirectory { path, owner, .. } => {
                let dir = path.display();
                match owner {
                    Some(user) => write!(
                        f,
                        "{step}: directory {dir} does not exist (create it owned by {user}: \
                         `install -d -o {user} {dir}`"
                    )?,
                    None => {
                        write!(f, "{step}: directory {dir} does not exist (create it: `install -d {dir}`")?
                    }
                }
                // The systemd unit setting that creates it, where one does.
                let settings = [
                    ("/run/", "RuntimeDirectory="),
                    ("/var/log/", "LogsDirectory="),
                    ("/var/lib/", "StateDirectory="),
                ];
                match settings.into_iter().find(|(prefix, _)| path.starts_with(prefix)) {
                    Some((_, setting)) => write!(f, ", or systemd `{setting}`)"),
                    None => write!(f, ")"),
                }
            }
            Error::AlreadyRunning { path, pid: Some(pid) } => {
                write!(f, "{step}: {}: already running (pid {pid})", path.display())
            }
            Error::AlreadyRunning { path, pid: None } => {
                write!(f, "{step}: {}: already running (the file is locked)", path.display())
            }
            Error::LockedUnseen { path, holder } => {
                write!(f, "{step}: {}: locked by {holder}", path.display())
            }
            Error::Died { status: Some(status) } => {
                write!(f, "{step}: the daemon {status} before it was ready")
            }
            Error::Unsupported { what, .. } => {
                write!(f, "{step}: {what}: not supported on {}", std::env::consts::OS)
            }
            Error::NoSuchAccount { name, .. } => write!(f, "{step}: {name}: no such {step}"),
            Error::Account { name, errno, .. } => write!(f, "{step}: {name}: {}", os_error(*errno)),
            Error::RootRegained => {
                write!(f, "{step}: root could be regained after dropping privileges; refusing to run")
            }
            Error::Init { message } => write!(f, "{step}: {message}"),
            Error::Pid1 => write!(
                f,
                "{step}: this process is PID 1 of its namespace; detaching would end the namespace \
                 and the daemon with it (run in the foreground: `foreground = daemon_runtime::supervised()`)"
            ),
            Error::NotOpen { fd } => {
                write!(f, "{step}: descriptor {fd} is to be kept (keep_fds) but is not open")
            }
            Error::ListenFds { value, missing: Some(fd) } => {
                let last = value.parse::<i64>().map_or(0, |count| count + 2);
                write!(
                    f,
                    "{step}: LISTEN_FDS={value} announces descriptors 3 to {last}, but {fd} is not open"
                )
            }
            Error::ListenFds { value, missing: None } => write!(
                f,
                "{step}: LISTEN_FDS={value:?} is not a count of descriptors from 1 to {}",
                i32::MAX - 3
            ),
            Error::AlreadyStarted => write!(
                f,
                "{step}: this process was already started as a daemon; start, start_with and exec \
                 may be called once per process"
            ),
            Error::NotReady { timeout, manual: false } => {
                write!(f, "{step}: not ready after {}", seconds(*timeout))
            }
            Error::NotReady { timeout, manual: true } => write!(
                f,
                "{step}: not ready after {}: the body did not call `daemon_runtime::ready()`",
                seconds(*timeout)
            ),
            Error::LockReleased { path, pid } => write!(
                f,
                "{step}: {}: the program (pid {pid}) released its lock before it was ready, so status and \
                 stop would not find it; it was stopped (it closed the lock's descriptor, named by \
                 $DAEMON_LOCK_FD: keep it open)",
                path.display()
            ),
            Error::Died { status: None } => {
                write!(f, "{step}: the daemon exited before it was ready")
            }
            Error::UpgradeInProgress => write!(f, "{step}: another upgrade of this daemon is in progress"),
            Error::HandedOver { pid } => {
                write!(f, "{step}: this daemon has handed over to pid {pid} already")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Sys { errno, .. } | Error::Path { errno, .. } | Error::Account { errno, .. } => {
                Some(errno)
            }
            _ => None,
        }
    }
}

impl From<Error> for std::io::Error {
    /// An [`std::io::Error`] whose kind is the `errno`'s where there is one
    /// (`NotFound` for `ENOENT`), else the closest ([`Error::NotReady`]:
    /// `TimedOut`; a missing directory or account: `NotFound`;
    /// [`Error::Unsupported`]: `Unsupported`; `Other` for the rest), and
    /// whose message is the error's `<step>: <cause>` line. The error itself
    /// is its [`get_ref`](std::io::Error::get_ref), and its `errno` stays
    /// reachable through [`Error::raw_os_error`].
    ///
    /// ```
    /// use daemon_runtime::{Errno, Error, Step};
    /// let error = Error::Path { step: Step::Chdir, path: "/srv/x".into(), errno: Errno::from_raw(libc::ENOENT) };
    /// let io = std::io::Error::from(error);
    /// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    /// assert!(io.to_string().starts_with("chdir: /srv/x: No such file or directory"));
    /// let inner = io.get_ref().and_then(|inner| inner.downcast_ref::<Error>()).unwrap();
    /// assert_eq!(inner.raw_os_error(), Some(libc::ENOENT));
    /// ```
    fn from(error: Error) -> std::io::Error {
        use std::io::ErrorKind;
        let kind = match (&error, error.raw_os_error()) {
            (_, Some(raw)) => std::io::Error::from_raw_os_error(raw).kind(),
            (Error::NotReady { .. }, None) => ErrorKind::TimedOut,
            (Error::NoDirectory { .. } | Error::NoSuchAccount { .. }, None) => ErrorKind::NotFound,
            (Error::Unsupported { .. }, None) => ErrorKind::Unsupported,
            _ => ErrorKind::Other,
        };
        std::io::Error::new(kind, error)
    }
}

/// The shell's codes for a program that could not be executed: 127 when
/// it is missing, 126 when it is there but cannot be run.
pub(crate) fn exec_exit_code(errno: nix::errno::Errno) -> i32 {
    if errno == nix::errno::Errno::ENOENT { 127 } else { 126 }
}

/// The kernel's words for `errno`, as `std::io::Error` renders them
/// ("No such file or directory (os error 2)").
fn os_error(errno: Errno) -> std::io::Error {
    std::io::Error::from(errno)
}

/// `30s`, `1.5s` or `500ms`: the units `ready_timeout` is written in, to
/// the millisecond. Integers only: `{}` of an `f64` would link float
/// formatting (some 20 KiB) into every daemon.
fn seconds(duration: std::time::Duration) -> String {
    match (duration.subsec_millis(), duration.as_secs()) {
        (0, secs) => format!("{secs}s"),
        (millis, 0) => format!("{millis}ms"),
        (millis, secs) => {
            let fraction = format!("{millis:03}");
            format!("{secs}.{}s", fraction.trim_end_matches('0'))
        }
    }
}

/// What went wrong in a forked process: `Copy`, no heap, so it can cross the
/// pipe. The launcher turns it into an [`Error`](crate::Error) with the
/// configured paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Sys(Step, nix::errno::Errno),
    Refused(Refusal),
    AlreadyRunning(Option<u32>),
    LockedUnseen(crate::lock::Hidden),
    RootRegained,
}

impl Failure {
    /// Turns what a forked process reported into an [`Error`], naming the path
    /// that `path_of` gives for the failed step (the chdir directory, the pid file).
    pub(crate) fn into_error(self, path_of: impl Fn(Step) -> Option<PathBuf>) -> Error {
        match self {
            Failure::Sys(step, errno) => match path_of(step) {
                Some(path) => Error::Path { step, path, errno: Errno::of(errno) },
                None => Error::Sys { step, errno: Errno::of(errno) },
            },
            Failure::Refused(reason) => {
                Error::PidFileRefused { path: path_of(Step::PidFile).unwrap_or_default(), reason }
            }
            Failure::RootRegained => Error::RootRegained,
            Failure::AlreadyRunning(pid) => {
                Error::AlreadyRunning { path: path_of(Step::PidFile).unwrap_or_default(), pid }
            }
            Failure::LockedUnseen(why) => {
                Error::LockedUnseen { path: path_of(Step::PidFile).unwrap_or_default(), holder: why.holder() }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn timeouts_read_as_written() {
        for (millis, text) in
            [(30_000, "30s"), (1_500, "1.5s"), (2_250, "2.25s"), (1_001, "1.001s"), (300, "300ms")]
        {
            assert_eq!(super::seconds(Duration::from_millis(millis)), text);
        }
    }
}
