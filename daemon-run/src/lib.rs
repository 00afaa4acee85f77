//! `daemon-run`: the steps of `#[daemon]`, then `exec` any program.
//!
//! The binary is `src/main.rs`; this library holds its command line
//! ([`Cli`]) and what it does with it ([`run`]), so that tests can check the
//! parser against the README's flag table.
//!
//! ```no_run
//! use clap::Parser;
//! let cli = daemon_run::Cli::parse_from(["daemon-run", "--pid-file", "/run/sleep.pid", "--", "sleep", "30"]);
//! daemon_run::main(cli);
//! ```

#![deny(missing_docs)]

pub mod listen;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use daemon_runtime::{Daemon, Error, Step};
use nix::errno::Errno;

/// The process exit code for "this form of the command is not supported"
/// (`EX_USAGE`).
pub const EX_USAGE: i32 = 64;

/// The search path used when `PATH` is unset (glibc's `_CS_PATH`, what
/// `execvp` uses).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// Runs PROGRAM as a daemon: detached, with a locked pid file, then executed
/// in place of `daemon-run`. Exits 0 once PROGRAM has been executed.
#[derive(Debug, Parser)]
#[command(name = "daemon-run", version, about, max_term_width = 100)]
pub struct Cli {
    /// Pid file, created 0644 and locked; the lock is inherited by PROGRAM on fd 3.
    #[arg(long, value_name = "P")]
    pub pid_file: Option<PathBuf>,

    /// User to run as (name or uid); needs root.
    #[arg(long, value_name = "U")]
    pub user: Option<String>,

    /// Group to run as (name or gid; default: the user's primary group).
    #[arg(long, value_name = "G")]
    pub group: Option<String>,

    /// Working directory (inside the new root with --chroot).
    #[arg(long, value_name = "D", default_value = "/")]
    pub chdir: PathBuf,

    /// File mode creation mask, in octal (027 is 0o027).
    #[arg(long, value_name = "M", value_parser = parse_umask, default_value = "0")]
    pub umask: u32,

    /// File that receives PROGRAM's standard output (appended, created 0640).
    #[arg(long, value_name = "F")]
    pub stdout: Option<PathBuf>,

    /// File that receives PROGRAM's standard error (appended, created 0640).
    #[arg(long, value_name = "F")]
    pub stderr: Option<PathBuf>,

    /// Directory to chroot into; PROGRAM and PATH are then looked up inside it.
    #[arg(long, value_name = "D")]
    pub chroot: Option<PathBuf>,

    /// Set RLIMIT_CORE to 0: a crash writes no core file.
    #[arg(long)]
    pub no_core_dumps: bool,

    /// Inherited descriptor that PROGRAM keeps (repeatable; 3 or more).
    #[arg(long = "keep-fd", value_name = "N", value_parser = clap::value_parser!(i32).range(3..))]
    pub keep_fds: Vec<i32>,

    /// When daemon-run returns: once PROGRAM is executed, or once it sends READY=1.
    #[arg(long, value_enum, default_value_t = ReadyMode::Exec)]
    pub ready: ReadyMode,

    /// How long to wait for the start to complete (500ms, 30s, 2m).
    #[arg(long, value_name = "T", value_parser = parse_duration, default_value = "60s")]
    pub ready_timeout: Duration,

    /// Socket to bind and pass as LISTEN_FDS, from fd 3 (repeatable): [NAME=]tcp:IP:PORT, udp:IP:PORT, unix:/PATH.
    #[arg(long, value_name = "ADDR", value_parser = listen::parse_listen)]
    pub listen: Vec<listen::Listen>,

    /// Do not fork, setsid or redirect stdio; the other steps still run.
    #[arg(long)]
    pub foreground: bool,

    /// The program, looked up in PATH when it has no `/`.
    #[arg(required = true, value_name = "PROGRAM")]
    pub program: OsString,

    /// Its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<OsString>,
}

/// `--ready`: when the launching `daemon-run` exits 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadyMode {
    /// Once PROGRAM has been executed (a close-on-exec pipe tells).
    Exec,
    /// Once PROGRAM sends `READY=1` to the private `$NOTIFY_SOCKET` it is given.
    Notify,
}

/// Parses an octal umask: `027` is `0o027`; at most `777`.
///
/// ```
/// assert_eq!(daemon_run::parse_umask("027"), Ok(0o027));
/// assert!(daemon_run::parse_umask("8").is_err());
/// ```
///
/// # Errors
///
/// Not octal digits, or above `777`.
pub fn parse_umask(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mask) if mask <= 0o777 && !digits.starts_with('+') => Ok(mask),
        Ok(_) => Err("a umask is at most 777".into()),
        Err(_) => Err("expected octal digits, such as 027".into()),
    }
}

