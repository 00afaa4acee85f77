//! `daemon-run`: the steps of `#[daemon]`, then `exec` any program; and
//! `--stop`, `--status`, `--signal`, `--restart`, `--upgrade` for the daemon it started.
//! See the README, or `daemon-run --help`.
//!
//! **This library is not an API.** It is the binary's code, split out so
//! that the binary's tests reach its parser and helpers. Everything in it
//! is hidden from the documentation and may change in any release: its
//! types (clap's, nix's) are no semver promise. Use the command, or the
//! `daemon-runtime` crate.

#![deny(missing_docs)]

#[cfg(test)]
mod cli_tests;
#[doc(hidden)]
pub mod coming_from;
mod control;
mod environment;
mod error;
#[doc(hidden)]
pub mod listen;
mod lookup;
mod messages;
mod parse;
mod respawn;
mod syslog;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgGroup, Parser, ValueEnum};
use daemon_runtime::{Daemon, Error};
use nix::sys::signal::Signal;

/// `nix`'s `errno` as the runtime's [`Error`]s carry it.
pub(crate) fn errno(errno: nix::errno::Errno) -> daemon_runtime::Errno {
    daemon_runtime::Errno::from_raw(errno as i32)
}

#[doc(hidden)]
pub use environment::SAFE_PATH;
#[doc(hidden)]
pub use error::StartError;
#[doc(hidden)]
pub use lookup::find_program;
#[doc(hidden)]
pub use parse::{DEFAULT_SCHEDULE, MAX_DURATION, Schedule, parse_duration, parse_signal, parse_umask};
#[doc(hidden)]
pub use respawn::{GAVE_UP, NOT_READY, Policy};
#[doc(hidden)]
pub use syslog::Output;
#[doc(hidden)]
pub use syslog::Priority;
#[doc(hidden)]
pub use syslog::escape_into;

/// daemon-run's actions: after PROGRAM, they are PROGRAM's arguments, and a
/// failed start says so (`note: --restart after PROGRAM was passed to it`).
const ACTIONS: &[&str] = &["--stop", "--status", "--signal", "--restart"];

/// The exit codes, as `--help` lists them (the README has the same table).
const EXIT_CODES: &str = "\
Exit codes of a start:
  0    PROGRAM runs (was executed, or sent READY=1 with --ready notify)
  2    usage error: nothing was started or signalled
  67   no such user or group
  70   PROGRAM exited before it was ready, or was not ready in time
  71   a system call failed
  72   the pid file's lock is held by a process this pid namespace cannot see
  73   pid file or log file not created, locked, written, or refused
  75   already running (another process holds the pid file's lock)
  77   switching users needs root
  78   the working or chroot directory cannot be entered
  126  PROGRAM cannot be executed
  127  PROGRAM not found
Exit codes of --stop, --status, --signal, --upgrade:
  0    stopped (or was not running), running, signalled, upgraded
  1    --stop: still running after the schedule; --status: dead, pid file left
  3    not running (--status, --signal, --upgrade)
  4    the pid file or the kernel's list of locks could not be read,
       a signal not sent, or the pid file left not removed;
       --upgrade: the daemon does not catch SIGUSR2, or exited
  70   --upgrade: no outcome within --ready-timeout; a --respawn
       supervisor's new PROGRAM exited before READY=1, or was late
  71   --upgrade: a --respawn supervisor's first PROGRAM is not ready yet
  75   --upgrade: another upgrade, or request, is in progress
  other --upgrade: the new process's code, as its start would exit
With --oknodo, a start that finds PROGRAM already running, and a --signal
that finds nothing running, exit 0 (--stop always does).";

/// What `--help` ends with: the exit codes, then the flags of the peers.
fn after_help() -> String {
    format!("{EXIT_CODES}\n\n{}", coming_from::help())
}

/// Runs PROGRAM as a daemon: detached, with a locked pid file, then executed
/// in place of `daemon-run`. Exits 0 once PROGRAM has been executed.
///
/// Parsing stops at PROGRAM: everything after it is PROGRAM's arguments,
/// whether or not it looks like a flag (as for `env`, `sudo` and `nohup`).
///
/// The spellings of start-stop-daemon and libslack `daemon` that mean the
/// same are accepted; [`Cli::resolve`] turns them into daemon-run's own.
#[doc(hidden)]
#[derive(Debug, Parser)]
#[command(
    name = "daemon-run",
    version,
    about,
    max_term_width = 100,
    override_usage = "daemon-run [OPTIONS] [--] <PROGRAM> [ARGS]...\n       \
                      daemon-run --pid-file <PATH> --stop|--status|--signal <SIGNAL> [--retry <SCHEDULE>]\n       \
                      daemon-run --pid-file <PATH> --upgrade [--ready-timeout <DURATION>]",
    after_help = after_help(),
    group(ArgGroup::new("action").args(["stop", "status", "signal", "restart", "upgrade"])),
    group(ArgGroup::new("supervision").args(["respawn", "stop"]).multiple(true)),
)]
pub struct Cli {
    /// Pid file, created 0644; its lock file PATH.lock (0600) is locked and inherited by PROGRAM on fd 3.
    #[arg(short = 'p', long, visible_alias = "pidfile", value_name = "PATH")]
    pub pid_file: Option<PathBuf>,

