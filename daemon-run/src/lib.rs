//! `daemon-run`: the steps of `#[daemon]`, then `exec` any program; and
//! `--stop`, `--status`, `--signal`, `--restart` for the daemon it started.
//!
//! The binary is `src/main.rs`; this library holds its command line
//! ([`Cli`]) and what it does with it ([`main`], [`run`]), so that tests can
//! check the parser against the README's flag table.
//!
//! ```no_run
//! use clap::Parser;
//! let cli = daemon_run::Cli::parse_from(["daemon-run", "--pid-file", "/run/sleep.pid", "--", "sleep", "30"]);
//! daemon_run::main(cli);
//! ```

#![deny(missing_docs)]

mod control;
mod environment;
pub mod listen;
mod lookup;
mod parse;
mod respawn;
mod syslog;

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Parser, ValueEnum};
use daemon_runtime::{Daemon, Error};
use nix::sys::signal::Signal;

pub use environment::SAFE_PATH;
pub use lookup::find_program;
pub use parse::{DEFAULT_SCHEDULE, MAX_DURATION, Schedule, parse_duration, parse_signal, parse_umask};
pub use respawn::{GAVE_UP, NOT_READY, Policy};
pub use syslog::Output;
pub use syslog::Priority;

/// The process exit code for "this form of the command is not supported"
/// (`EX_USAGE`).
pub const EX_USAGE: i32 = 64;

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
Exit codes of --stop, --status, --signal:
  0    stopped (or was not running), running, signalled
  1    --stop: still running after the schedule; --status: dead, pid file left
  3    not running (--status, --signal)
  4    the pid file or the kernel's list of locks could not be read,
       a signal not sent, or the pid file left not removed";

/// Runs PROGRAM as a daemon: detached, with a locked pid file, then executed
/// in place of `daemon-run`. Exits 0 once PROGRAM has been executed.
///
/// Parsing stops at PROGRAM: everything after it is PROGRAM's arguments,
/// whether or not it looks like a flag (as for `env`, `sudo` and `nohup`).
#[derive(Debug, Parser)]
#[command(
    name = "daemon-run",
    version,
    about,
    max_term_width = 100,
    override_usage = "daemon-run [OPTIONS] [--] <PROGRAM> [ARGS]...\n       \
                      daemon-run --pid-file <PATH> --stop|--status|--signal <SIGNAL> [--retry <SCHEDULE>]",
    after_help = EXIT_CODES,
    group(ArgGroup::new("action").args(["stop", "status", "signal", "restart"])),
    group(ArgGroup::new("supervision").args(["respawn", "stop"]).multiple(true)),
)]
pub struct Cli {
    /// Pid file, created 0644; its lock file PATH.lock (0600) is locked and inherited by PROGRAM on fd 3.
    #[arg(short = 'p', long, visible_alias = "pidfile", value_name = "PATH")]
    pub pid_file: Option<PathBuf>,

    /// User to run as (name or uid); needs root. Sets HOME, USER, LOGNAME, SHELL from its passwd entry.
    #[arg(short, long, value_name = "USER")]
    pub user: Option<String>,

    /// Group to run as (name or gid; default: the user's primary group).
    #[arg(short, long, value_name = "GROUP")]
    pub group: Option<String>,

    /// Working directory (inside the new root with --chroot).
    #[arg(short = 'd', long, value_name = "DIR", default_value = "/")]
    pub chdir: PathBuf,

    /// File mode creation mask, in octal (027 is 0o027).
    #[arg(short = 'k', long, value_name = "MASK", value_parser = parse_umask, default_value = "0")]
    pub umask: u32,

    /// Where PROGRAM's standard output goes: a file (appended, created 0640), or syslog:FACILITY.LEVEL with --respawn.
    #[arg(short = 'o', long, value_name = "OUTPUT", value_parser = syslog::parse_output)]
    pub stdout: Option<Output>,

