//! Turn `fn main` into a correct Unix daemon with one attribute.
//!
//! ```no_run
//! use daemon_runtime::daemon;
//!
//! #[daemon(umask = 0o027, chdir = "/", pid_file = "/run/myd.pid")]
//! fn main() {
//!     // Runs in the fully detached daemon. The command that started it has
//!     // already exited 0, or printed why the start failed and exited non-zero.
//! }
//! ```
//!
//! The launching process returns only once the daemon has finished every
//! step below. If any step fails (a missing directory, a pid file another
//! daemon holds, a refused `fork`) the launcher prints one line,
//! `error: <step>: <cause>`, exits with a [`sysexits`] code, and leaves
//! nothing running and no pid file behind.
//!
//! # The attribute
//!
//! | key | value | default | checked at compile time |
//! |---|---|---|---|
//! | `umask` | integer literal | `0` | `0..=0o777` |
//! | `chdir` | string literal | `"/"` | absolute path |
//! | `double_fork` | `true` / `false` | `true` | bool literal |
//! | `pid_file` | string literal, or any expression whose type is `AsRef<Path>` | none | a literal is absolute and names no directory |
//! | `close_fds` | `true` / `false` | `true` | bool literal |
//! | `keep_fds` | array of integer literals | `[]` | each `>= 3`; needs `close_fds` |
//! | `user`, `group` | name string, or numeric id (`u32`) | none (no privilege change) | a name is non-empty, without NUL, `:`, `/` or whitespace |
//! | `chroot` | string literal | none | absolute path |
//! | `core_dumps` | `true` / `false` | `true` | bool literal |
//! | `stdout`, `stderr` | string literal (appended to, created `0o640`) | `/dev/null` | absolute and names no directory |
//! | `ready` | `"auto"` / `"manual"` (the body calls `daemon_runtime::ready()`) | `"auto"` | one of the two |
//! | `ready_timeout` | duration string: `"500ms"`, `"30s"`, `"2m"` | `"60s"` | a whole number of `ms`, `s` or `m`, `> 0` |
//! | `foreground` | any `bool` expression (evaluated once, before detaching) | `false` | type-checks as `bool`; a literal `true` refuses `double_fork` |
//! | `init` | path to a `fn() -> Result<T, E>`, `E: Debug`, run as root after the pid file lock and before the privilege drop ([`Daemon::start_with`]); `T` becomes `main`'s one argument | none | a path; `main` takes an argument only with `init`, of `init`'s `T` |
//! | `crate` | path string | `"::daemon_runtime"` | parses as a path |
//!
//! Every misuse is a compile error that points at the offending token: an
//! unknown key (with a suggestion), a key given twice, a literal of the wrong
//! type or out of range, a relative path, the attribute on anything but a
//! non-generic `fn main` (taking one argument only with `init`, which
//! produces it; `async` only with an async runtime attribute below).
//!
//! `main` may return `()`, `Result<(), E: Debug>` or
//! [`ExitCode`](std::process::ExitCode); the daemon's exit status is what
//! Rust makes of it. The pid file is removed when `main` returns.
//!
//! # What it expands to
//!
//! The attribute only checks its arguments and adds one statement: the same
//! [`Daemon`] builder a program can call itself. Literals become constants;
//! expressions (`pid_file`, `foreground`) are evaluated once, in the
//! launching process, before it detaches.
//!
//! ```no_run
//! // #[daemon(umask = 0o027, pid_file = "/run/myd.pid", ready = "manual")]
//! // fn main() { ... } becomes:
//! fn main() {
//!     let _running = daemon_runtime::Daemon::new()
//!         .umask(0o027)
//!         .pid_file("/run/myd.pid")
//!         .ready(daemon_runtime::Ready::Manual)
//!         .start()
//!         .unwrap_or_else(|error| error.exit());
//!     // the body of `main`; `_running` holds the pid file until it ends
//! }
//! ```
//!
//! Above `#[tokio::main]` (or any attribute whose path ends in `main`), the
//! async function moves inside a plain `main` that starts the daemon first:
//! the runtime and its threads are created in the daemon, never before the
//! fork.
//!
//! # The steps, in order, and why
//!
//! 1. **Preflight**, in the launching process: refuse a process that runs
//!    more than one thread ([`ensure_single_threaded`]: `fork` copies only
//!    the calling thread, and locks held by the others would stay locked
//!    forever), or that is PID 1 of its namespace (detaching would end it);
//!    open `/dev/null` on closed stdio ([`fill_closed_stdio`]); resolve the
//!    user and group (name lookups read files and allocate); make paths
//!    absolute against the launching directory and build every C string;
//!    open `/dev/null`, the log files, the pid file's directory (refusing a
//!    symbolic link another user planted on the way) and the `O_CLOEXEC`
//!    report pipe. Nothing between the forks allocates or resolves a name.
//! 2. **Close inherited descriptors** above 2 but `keep_fds`
//!    ([`close_inherited_fds`]): `close_range(2)` over the gaps, costing what
//!    is open rather than a loop up to `RLIMIT_NOFILE`; `/proc/self/fd` on
//!    older kernels.
//! 3. **Reset signals** ([`reset_signals`]): dispositions ignored by whoever
//!    launched us (`nohup`) and the blocked mask survive `exec`; a daemon must
//!    stop on SIGTERM. `SIGPIPE` stays ignored, as in every Rust program.
//! 4. **`fork`**: the launcher waits on the report pipe; the child is not a
//!    process group leader, so `setsid` can succeed.
//! 5. **`setsid`**: a new session, no controlling terminal.
//! 6. **`fork` again** (`double_fork`): the session leader exits, so the
//!    daemon can never acquire a controlling terminal by opening one.
//! 7. **stdio** on `/dev/null` or the log files ([`redirect_stdio`]): the
//!    launcher's terminal or pipe is released (`x=$(mydaemon)` returns). With
//!    `ready = "manual"`, stdout and stderr stay the launcher's until
//!    [`ready`], so startup messages and errors reach whoever started it.
//! 8. **`umask`**, and `RLIMIT_CORE` 0 with `core_dumps = false`.
//! 9. **`chroot`** (then `chdir("/")` inside it), then **`chdir`**: do not
//!    keep a mount point busy.
//! 10. **Pid file** ([`PidFile`]): `O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK`, a
//!     regular file with one link owned by the starting user, mode `0644`,
//!     `flock` held for the daemon's life, re-checked to still be at its
//!     path after locking, the daemon's own pid written; removed on SIGTERM
//!     or SIGINT when the body handles neither, and when `main` returns.
//! 11. **`init`** ([`Daemon::start_with`]), still as root, then the
//!     **privilege drop**: `setgroups`, `setgid`, `setuid`, then proof that
//!     `setuid(0)`, `setresuid(0, 0, 0)` and `setgid(0)` fail.
//! 12. **Report** "ready" to the launcher, which exits 0 (at once, or when
//!     the body calls [`ready`], within `ready_timeout`; `READY=1` and
//!     `MAINPID` also go to `$NOTIFY_SOCKET`).
//!
//! Processes that leave between the forks use `_exit`, so buffered output is
//! never written twice. With `foreground`, steps 4 to 7 are skipped.
//!
//! # Exit codes of the launcher
//!
//! | code | meaning |
//! |---|---|
//! | 0 | the daemon runs |
//! | 67 `EX_NOUSER` | the user or group does not exist |
//! | 69 `EX_UNAVAILABLE` | `init` returned an error |
//! | 70 `EX_SOFTWARE` | the daemon ended before it was ready, or was not ready in time |
//! | 71 `EX_OSERR` | a system call failed: threads, `fork`, `setsid`, `/dev/null` |
//! | 73 `EX_CANTCREAT` | the pid file or a log file could not be created, locked or written, or was refused |
//! | 75 `EX_TEMPFAIL` | already running: another process holds the pid file |
//! | 77 `EX_NOPERM` | switching users needs root |
//! | 78 `EX_CONFIG` | the working or chroot directory cannot be entered, or the process is PID 1 |
//! | 126, 127 | [`Daemon::exec`]: the program is not executable, or missing |
//!
//! # Without the macro
//!
//! [`Daemon`] is the same machinery as a builder, and each step is a public
//! function ([`ensure_single_threaded`], [`fill_closed_stdio`],
//! [`close_inherited_fds`], [`reset_signals`], [`redirect_stdio`],
//! [`PidFile::acquire`]) for programs that need to compose them differently.
//! [`status`], [`stop`] and [`signal`] operate a running daemon by its pid
//! file's lock; [`reopen_logs`] serves logrotate; [`supervised`] tells when
//! a service manager already does the detaching.
//!
//! # Coming from `daemonize`
//!
//! | `daemonize` 0.5 | here |
//! |---|---|
//! | `Daemonize::new()...start()` | `#[daemon(...)]`, or `Daemon::new()...start()` |
//! | `.pid_file(p)` | `pid_file = p` (locked for the daemon's life, removed at exit) |
//! | `.chown_pid_file(true)` | not needed: the file is created before the privilege drop and stays root's |
//! | `.working_directory(d)` | `chdir = d` |
//! | `.user(u)`, `.group(g)` | `user = u`, `group = g` (supplementary groups set too) |
//! | `.umask(m)` | `umask = m` |
//! | `.stdout(f)`, `.stderr(f)` | `stdout = "/path"`, `stderr = "/path"` |
//! | `.privileged_action(f)` | `init = f`, its value passed to `main` |
//! | `.exit_action(f)` | code before the attribute's start, or the builder |
//! | exits 0 when the daemon fails | the launcher fails with the daemon's error and a sysexits code |
#![deny(missing_docs, unsafe_op_in_unsafe_fn)]
// The "what it expands to" example shows `fn main` on purpose.
#![allow(clippy::needless_doctest_main)]