    /// User to run as (name or uid; USER:GROUP sets the group too); needs root. Sets HOME, USER, LOGNAME, SHELL from its passwd entry.
    #[arg(short, long, visible_alias = "chuid", value_name = "USER[:GROUP]", value_parser = parse_user)]
    pub user: Option<String>,

    /// Group to run as (name or gid; default: the user's primary group).
    #[arg(short, long, value_name = "GROUP")]
    pub group: Option<String>,

    /// Working directory (inside the new root with --chroot).
    #[arg(short = 'd', long, value_name = "DIR", default_value = "/")]
    pub chdir: PathBuf,

    /// File mode creation mask, in octal (027 is 0o027; 0 keeps the modes PROGRAM asks for).
    #[arg(short = 'k', long, value_name = "MASK", value_parser = parse_umask, default_value = "022")]
    pub umask: u32,

    /// Where PROGRAM's standard output goes: a file (appended, created 0640), or syslog:FACILITY.LEVEL (relayed by daemon-run, which stays).
    #[arg(short = 'o', long, value_name = "OUTPUT", value_parser = syslog::parse_output)]
    pub stdout: Option<Output>,

    /// Where PROGRAM's standard error goes, likewise (syslog:daemon.err, say).
    #[arg(short = 'e', long, value_name = "OUTPUT", value_parser = syslog::parse_output)]
    pub stderr: Option<Output>,

    /// Both --stdout and --stderr (start-stop-daemon's and libslack daemon's --output).
    #[arg(long, value_name = "OUTPUT", value_parser = syslog::parse_output, conflicts_with_all = ["stdout", "stderr"])]
    pub output: Option<Output>,

    /// PROGRAM, as start-stop-daemon names it; the arguments after `--` are then its ARGS.
    #[arg(long = "exec", visible_alias = "startas", value_name = "PROGRAM", conflicts_with_all = ["stop", "status", "signal"])]
    pub exec: Option<OsString>,

    /// Directory to chroot into; PROGRAM and PATH are then looked up inside it.
    #[arg(long, value_name = "DIR")]
    pub chroot: Option<PathBuf>,

    /// Set RLIMIT_CORE to 0: a crash writes no core file.
    #[arg(long)]
    pub no_core_dumps: bool,

    /// Inherited descriptor that PROGRAM keeps (repeatable; 3 or more).
    #[arg(long = "keep-fd", value_name = "FD", value_parser = clap::value_parser!(i32).range(3..))]
    pub keep_fds: Vec<i32>,

    /// Start PROGRAM with only the variables named by --keep-env, and PATH set to a safe default.
    #[arg(long)]
    pub clear_env: bool,

    /// A variable --clear-env keeps (repeatable).
    #[arg(long = "keep-env", value_name = "NAME", requires = "clear_env", value_parser = env_name)]
    pub keep_env: Vec<OsString>,

    /// When daemon-run returns: once PROGRAM is executed, or once it sends READY=1 (with --respawn, its first instance).
    #[arg(long, value_name = "MODE", value_enum, default_value_t = ReadyMode::Exec)]
    pub ready: ReadyMode,

    /// How long to wait for the start to complete (500ms, 30s, 2m; at most a day).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub ready_timeout: Duration,

    /// Socket to bind and pass as LISTEN_FDS, from fd 3 (repeatable): [NAME=]tcp:IP:PORT, udp:IP:PORT, unix:/PATH.
    #[arg(long, value_name = "ADDR", value_parser = listen::parse_listen)]
    pub listen: Vec<listen::Listen>,