    /// Where PROGRAM's standard error goes, likewise (syslog:daemon.err, say).
    #[arg(short = 'e', long, value_name = "OUTPUT", value_parser = syslog::parse_output)]
    pub stderr: Option<Output>,

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
    #[arg(long, value_name = "ADDR", value_parser = listen::parse_listen, conflicts_with = "respawn")]
    pub listen: Vec<listen::Listen>,

    /// Do not fork, setsid or redirect stdio; the other steps still run.
    #[arg(short = 'f', long)]
    pub foreground: bool,

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

    /// Stop the daemon (as --stop), then start PROGRAM with the other flags.
    #[arg(long, requires = "pid_file", help_heading = "Operating a running daemon")]
    pub restart: bool,

    /// What --stop and --restart send, and how long each waits: SIG/TIMEOUT/... or a bare timeout.
    #[arg(long, value_name = "SCHEDULE", value_parser = Schedule::parse, help_heading = "Operating a running daemon")]
    pub retry: Option<Schedule>,

    /// PROGRAM, looked up in the absolute entries of PATH when it has no `/`, then its arguments.
    #[arg(
        value_names = ["PROGRAM", "ARGS"],
        num_args = 1..,
        trailing_var_arg = true,
        required_unless_present_any = ["stop", "status", "signal"],
        conflicts_with_all = ["stop", "status", "signal"],
    )]
    pub command: Vec<OsString>,
}

impl Cli {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadyMode {
    /// Once PROGRAM has been executed (a close-on-exec pipe tells).
    Exec,
    /// Once PROGRAM sends `READY=1` to the private `$NOTIFY_SOCKET` it is given.
    Notify,
}

fn env_name(text: &str) -> Result<OsString, String> {
    match environment::valid_name(text.as_ref()) {
        true => Ok(text.into()),
        false => Err("expected a variable name, without `=`".into()),
    }
}

/// The runtime's builder configured from the command line.
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
pub fn main(cli: Cli) -> ! {
    let usage = |message: &str| -> ! {
        let mut command = <Cli as clap::CommandFactory>::command();
        command.error(clap::error::ErrorKind::ArgumentConflict, message).exit()
    };
    if !cli.respawn && cli.syslog().is_some() {
        usage("syslog output needs --respawn: the supervisor relays it");
    }
    let pid_file = cli.pid_file.as_deref();
    let child_pid_file = cli.child_pid_file.as_deref().map(|path| (path, cli.chroot.as_deref()));
    let code = match (pid_file, cli.signal) {
        (Some(path), _) if cli.status => control::status(path),
        (Some(path), _) if cli.stop => control::stop(path, &cli.schedule(), child_pid_file),
        (Some(path), Some(signal)) => control::signal(path, signal),
        (Some(path), _) if cli.restart => match control::stop(path, &cli.schedule(), child_pid_file) {
            control::OK => run(cli).exit(),
            code => code,
        },
        _ => run(cli).exit(),
    };
    std::process::exit(code)
}

/// What a start does: sets PROGRAM's environment, finds it, runs the steps,
/// executes it. Returns only on failure, with the error to print and exit
/// with ([`Error::exit`]); in the launcher, success exits 0.
pub fn run(cli: Cli) -> Error {
    let program = match prepare(&cli) {
        Ok(program) => program,
        Err(error) => return error,
    };
    if cli.respawn {
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
        let start = respawn::Start { policy, notify, timeout: cli.ready_timeout };
        let pid_file = cli.pid_file.as_deref();
        let child_pid_file = cli.child_pid_file.as_deref().map(|path| (path, cli.chroot.as_deref()));
        return respawn::supervise(
            daemon(&cli),
            &program,
            cli.args(),
            pid_file,
            child_pid_file,
            start,
            logging,
        );
    }
    listen::with_sockets(&cli.listen, &cli.keep_fds, || match cli.ready {
        ReadyMode::Exec => daemon(&cli).exec(program, cli.args()),
        ReadyMode::Notify => daemon(&cli).exec_notify(program, cli.args()),
    })
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