mod builder;
mod control;
mod detached;
mod error;
mod fds;
mod launcher;
mod logs;
mod notify;
mod pidfile;
mod privileges;
mod readiness;
mod report;
mod signals;
mod start;
mod steps;
mod supervisor;
pub mod sysexits;
mod termination;

pub use builder::{Daemon, Running};
pub use control::{Status, Stopped, signal, status, stop};
pub use daemon_macro::daemon;
pub use error::{Error, Refusal, Step};
pub use fds::close_inherited_fds;
pub use logs::reopen_logs;
pub use pidfile::PidFile;
pub use privileges::Account;
pub use readiness::{Ready, ready};
pub use signals::reset_signals;
pub use steps::{ensure_single_threaded, fill_closed_stdio, redirect_stdio};
pub use supervisor::supervised;

#[doc(hidden)]
pub mod __private {
    //! What `#[daemon]` expands to calls. Not a public API.
    use crate::{Daemon, Running};

    /// The `/proc/self/fd` fallback of closing inherited descriptors, for
    /// the tests' probe only (see `fds.rs`).
    pub use crate::fds::close_listed_fds;

    /// Starts the daemon; in the launcher, or on an error before forking,
    /// prints the error and exits.
    pub fn start(daemon: Daemon) -> Running {
        daemon.start().unwrap_or_else(|error| error.exit())
    }

    /// [`start`] with `init` (the attribute's `init = path`): returns, in the
    /// daemon only, what `init` produced; its error fails the start.
    pub fn start_with<T, E: core::fmt::Debug>(
        daemon: Daemon,
        init: impl FnOnce() -> Result<T, E>,
    ) -> (Running, T) {
        daemon.start_with(init).unwrap_or_else(|error| error.exit())
    }
}