    /// The mode of --listen unix: socket files, in octal (0666 lets every local user connect).
    #[arg(long, value_name = "MODE", value_parser = parse_umask, default_value = "0600", requires = "listen")]
    pub listen_mode: u32,

    /// Do not fork, setsid or redirect stdio; the other steps still run.
    #[arg(short = 'f', long)]
    pub foreground: bool,

    /// Accepted for start-stop-daemon: daemon-run always detaches, unless --foreground.
    #[arg(long, conflicts_with = "foreground")]
    pub background: bool,

    /// Accepted for start-stop-daemon: daemon-run always creates the --pid-file (and locks it).
    #[arg(long, requires = "pid_file")]
    pub make_pidfile: bool,

    /// Stay as a supervisor that restarts PROGRAM when it exits abnormally; the pid file names the supervisor.
    #[arg(short, long, help_heading = "Supervision")]
    pub respawn: bool,

    /// File naming PROGRAM's pid, rewritten at each restart (with --respawn); --stop removes it too.
    #[arg(long, value_name = "PATH", requires = "supervision", help_heading = "Supervision")]
    pub child_pid_file: Option<PathBuf>,

    /// Delay before the first restart; it doubles with each quick failure, up to --respawn-window.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s", requires = "respawn", help_heading = "Supervision")]
    pub respawn_delay: Duration,

    /// Restarts allowed within --respawn-window; one more failure and the supervisor gives up (exit 70).
    #[arg(long, value_name = "COUNT", default_value = "5", value_parser = clap::value_parser!(u32).range(1..), requires = "respawn", help_heading = "Supervision")]
    pub respawn_attempts: u32,

    /// A run this long counts as a success: it resets the delay, and older failures no longer count.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1m", requires = "respawn", help_heading = "Supervision")]
    pub respawn_window: Duration,

    /// The tag of syslog records (default: PROGRAM's file name).
    #[arg(long, value_name = "TAG", help_heading = "Supervision")]
    pub tag: Option<String>,

    /// The syslog socket records are sent to.
    #[arg(long, value_name = "PATH", default_value = "/dev/log", help_heading = "Supervision")]
    pub syslog_socket: PathBuf,

    /// Stop the daemon holding the pid file's lock, following --retry; remove the pid file.
    #[arg(long, requires = "pid_file", help_heading = "Operating a running daemon")]
    pub stop: bool,

    /// Tell whether the daemon runs (LSB codes: 0 running, 1 dead with a pid file left, 3 not running).
    #[arg(long, requires = "pid_file", help_heading = "Operating a running daemon")]
    pub status: bool,

    /// Send a signal (HUP, USR1, 15) to the daemon holding the pid file's lock.
    #[arg(long, value_name = "SIGNAL", requires = "pid_file", value_parser = parse_signal, help_heading = "Operating a running daemon")]
    pub signal: Option<Signal>,

    /// Stop the daemon (as --stop), then start PROGRAM with the other flags (sockets closed in between: --upgrade keeps them).
    #[arg(long, requires = "pid_file", help_heading = "Operating a running daemon")]
    pub restart: bool,

    /// Ask the daemon holding the lock to upgrade (SIGUSR2; a --respawn supervisor holding sockets swaps PROGRAM on them); wait, up to --ready-timeout, for the new process to be ready.
    #[arg(long, requires = "pid_file", help_heading = "Operating a running daemon")]
    pub upgrade: bool,

    /// Exit 0 when there is nothing to do: a start finds PROGRAM running, --signal finds nothing.
    #[arg(long, help_heading = "Operating a running daemon")]
    pub oknodo: bool,

    /// What --stop and --restart send, and how long each waits: SIG/TIMEOUT/... (forever/... repeats the rest) or a bare timeout.
    #[arg(long, value_name = "SCHEDULE", value_parser = Schedule::parse, help_heading = "Operating a running daemon")]
    pub retry: Option<Schedule>,

    /// PROGRAM, looked up in the absolute entries of PATH when it has no `/`, then its arguments.
    #[arg(
        value_names = ["PROGRAM", "ARGS"],
        num_args = 1..,
        trailing_var_arg = true,
        required_unless_present_any = ["stop", "status", "signal", "upgrade", "exec"],
        conflicts_with_all = ["stop", "status", "signal", "upgrade"],
    )]
    pub command: Vec<OsString>,
}

