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
//! | `crate` | path string | `"::daemon_runtime"` | parses as a path |
//!
//! Every misuse is a compile error that points at the offending token: an
//! unknown key (with a suggestion), a key given twice, a literal of the wrong
//! type or out of range, a relative path, the attribute on anything but a
//! non-generic, non-`async` `fn main` without arguments.
//!
//! `main` may return `()`, `Result<(), E: Debug>` or
//! [`ExitCode`](std::process::ExitCode); the daemon's exit status is what
//! Rust makes of it. The pid file is removed when `main` returns.
//!
//! # What it expands to
//!
//! The attribute only checks its arguments and adds one statement: the same
//! [`Daemon`] builder a program can call itself.
//!
//! ```no_run
//! fn main() {
//!     let _running = daemon_runtime::Daemon::new()
//!         .umask(0o027)
//!         .chdir("/")
//!         .pid_file("/run/myd.pid")
//!         .start()
//!         .unwrap_or_else(|error| error.exit());
//!     // the body of `main`; `_running` holds the pid file until it ends
//! }
//! ```
//!
//! # The steps, in order, and why
//!
//! 1. **Preflight**, in the launching process: refuse a process that runs
//!    more than one thread ([`ensure_single_threaded`]: `fork` copies only
//!    the calling thread, and locks held by the others would stay locked
//!    forever); make paths absolute against the launching directory, build
//!    every C string, open `/dev/null` and the `O_CLOEXEC` report pipe, so
//!    that nothing between the forks allocates or resolves a name.
//! 2. **Close inherited descriptors** above 2 but `keep_fds`
//!    ([`close_inherited_fds`]): `close_range(2)` over the gaps, costing what
//!    is open rather than a loop up to `RLIMIT_NOFILE`; `/proc/self/fd` on
//!    older kernels.
//! 3. **Reset signals** ([`reset_signals`]): dispositions ignored by whoever
//!    launched us (`nohup`) and the blocked mask survive `exec`; a daemon must
//!    stop on SIGTERM.
//! 4. **`fork`**: the launcher waits on the report pipe; the child is not a
//!    process group leader, so `setsid` can succeed.
//! 5. **`setsid`**: a new session, no controlling terminal.
//! 6. **`fork` again** (`double_fork`): the session leader exits, so the
//!    daemon can never acquire a controlling terminal by opening one.
//! 7. **stdio on `/dev/null`** ([`redirect_stdio`]): the launcher's terminal
//!    or pipe is released (`x=$(mydaemon)` returns).
//! 8. **`umask`**.
//! 9. **`chdir`**: do not keep a mount point busy.
//! 10. **Pid file** ([`PidFile`]): `O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK`, a
//!     regular file with one link owned by the starting user, mode `0644`,
//!     `flock` held for the daemon's life, the daemon's own pid written.
//! 11. **Report** "ready" to the launcher, which exits 0.
//!
//! Processes that leave between the forks use `_exit`, so buffered output is
//! never written twice.
//!
//! # Exit codes of the launcher
//!
//! | code | meaning |
//! |---|---|
//! | 0 | the daemon runs |
//! | 70 `EX_SOFTWARE` | the daemon ended before it was ready |
//! | 71 `EX_OSERR` | a system call failed: threads, `fork`, `setsid`, `/dev/null` |
//! | 73 `EX_CANTCREAT` | the pid file could not be created, locked or written, or was refused |
//! | 75 `EX_TEMPFAIL` | already running: another process holds the pid file |
//! | 78 `EX_CONFIG` | the working directory cannot be entered |
//!
//! # Without the macro
//!
//! [`Daemon`] is the same machinery as a builder, and each step is a public
//! function ([`ensure_single_threaded`], [`close_inherited_fds`],
//! [`reset_signals`], [`redirect_stdio`], [`PidFile::acquire`]) for programs
//! that need to compose them differently.
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
pub use fds::{close_inherited_fds, close_listed_fds};
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

    /// Starts the daemon; in the launcher, or on an error before forking,
    /// prints the error and exits.
    pub fn start(daemon: Daemon) -> Running {
        daemon.start().unwrap_or_else(|error| error.exit())
    }
}