/// Parses a duration written as a whole number of `ms`, `s` or `m`, above 0.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(daemon_run::parse_duration("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(daemon_run::parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert!(daemon_run::parse_duration("30").is_err());
/// ```
///
/// # Errors
///
/// Another form, or zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("expected a whole number of ms, s or m above 0, such as 30s (got {text:?})");
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.checked_mul(60).ok_or_else(invalid)?),
        _ => return Err(invalid()),
    };
    if duration.is_zero() {
        return Err(invalid());
    }
    Ok(duration)
}

/// Finds `program` as `execvp` would, before anything changes the working
/// directory or the root: a name without `/` is looked up in `path` (the
/// first executable regular file; else the first file found, which `exec`
/// then refuses); a path with `/` is taken against the current directory.
/// With `root` (`--chroot`), both are taken inside it. Returns the absolute
/// path to execute (as seen from inside `root`).
///
/// # Errors
///
/// `exec: <program>: No such file or directory` (exit 127) when nothing is
/// found; `Permission denied` (exit 126) when what was found cannot be
/// executed: nothing has been started then.
///
/// ```
/// let sh = daemon_run::find_program("sh".as_ref(), Some("/nonexistent:/bin".as_ref()), None).unwrap();
/// assert_eq!(sh, std::path::Path::new("/bin/sh"));
/// ```
pub fn find_program(program: &OsStr, path: Option<&OsStr>, root: Option<&Path>) -> Result<PathBuf, Error> {
    let outside = |inside: &Path| match root {
        Some(root) => root.join(inside.strip_prefix("/").unwrap_or(inside)),
        None => inside.to_path_buf(),
    };
    let error = |path: &Path, errno: i32| Error::Path {
        step: Step::Exec,
        path: path.to_path_buf(),
        errno: Errno::from_raw(errno),
    };
    if program.is_empty() {
        return Err(error(Path::new(program), ENOENT));
    }
    if program.as_bytes().contains(&b'/') {
        let program = Path::new(program);
        let absolute = match root {
            Some(_) => Path::new("/").join(program),
            None => std::path::absolute(program)
                .map_err(|e| error(program, e.raw_os_error().unwrap_or(ENOENT)))?,
        };
        return match check(&outside(&absolute)) {
            Ok(()) => Ok(absolute),
            Err(errno) => Err(error(&absolute, errno)),
        };
    }
    let search = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    let mut denied = None;
    for dir in search.as_bytes().split(|&b| b == b':') {
        // An empty entry means the current directory, as for execvp.
        let dir = if dir.is_empty() { Path::new(".") } else { Path::new(OsStr::from_bytes(dir)) };
        let candidate = dir.join(program);
        let candidate = match root {
            Some(_) => Path::new("/").join(&candidate),
            None => match std::path::absolute(&candidate) {
                Ok(absolute) => absolute,
                Err(_) => continue,
            },
        };
        match check(&outside(&candidate)) {
            Ok(()) => return Ok(candidate),
            Err(errno) if errno != ENOENT && errno != Errno::ENOTDIR as i32 => {
                denied.get_or_insert(candidate);
            }
            Err(_) => {}
        }
    }
    match denied {
        Some(candidate) => Err(error(&candidate, EACCES)),
        None => Err(error(Path::new(program), ENOENT)),
    }
}

const ENOENT: i32 = Errno::ENOENT as i32;
const EACCES: i32 = Errno::EACCES as i32;

/// `Ok` when `path` is a regular file that the caller may execute; the errno
/// `exec` would fail with otherwise (`ENOENT`, `EACCES`).
fn check(path: &Path) -> Result<(), i32> {
    let metadata = std::fs::metadata(path).map_err(|e| e.raw_os_error().unwrap_or(ENOENT))?;
    if !metadata.is_file() {
        return Err(EACCES);
    }
    let executable = metadata.permissions().mode() & 0o111 != 0;
    match executable && nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok() {
        true => Ok(()),
        false => Err(EACCES),
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
    if let Some(path) = &cli.stdout {
        daemon = daemon.stdout(path);
    }
    if let Some(path) = &cli.stderr {
        daemon = daemon.stderr(path);
    }
    daemon
}

/// The binary: [`run`], then print the error and exit with its code.
pub fn main(cli: Cli) -> ! {
    run(cli).exit()
}

/// What `daemon-run` does: finds PROGRAM, runs the steps, executes it.
/// Returns only on failure, with the error to print and exit with
/// ([`Error::exit`]); in the launcher, success exits 0.
pub fn run(cli: Cli) -> Error {
    let program = match find_program(&cli.program, std::env::var_os("PATH").as_deref(), cli.chroot.as_deref())
    {
        Ok(program) => program,
        Err(error) => return error,
    };
    listen::with_sockets(&cli.listen, &cli.keep_fds, || match cli.ready {
        ReadyMode::Exec => daemon(&cli).exec(program, &cli.args),
        ReadyMode::Notify => daemon(&cli).exec_notify(program, &cli.args),
    })
}