impl Cli {
    /// The command line as daemon-run means it: `--output` becomes
    /// `--stdout` and `--stderr`, `--exec` PROGRAM, `--user USER:GROUP`
    /// `--user` and `--group`. What `main` runs.
    ///
    /// ```
    /// use clap::Parser;
    /// let cli = daemon_run::Cli::parse_from(["daemon-run", "--chuid", "nobody:nogroup", "--exec", "/bin/sleep", "--", "9"]);
    /// let cli = cli.resolve().unwrap();
    /// assert_eq!((cli.user.as_deref(), cli.group.as_deref()), (Some("nobody"), Some("nogroup")));
    /// assert_eq!((cli.program(), cli.args()), ("/bin/sleep".as_ref(), &["9".into()][..]));
    /// ```
    ///
    /// # Errors
    ///
    /// A usage error: `USER:GROUP` and `--group` both.
    pub fn resolve(mut self) -> Result<Cli, &'static str> {
        if let Some(output) = self.output.take() {
            self.stdout = Some(output.clone());
            self.stderr = Some(output);
        }
        if let Some(program) = self.exec.take() {
            self.command.insert(0, program);
        }
        if let Some((user, group)) = self.user.as_deref().and_then(|user| user.split_once(':')) {
            if self.group.is_some() {
                return Err("--user USER:GROUP names the group already: drop --group, or the `:GROUP`");
            }
            (self.user, self.group) = (Some(user.to_string()), Some(group.to_string()));
        }
        Ok(self)
    }

    /// daemon-run's actions found among PROGRAM's arguments, as written
    /// (`--signal=HUP` included): they were passed to PROGRAM.
    ///
    /// ```
    /// use clap::Parser;
    /// let cli = daemon_run::Cli::parse_from(["daemon-run", "-p", "/run/x.pid", "x", "-v", "--restart", "--signal=HUP"]);
    /// assert_eq!(cli.misplaced_actions(), ["--restart", "--signal=HUP"]);
    /// ```
    pub fn misplaced_actions(&self) -> Vec<String> {
        let action = |arg: &str| {
            ACTIONS.iter().any(|action| {
                arg.strip_prefix(action).is_some_and(|rest| rest.is_empty() || rest.starts_with('='))
            })
        };
        self.args()
            .iter()
            .filter_map(|arg| arg.to_str())
            .filter(|arg| action(arg))
            .map(str::to_string)
            .collect()
    }

    /// PROGRAM as given (empty with `--stop`, `--status`, `--signal`).
    ///
    /// ```
    /// use clap::Parser;
    /// let cli = daemon_run::Cli::parse_from(["daemon-run", "-p", "/run/x.pid", "sh", "-c", "exit", "--stdout"]);
    /// assert_eq!(cli.program(), "sh");
    /// assert_eq!(cli.args(), ["-c", "exit", "--stdout"]);
    /// assert_eq!(cli.stdout, None, "an option after PROGRAM is PROGRAM's");
    /// ```
    pub fn program(&self) -> &OsStr {
        self.command.first().map_or(OsStr::new(""), OsString::as_os_str)
    }

    /// PROGRAM's arguments (its `argv[1..]`).
    pub fn args(&self) -> &[OsString] {
        self.command.get(1..).unwrap_or_default()
    }

    /// The syslog priorities of standard output and error, when either
    /// goes to the log.
    ///
    /// ```
    /// use clap::Parser;
    /// let cli = daemon_run::Cli::parse_from(["daemon-run", "-r", "-e", "syslog:daemon.err", "x"]);
    /// assert_eq!(cli.syslog(), Some((None, Some(daemon_run::Priority::parse("daemon.err").unwrap()))));
    /// ```
    pub fn syslog(&self) -> Option<(Option<syslog::Priority>, Option<syslog::Priority>)> {
        let priority = |output: &Option<Output>| match output {
            Some(Output::Syslog(priority)) => Some(*priority),
            _ => None,
        };
        let streams = (priority(&self.stdout), priority(&self.stderr));
        (streams != (None, None)).then_some(streams)
    }

    /// `--retry`, else [`DEFAULT_SCHEDULE`].
    ///
    /// ```
    /// use clap::Parser;
    /// let cli = daemon_run::Cli::parse_from(["daemon-run", "-p", "/run/x.pid", "--stop"]);
    /// assert_eq!(cli.schedule(), daemon_run::Schedule::parse(daemon_run::DEFAULT_SCHEDULE).unwrap());
    /// ```
    pub fn schedule(&self) -> Schedule {
        self.retry.clone().unwrap_or_default()
    }
}

/// `--ready`: when the launching `daemon-run` exits 0.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadyMode {
    /// Once PROGRAM has been executed (a close-on-exec pipe tells).
    Exec,
    /// Once PROGRAM sends `READY=1` to the private `$NOTIFY_SOCKET` it is given.
    Notify,
}

/// `--user`: a name or uid, or start-stop-daemon's `USER:GROUP`.
fn parse_user(text: &str) -> Result<String, String> {
    let (user, group) = text.split_once(':').map_or((text, None), |(user, group)| (user, Some(group)));
    match (user.is_empty(), group) {
        (false, None) => Ok(text.into()),
        (false, Some(group)) if !group.is_empty() && !group.contains(':') => Ok(text.into()),
        _ => Err("expected USER or USER:GROUP, names or ids, such as nobody or nobody:nogroup".into()),
    }
}

fn env_name(text: &str) -> Result<OsString, String> {
    match environment::valid_name(text.as_ref()) {
        true => Ok(text.into()),
        false => Err("expected a variable name, without `=`".into()),
    }
}

/// The runtime's builder configured from the command line.
#[doc(hidden)]
pub fn daemon(cli: &Cli) -> Daemon {
    let mut daemon = Daemon::new()
        .umask(cli.umask)
        .chdir(&cli.chdir)
        .core_dumps(!cli.no_core_dumps)
        .keep_fds(cli.keep_fds.iter().copied())
        .ready_timeout(cli.ready_timeout)
        .foreground(cli.foreground);
    if let Some(path) = &cli.pid_file {
        daemon = daemon.pid_file(path);
    }
    if let Some(user) = &cli.user {
        daemon = daemon.user(user.as_str());
    }
    if let Some(group) = &cli.group {
        daemon = daemon.group(group.as_str());
    }
    if let Some(root) = &cli.chroot {
        daemon = daemon.chroot(root);
    }
    if let Some(Output::File(path)) = &cli.stdout {
        daemon = daemon.stdout(path);
    }
    if let Some(Output::File(path)) = &cli.stderr {
        daemon = daemon.stderr(path);
    }
    daemon
}

/// The binary: the verb asked for, or [`run`]; then exits with its code
/// (printing the error, if any).
#[doc(hidden)]
pub fn main(cli: Cli) -> ! {
    let cli = cli.resolve().unwrap_or_else(|message| {
        let mut command = <Cli as clap::CommandFactory>::command();
        command.error(clap::error::ErrorKind::ArgumentConflict, message).exit()
    });
    let pid_file = cli.pid_file.as_deref();
    let child_pid_file = cli.child_pid_file.as_deref().map(|path| (path, cli.chroot.as_deref()));
    let code = match (pid_file, cli.signal) {
        (Some(path), _) if cli.status => control::status(path),
        (Some(path), _) if cli.stop => control::stop(path, &cli.schedule(), child_pid_file),
        (Some(path), _) if cli.upgrade => control::upgrade(path, cli.ready_timeout),
        (Some(path), Some(signal)) => control::signal(path, signal, cli.oknodo),
        (Some(path), _) if cli.restart => match control::stop(path, &cli.schedule(), child_pid_file) {
            control::OK => start(cli),
            code => code,
        },
        _ => start(cli),
    };
    std::process::exit(code)
}

/// A start: [`run`], then, if it failed, its error line and what may help
/// (`note:` lines); returns the exit code.
fn start(cli: Cli) -> i32 {
    let misplaced = cli.misplaced_actions();
    let oknodo = cli.oknodo;
    let context = messages::Context { notify: cli.ready == ReadyMode::Notify };
    let error = run(cli);
    if oknodo && matches!(error, StartError::Runtime(Error::AlreadyRunning { .. })) {
        messages::print(&format!("note: {error}: nothing to do (--oknodo)"));
        return 0;
    }
    messages::print(&format!("error: {}", messages::describe(&error, &context)));
    for action in misplaced {
        let flag = action.split('=').next().unwrap_or_default();
        messages::print(&format!("note: {flag} after PROGRAM was passed to it; put it before PROGRAM"));
    }
    error.exit_code()
}

/// What a start does: sets PROGRAM's environment, finds it, runs the steps,
/// executes it. Returns only on failure, with the error to print and exit
/// with ([`StartError::exit_code`]); in the launcher, success exits 0.
#[doc(hidden)]
pub fn run(cli: Cli) -> StartError {
    let program = match prepare(&cli) {
        Ok(program) => program,
        Err(error) => return error.into(),
    };
    // The sockets first, so that a supervisor (`--respawn`, or the relay of
    // syslog output, which never restarts: FreeBSD daemon(8) and libslack
    // do likewise) holds them and passes them to each PROGRAM it starts.
    listen::with_sockets(&cli.listen, &cli.keep_fds, cli.listen_mode, |keep| {
        let daemon = daemon(&cli).keep_fds(keep.iter().copied());
        match (cli.respawn || cli.syslog().is_some(), cli.ready) {
            (true, _) => supervise(&cli, daemon, &program),
            (false, ReadyMode::Exec) => daemon.exec(&program, cli.args()),
            (false, ReadyMode::Notify) => daemon.exec_notify(&program, cli.args()),
        }
    })
}

/// `--respawn`: the supervisor's policy and logging from the command line,
/// then [`respawn::supervise`].
fn supervise(cli: &Cli, daemon: Daemon, program: &Path) -> Error {
    let policy = respawn::Policy {
        delay: cli.respawn_delay,
        attempts: cli.respawn_attempts,
        window: cli.respawn_window,
    };
    let notify = cli.ready == ReadyMode::Notify;
    let destination = |output: &Option<Output>, fd| match output {
        Some(Output::Syslog(priority)) => Some(syslog::Destination::Syslog(*priority)),
        // The runtime opens the file onto the supervisor's own 1 or 2.
        Some(Output::File(_)) => Some(syslog::Destination::Descriptor(fd)),
        // Until READY=1, the supervisor's 1 and 2 are the launcher's:
        // PROGRAM must not keep them after the launcher returned.
        None if notify => Some(syslog::Destination::Descriptor(fd)),
        None => None,
    };
    let mut logging = respawn::Logging {
        sink: None,
        stdout: destination(&cli.stdout, 1),
        stderr: destination(&cli.stderr, 2),
    };
    if cli.syslog().is_some() {
        let tag = cli.tag.clone().unwrap_or_else(|| {
            program.file_name().map_or("daemon-run".into(), |name| name.to_string_lossy().into_owned())
        });
        match syslog::Sink::connect(&cli.syslog_socket, tag) {
            Ok(sink) => logging.sink = Some(sink),
            Err(error) => return error,
        }
    }
    // Sockets held (`--listen`, or a service manager's): `--upgrade` swaps
    // PROGRAM on them.
    let sockets = !cli.listen.is_empty() || daemon_runtime::__private::passed_count().is_ok_and(|n| n > 0);
    let start = respawn::Start { policy, notify, timeout: cli.ready_timeout, restart: cli.respawn, sockets };
    let pid_file = cli.pid_file.as_deref();
    let child_pid_file = cli.child_pid_file.as_deref().map(|path| (path, cli.chroot.as_deref()));
    respawn::supervise(daemon, program, cli.args(), pid_file, child_pid_file, start, logging)
}

/// Sets the environment PROGRAM will run with (`--clear-env`, `--user`),
/// then finds PROGRAM in the `PATH` of that environment.
///
/// # Errors
///
/// More than one thread runs (the environment cannot be changed safely),
/// or PROGRAM is missing (127) or not executable (126).
fn prepare(cli: &Cli) -> Result<PathBuf, Error> {
    let account = cli.user.as_deref().map(|user| (user, environment::account(user)));
    let target = match &account {
        None => environment::Target::Unchanged,
        Some((_, Some(user))) => environment::Target::User(user),
        // A name without an entry: the runtime reports it; a bare uid runs.
        Some((name, None)) if name.parse::<u32>().is_err() => environment::Target::Unchanged,
        Some((_, None)) => environment::Target::Unknown,
    };
    let plan = environment::plan(cli.clear_env, &cli.keep_env, target, |name| std::env::var_os(name));
    daemon_runtime::ensure_single_threaded()?;
    // SAFETY: the line above proved that no other thread runs, and none
    // is started before the runtime forks.
    unsafe { plan.apply() };
    find_program(cli.program(), std::env::var_os("PATH").as_deref(), cli.chroot.as_deref())
}
