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
//! | `umask` | integer literal, like `0o027` | `0o022` (`umask = 0` keeps created files' modes as given) | `0..=0o777`; `022` (decimal in Rust) is refused |
//! | `chdir` | string literal | `"/"` | absolute path, no NUL byte |
//! | `double_fork` | `true` / `false` | `true` | bool literal |
//! | `pid_file` | string literal, or any expression whose type is `AsRef<Path>` (evaluated once, before detaching) | none | a literal is absolute and names no directory |
//! | `close_fds` | `true` / `false` | `true` | bool literal |
//! | `keep_fds` | array of integer literals, like `[3, 4]`, or any expression whose type is `IntoIterator<Item = RawFd>` (evaluated once, before detaching; its entries below 3 are ignored), like `keep_fds = listen_fds()` | `[]` | an array's literal entries are each `>= 3`, an `i32`, listed once; any form needs `close_fds` |
//! | `user`, `group` | name string, like `"nobody"`, or numeric id, like `65534` | none (no privilege change) | a name is non-empty, without NUL, `:`, `/` or whitespace; an id is a `u32` |
//! | `chroot` | string literal | none | absolute path, no NUL byte |
//! | `core_dumps` | `true` / `false` | `true` | bool literal |
//! | `stdout`, `stderr` | string literal (appended to, created `0o640`) | `/dev/null` | absolute and names no directory |
//! | `reopen_logs_on` | `"SIGHUP"`, `"SIGUSR1"` or `"SIGUSR2"`: the runtime reopens `stdout` and `stderr` on that signal by itself ([`Daemon::reopen_logs_on`]; see [Logs and logrotate](#logs-and-logrotate)) | none (the signal ends the daemon) | one of the three, full name; needs `stdout` or `stderr` |
//! | `ready` | `"auto"` / `"manual"` (the body calls `daemon_runtime::ready()`) | `"auto"` | one of the two |
//! | `ready_timeout` | duration string: `"500ms"`, `"30s"`, `"2m"` | `"60s"` | a whole number of `ms`, `s` or `m`, `> 0` |
//! | `foreground` | any `bool` expression (evaluated once, before detaching) | `false` | type-checks as `bool`; a literal `true` refuses `double_fork` |
//! | `init` | path to a `fn() -> Result<T, E>` with `E: Display`, run as root after the pid file lock and before the privilege drop ([`Daemon::start_with`]); `T` becomes `main`'s one argument; an `Err` fails the start (`error: init: <its Display>`, exit 69) | none | a path; its type on the path, by the type checker; `main` takes an argument only with `init`, of `init`'s `T` |
//! | `crate` | path string | `"::daemon_runtime"` | parses as a path |
//!
//! This table is the attribute's one reference; the attribute's own docs
//! and the READMEs link here.
//!
//! Every misuse is a compile error that points at the offending token: an
//! unknown key (with a suggestion), a key given twice, a literal of the wrong
//! type or out of range, a relative path, the attribute on anything but a
//! non-generic `fn main` (taking one argument only with `init`, which
//! produces it; `async` only with an async runtime attribute below). One
//! mistake gets one error: on any error the body is still compiled, inside
//! a neutral `fn main()`, so rustc adds none of its own about `main` and an
//! IDE still completes in the body.
//!
//! `main` may return `()`, `Result<(), E: Debug>` or
//! [`ExitCode`](std::process::ExitCode); the daemon's exit status is what
//! Rust makes of it. The pid file is removed when `main` returns.
//!
//! # What it expands to
//!
//! The attribute only checks its arguments and adds one statement: the same
//! [`Daemon`] builder a program can call itself. Literals become constants;
//! expressions (`pid_file`, `keep_fds`, `foreground`) are evaluated once, in
//! the launching process, before it detaches.
//!
//! ```no_run
//! // #[daemon(umask = 0o027, pid_file = "/run/myd.pid", ready = "manual")]
//! // fn main() { ... } becomes:
//! fn main() {
//!     let __daemon_running = ::daemon_runtime::__private::start(
//!         ::daemon_runtime::Daemon::new()
//!             .umask(0o027)
//!             .pid_file("/run/myd.pid")
//!             .ready(::daemon_runtime::Ready::Manual),
//!     );
//!     // the body of `main`; `__daemon_running` holds the pid file until it ends
//! }
//! ```
//!
//! `__private::start` is [`Daemon::start`] followed, on an error, by
//! [`Error::exit`]; with `init`, `__private::start_with` is
//! [`Daemon::start_with`] the same way. The macro's own tests pin this
//! expansion token for token (`daemon-macro/src/expand.rs`).
//!
//! Above `#[tokio::main]` (or any attribute whose path ends in `main`), the
//! async function moves inside a plain `main` that starts the daemon first:
//! the runtime and its threads are created in the daemon, never before the
//! fork. **`#[daemon]` goes first**: written below `#[tokio::main]`, it sees
//! tokio's rewrite and refuses it ("`#[daemon]` must be written above
//! `#[tokio::main]`"; with `init`, tokio's own "the main function cannot
//! accept arguments" comes too).
//!
//! # The steps, in order, and why
//!
//! 1. **Preflight**, in the launching process: refuse a process that runs
//!    more than one thread ([`ensure_single_threaded`]: `fork` copies only
//!    the calling thread, and locks held by the others would stay locked
//!    forever), or that is PID 1 of its namespace (detaching would end it);
//!    open `/dev/null` on closed stdio ([`fill_closed_stdio`]); resolve the
//!    user and group (name lookups read files and allocate; they run the
//!    system's own code, which may start a thread, so after them the
//!    threads are counted again right before the first fork); make paths
//!    absolute against the launching directory and build every C string;
//!    walk the chroot, working and pid file directories and the log files'
//!    one component at a time (`openat(O_PATH|O_NOFOLLOW)`, a symbolic link
//!    followed only when root or the starting user owns it and its
//!    directory; every chroot component root's), keeping the descriptors;
//!    open `/dev/null`, the log files (regular, one link, root's or the
//!    daemon user's) and the `O_CLOEXEC` report pipe. Nothing between the
//!    forks allocates or resolves a name, and no path is looked up again.
//! 2. **Close inherited descriptors** above 2 but `keep_fds` and the sockets
//!    a service manager passed (socket activation: `3 .. 3 + LISTEN_FDS` when
//!    `LISTEN_PID` names this process, all open, else [`Error::ListenFds`];
//!    the pid file's lock goes after them; a detached daemon finds `LISTEN_PID`
//!    rewritten to its own pid, and takes them with [`listen_fds`]), and the
//!    pid file's lock a launcher built on this crate handed down
//!    (`DAEMON_LOCK_FD`, see [Wrapped by daemon-run](#wrapped-by-daemon-run))
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
//! 7. **stdio** on `/dev/null` or the log files: the
//!    launcher's terminal or pipe is released (`x=$(mydaemon)` returns). With
//!    `ready = "manual"`, stdout and stderr stay the launcher's until
//!    [`ready`], so startup messages and errors reach whoever started it.
//! 8. **`umask`**, and `RLIMIT_CORE` 0 with `core_dumps = false`.
//! 9. **`chroot`** (`fchdir` to the walked directory, `chroot(".")`), then
//!    **`chdir`** (`fchdir`): do not keep a mount point busy.
//! 10. **Pid file** ([`PidFile`]), in the walked directory, and its lock
//!     file beside it (its name and [`LOCK_SUFFIX`]):
//!     `O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK`, a regular file with one
//!     link owned by the starting user, mode `0600` (no other user can open
//!     it, so none can lock it), `flock` held for the daemon's life on that
//!     read-only descriptor, re-checked to still be at its name after
//!     locking; then the pid file, mode `0644`, the daemon's own pid written
//!     through a writable descriptor closed right after. A lock file locked
//!     by no live process proven to hold its exclusive lock is replaced.
//!     Both removed on every terminating signal the body does not handle
//!     (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1…), and when `main` returns.
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
//! | 69 `EX_UNAVAILABLE` | `init` returned an error or panicked (`init: panicked at <where>: <what>`) |
//! | 70 `EX_SOFTWARE` | the daemon ended before it was ready, or was not ready in time; a second start in a process that is already a daemon ([`Error::AlreadyStarted`]) |
//! | 71 `EX_OSERR` | a system call failed: threads, `fork`, `setsid`, `/dev/null` |
//! | 72 `EX_OSFILE` | the pid file's lock is held by a process that cannot be told from here (outside this pid namespace): never replaced |
//! | 73 `EX_CANTCREAT` | the pid file or a log file could not be created, locked or written, or was refused (a link, FIFO, hard link or another user's file) |
//! | 75 `EX_TEMPFAIL` | already running: another process holds the pid file |
//! | 77 `EX_NOPERM` | switching users needs root |
//! | 78 `EX_CONFIG` | the working or chroot directory cannot be entered or was refused (a chroot component not root's), the process is PID 1, a `keep_fds` descriptor is not open ([`Error::NotOpen`]), or `LISTEN_FDS` announces descriptors that are not open ([`Error::ListenFds`]) |
//! | 126, 127 | [`Daemon::exec`]: the program is not executable, or missing |
//!
//! # Without the macro
//!
//! [`Daemon`] is the same machinery as a builder, and the steps a program
//! may want to compose differently are public functions
//! ([`ensure_single_threaded`], [`fill_closed_stdio`],
//! [`close_inherited_fds`], [`reset_signals`], [`PidFile::acquire`]).
//! [`Upgrade`] replaces a running daemon with a new executable without
//! dropping a connection.
//! [`status`], [`stop`] (with [`StopOptions`], a schedule of signals like
//! `start-stop-daemon --retry`) and [`signal`] operate a running daemon by
//! its pid file's lock, proven held by a live process, and `stop` removes
//! the file; [`reopen_logs`] serves logrotate; [`supervised`] tells when a
//! service manager already does the detaching; a program that starts its
//! own children waits for their `READY=1` on a [`NotifyReceiver`].
//!
//! # Types and errors
//!
//! - **Starting** ([`Daemon::start`], [`Daemon::start_with`],
//!   [`Daemon::exec`], [`ensure_single_threaded`], [`PidFile::acquire`])
//!   fails with [`Error`]: the [`Step`] that failed, a sysexits
//!   [`exit_code`](Error::exit_code), and a `Display` of one line,
//!   `<step>: <cause>`, that [`Error::exit`] prints after `error: `.
//! - **Operating a running daemon** ([`status`], [`stop`], [`signal`],
//!   [`reopen_logs`]) and the single steps ([`fill_closed_stdio`],
//!   [`reset_signals`]) fail with [`std::io::Error`], whose `Display` names
//!   the file and the kernel's reason.
//! - **Pids** are plain `u32`, as [`std::process::id`] returns them.
//! - **Errors from the kernel** are [`Errno`], this crate's own (the
//!   number, [`raw`](Errno::raw), and strerror's text as `Display`), in
//!   [`Error::Sys`], [`Error::Path`] and [`Error::Account`];
//!   [`Error::raw_os_error`] gives the number, and an [`Error`] converts
//!   into a [`std::io::Error`] (`?` in a function returning
//!   `std::io::Result`), whose kind is the `errno`'s. No `nix` type is in
//!   an [`Error`], so the errors do not change with `nix`'s version.
//! - **Signals** are [`Signal`], `nix`'s type re-exported: name it
//!   `daemon_runtime::Signal::SIGHUP`, without depending on `nix`. It stays
//!   `nix`'s (see [`Signal`] for why), so `nix`'s major version is part of
//!   this crate's semver; [`nix`] itself is re-exported, for a program
//!   that needs more of it without matching its version.
//! - **Paths** are taken as `impl AsRef<Path>` everywhere.
//!
//! ```no_run
//! use daemon_runtime::{Signal, StopOptions, Stopped};
//! use std::time::Duration;
//!
//! daemon_runtime::signal("/run/myd.pid", Signal::SIGHUP)?; // reload
//! match daemon_runtime::stop("/run/myd.pid", StopOptions::new().timeout(Duration::from_secs(5)))? {
//!     Stopped::Exited { pid } | Stopped::Killed { pid } => println!("stopped {pid}"),
//!     Stopped::NotRunning => println!("was not running"),
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # With tokio
//!
//! `#[daemon]` goes **above** `#[tokio::main]`: the runtime's threads must
//! be created in the daemon, after the forks (a process with threads cannot
//! fork safely, and is refused).
//!
//! ```no_run
//! #[daemon_runtime::daemon(pid_file = "/run/myd.pid")]
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     loop {
//!         let (_client, _) = listener.accept().await?;
//!     }
//! }
//! ```
//!
//! # Logs and logrotate
//!
//! With `stdout`/`stderr` files, rotate by renaming the file and sending
//! SIGHUP (logrotate's `postrotate` with `daemon_runtime::signal`, `kill
//! -HUP`, or systemd's `ExecReload=`). With `reopen_logs_on = "SIGHUP"`
//! ([`Daemon::reopen_logs_on`]) the runtime reopens the files by itself,
//! whatever the body is doing (blocked in `accept()`, say): the handler
//! writes a byte to a pipe, and a thread the daemon starts after the last
//! fork reads it and calls [`reopen_logs`]. The example `reopen_logs` is
//! such a server.
//!
//! ```no_run
//! #[daemon_runtime::daemon(stdout = "/var/log/myd.log", reopen_logs_on = "SIGHUP")]
//! fn main() -> std::io::Result<()> {
//!     let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
//!     for client in listener.incoming() {
//!         println!("connection from {}", client?.peer_addr()?); // the new file after a SIGHUP
//!     }
//!     Ok(())
//! }
//! ```
//!
//! A program that handles the signal itself calls [`reopen_logs`] when its
//! handler saw it. A handler only sets a flag (with `signal-hook`):
//! reopening allocates, which a signal handler must not.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicBool, Ordering};
//!
//! #[daemon_runtime::daemon(stdout = "/var/log/myd.log", stderr = "/var/log/myd.log")]
//! fn main() -> std::io::Result<()> {
//!     let hangup = Arc::new(AtomicBool::new(false));
//!     signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hangup))?;
//!     loop {
//!         if hangup.swap(false, Ordering::Relaxed) {
//!             daemon_runtime::reopen_logs()?; // later lines go to the new file
//!         }
//!         println!("working");
//!         std::thread::sleep(std::time::Duration::from_secs(1));
//!     }
//! }
//! ```
//!
//! ```text
//! # /etc/logrotate.d/myd
//! /var/log/myd.log {
//!     weekly
//!     postrotate
//!         kill -HUP "$(cat /run/myd/myd.pid)"
//!     endscript
//! }
//! ```
//!
//! # Where the pid file goes with `user =`
//!
//! The pid file is created as root, before the privilege drop, and stays
//! root's. A daemon running as `user = "myd"` can remove it at exit only
//! from a directory it may write: use one it owns, `/run/myd/myd.pid`
//! (`install -d -o myd /run/myd` at package install, or systemd's
//! `RuntimeDirectory=myd`), or let [`stop`], run as root, remove it, as it
//! does once the lock is free.
//!
//! ```no_run
//! #[daemon_runtime::daemon(user = "myd", group = "myd", pid_file = "/run/myd/myd.pid")]
//! fn main() {}
//! ```
//!
//! # Under systemd
//!
//! Let systemd do the detaching: [`supervised`] is true under it, so
//! `foreground = daemon_runtime::supervised()` keeps one binary that
//! detaches when started by hand and stays in the foreground as a
//! `Type=notify` service (`ready = "manual"` sends `READY=1` at [`ready`]):
//!
//! ```text
//! # /etc/systemd/system/myd.service
//! [Service]
//! Type=notify
//! ExecStart=/usr/local/bin/myd
//! RuntimeDirectory=myd
//! ```
//!
//! A classic `Type=forking` unit with `PIDFile=/run/myd.pid` works too: the
//! launcher exits once the pid file holds the daemon's pid. More units
//! (`Type=notify-reload`, the watchdog, socket activation) are in the
//! [README](https://github.com/daemon-rs/daemon/blob/main/README.md#running-it-in-production).
//!
//! # One example per key
//!
//! ```no_run
//! # use daemon_runtime::daemon;
//! // umask, chdir, double_fork, close_fds, core_dumps: literals.
//! #[daemon(umask = 0o027, chdir = "/var/lib/myd", double_fork = false, close_fds = true, core_dumps = false)]
//! fn main() {}
//! ```
//!
//! ```no_run
//! # use daemon_runtime::daemon;
//! // pid_file: a literal, or any `AsRef<Path>` expression.
//! #[daemon(pid_file = std::env::var("MYD_PID").unwrap_or_else(|_| "/run/myd.pid".into()))]
//! fn main() {}
//! ```
//!
//! ```no_run
//! # use daemon_runtime::daemon;
//! // keep_fds: literal descriptors, or any `IntoIterator<Item = RawFd>`.
//! #[daemon(keep_fds = [3, 4])]
//! fn main() {}
//! ```
//!
//! ```no_run
//! # use daemon_runtime::daemon;
//! // user and group: names or numeric ids; chroot: a root-owned directory.
//! #[daemon(user = "nobody", group = 65534, chroot = "/srv/jail")]
//! fn main() {}
//! ```
//!
//! ```no_run
//! # use daemon_runtime::daemon;
//! // stdout and stderr: log files instead of /dev/null.
//! #[daemon(stdout = "/var/log/myd.out", stderr = "/var/log/myd.err")]
//! fn main() {}
//! ```
//!
//! ```no_run
//! # use daemon_runtime::daemon;
//! // ready and ready_timeout: the launcher returns when the body calls ready().
//! #[daemon(ready = "manual", ready_timeout = "30s")]
//! fn main() {
//!     // set up, then:
//!     daemon_runtime::ready();
//! }
//! ```
//!
//! ```no_run
//! # use daemon_runtime::daemon;
//! // foreground: any bool expression, evaluated before detaching.
//! #[daemon(foreground = std::env::args().any(|arg| arg == "--foreground"))]
//! fn main() {}
//! ```
//!
//! ```no_run
//! # use daemon_runtime::daemon;
//! // init: runs as root after the pid file lock; its value is main's argument.
//! fn bind() -> std::io::Result<std::net::TcpListener> {
//!     std::net::TcpListener::bind("0.0.0.0:80")
//! }
//!
//! #[daemon(init = bind, user = "nobody")]
//! fn main(listener: std::net::TcpListener) {
//! #   drop(listener);
//! }
//! ```
//!
//! ```no_run
//! // crate: where the runtime is, when it is renamed or re-exported.
//! use daemon_runtime as runtime;
//! #[runtime::daemon(crate = "runtime")]
//! fn main() {}
//! ```
//!
//! # Cargo features and MSRV
//!
//! The crate has **no cargo features**: everything is always built. The
//! minimum supported Rust version is **1.88** (the
//! workspace's `rust-version`); raising it is a minor release.
//!
//! # Platforms
//!
//! Linux (glibc) is the platform it is tested on, with its fast paths:
//! `/proc`, `close_range`, pidfds, `PR_SET_CHILD_SUBREAPER`,
//! `SO_PASSCRED`; the POSIX fallbacks macOS and FreeBSD take are tested on
//! Linux too, built with `--cfg daemon_portable`. musl is compiled, not
//! tested. macOS and FreeBSD are compiled, and what the code assumes of
//! their kernels is traced to their sources (cited beside the code), but
//! no step has run on either: they take their own means (`proc_pidinfo`
//! or `sysctl` for the thread count, a `/dev/fd` listing or `close_range`,
//! libc `sigaction`, `procctl(PROC_REAP_ACQUIRE)` on FreeBSD; on macOS,
//! which has no subreaper, the intermediate process stays the daemon's
//! parent until the start's verdict). There a pid file's lock holder, for
//! a start, [`status`], [`stop`] and [`signal`], is taken from the pid
//! written in the file: the lock refuses a non-blocking `flock`, that
//! process (watched by a kqueue `EVFILT_PROC`, which reports its exit but
//! does not hold its pid as a pidfd does) has the file open
//! (`proc_pidinfo`, `sysctl(KERN_PROC_FILEDESC)`), and it is signalled only
//! while the watch shows it has not exited; a holder the file does not
//! name is never found, so never signalled, and one that cannot be
//! inspected is "cannot tell", an error, never "not running". What has no
//! safe means there is refused with [`Error::Unsupported`] or
//! [`std::io::ErrorKind::Unsupported`]: [`Daemon::exec_notify`] and
//! [`NotifyReceiver`]; `$NOTIFY_SOCKET` is ignored. Any other system gets
//! one compile error.
//! The README's platform table says what each step uses where, how each
//! row is known (run here, traced to the kernel's source, or compiled),
//! the minimum versions, and what CI compiles and runs.
//!
//! # Under a service manager
//!
//! sd_notify(3) beyond [`ready`]: [`notify_status`], [`notify_reloading`]
//! (`Type=notify-reload`), [`notify_extend_timeout`], [`notify_watchdog`]
//! with [`watchdog_interval`], [`notify_stopping`] (also sent by the crate
//! when `main` returns and from its termination handler). Each is a no-op
//! without `$NOTIFY_SOCKET`, never blocks, and may be called from any thread.
//! Socket activation (sd_listen_fds(3)): [`listen_fds`].
//!
//! ```no_run
//! use daemon_runtime::daemon;
//!
//! #[daemon(foreground = daemon_runtime::supervised(), ready = "manual")]
//! fn main() -> std::io::Result<()> {
//!     let listener = match daemon_runtime::listen_fds().into_iter().next() {
//!         Some((socket, _name)) => std::net::TcpListener::from(socket),
//!         None => std::net::TcpListener::bind("127.0.0.1:8080")?,
//!     };
//!     daemon_runtime::ready();
//!     daemon_runtime::notify_status("accepting connections");
//!     for client in listener.incoming() {
//!         // serve...
//! #       drop(client);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # Wrapped by daemon-run
//!
//! `daemon-run --pid-file P` ([`Daemon::exec`]) locks `P` and hands its
//! lock to the program it executes on descriptor 3, announced as
//! `LISTEN_FDS` announces sockets: `DAEMON_LOCK_FD=3` and
//! `DAEMON_LOCK_PID=<the program's pid>`. A start of a program built on
//! this crate would close that descriptor with the others it inherits
//! (step 2), and the lock with it. Instead, when `DAEMON_LOCK_PID` is its
//! own pid and the descriptor is open on a regular file whose exclusive
//! lock it holds, the start keeps it (close-on-exec, so nothing the daemon
//! executes later inherits it), removes both variables from its
//! environment, and detaches as usual: the daemon shares the open file
//! description, so the lock never lapses, and `daemon-run --status`,
//! `--stop` and a second start find the daemon. An announcement that does
//! not hold up takes nothing (the descriptor is a stray, closed).
//!
//! The program's own `pid_file` then decides where the lock lives:
//!
//! | own `pid_file` | what happens |
//! |---|---|
//! | none | the handed lock is held for the daemon's life; `P` still names the program's first process, which exited, and Linux finds the daemon through `/proc/locks` (the holder of a lock whose taker forked and exited); macOS and FreeBSD take `P` for stale: give the program `P` itself |
//! | `P` itself (the same lock file) | adopted, as an [`Upgrade`]'s new process adopts its old one's: not locked again, the pid file rewritten with the daemon's pid, removed when the daemon ends, as if it had locked it itself. The recommended setup |
//! | another file | locked as usual; `P`'s lock is held beside it, so both lead to the daemon |
//!
//! # Upgrading without dropping a connection
//!
//! [`Upgrade`] starts the executable now at the daemon's path, hands it the
//! listening sockets and the pid file's lock without a window, and returns
//! once it is ready (its pid), or its error, leaving this process serving.
//! The old process then stops accepting, drains and returns from `main`;
//! its pid file stays, the new process's. From outside, the daemon's owner
//! or root asks with [`request_upgrade`] (`daemon-run --upgrade`): SIGUSR2
//! to the proven lock holder, and the outcome sent back by `run`.
//!
//! ```no_run
//! #[daemon_runtime::daemon(pid_file = "/run/myd.pid")]
//! fn main() -> std::io::Result<()> {
//!     let listener = match daemon_runtime::listen_fds().into_iter().next() {
//!         Some((fd, _name)) => std::net::TcpListener::from(fd), // from the previous process
//!         None => std::net::TcpListener::bind("127.0.0.1:8080")?,
//!     };
//!     // serve until SIGUSR2, then:
//!     match daemon_runtime::Upgrade::new().socket(&listener).run() {
//!         Ok(pid) => eprintln!("pid {pid} serves now"), // drain, then return
//!         Err(error) => eprintln!("still serving: {error}"),
//!     }
//!     Ok(())
//! }
//! ```
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
//!
//! # Reading the source
//!
//! One start, file by file: `builder.rs` (the configuration), then
//! `start/` in order: `mod.rs` (preflight, plan, fork), `plan.rs` (every
//! name resolved and path walked before the fork, split into the
//! launcher's half and the daemon's), `launcher.rs` (the launcher's wait,
//! over the pipe of `report.rs`; `verdict.rs` where there is no
//! subreaper; `child.rs` to reap), `detach.rs` (the daemon's steps, one
//! file each in `steps/`), `program.rs` (the `exec` of
//! [`Daemon::exec`]), `takeover.rs` (an upgrade's new process). Beside
//! them: `path/` (`walk.rs`, the walk by descriptor; `at.rs`, a file in a
//! walked directory; `cstr.rs`), `lock/` (who holds the pid file's lock),
//! `sd_notify/` (the service manager's protocol and [`ready`]),
//! `upgrade/` ([`Upgrade`], [`request_upgrade`]), `control.rs`
//! ([`status`], [`stop`], [`signal`]), `error/` ([`Error`], [`Errno`]), `deadline.rs`, and
//! `sys/`, the only place that names a platform. The README's Layout
//! section says what each file holds.
#![deny(missing_docs, unsafe_op_in_unsafe_fn)]
// The "what it expands to" example shows `fn main` on purpose.
#![allow(clippy::needless_doctest_main)]

mod builder;
mod control;
mod deadline;
mod error;
mod lock;
mod path;
mod sd_notify;
mod start;
mod steps;
mod sys;
pub mod sysexits;
mod upgrade;

pub use builder::{Daemon, Running};
pub use control::{Status, StopOptions, Stopped, signal, status, stop};
pub use daemon_macro::daemon;
pub use error::errno::Errno;
pub use error::{Error, Refusal, Step};
/// The `nix` this crate is built on, for a program that needs more of it
/// than [`Signal`] (say, `nix::unistd::Pid` to send a signal itself): use
/// `daemon_runtime::nix`, and no version of `nix` has to be matched in the
/// program's own `Cargo.toml`. Its major version is part of this crate's
/// semver (see [Types and errors](crate#types-and-errors)).
pub use nix;
/// The signal [`signal`], [`StopOptions::signal`] and
/// [`Daemon::reopen_logs_on`] take: `nix`'s own type, re-exported so that a
/// program names it as `daemon_runtime::Signal` without depending on `nix`.
/// Kept rather than copied: which signals exist, and their numbers, differ
/// between Linux, macOS and FreeBSD, and `nix` keeps that table (with the
/// names `"SIGHUP".parse()` takes and the `i32` conversions) for each
/// system; a crate-owned copy would be a second table to keep true. The
/// price is that `nix`'s major version is part of this crate's semver: a
/// new major `nix` is a breaking release here.
pub use nix::sys::signal::Signal;
pub use sd_notify::ready::{Ready, ready};
pub use sd_notify::receive::NotifyReceiver;
pub use sd_notify::send::{
    notify_extend_timeout, notify_reloading, notify_status, notify_stopping, notify_watchdog,
    watchdog_interval,
};
pub use sd_notify::supervised::supervised;
pub use steps::activation::listen_fds;
pub use steps::fds::close_inherited_fds;
pub use steps::pidfile::{LOCK_SUFFIX, PidFile};
pub use steps::preflight::{ensure_single_threaded, fill_closed_stdio};
pub use steps::privileges::Account;
pub use steps::signals::reset_signals;
pub use steps::stdio::reopen_logs;
pub use upgrade::Upgrade;
pub use upgrade::request::{Requested, request_upgrade};

#[doc(hidden)]
pub mod __private {
    //! What `#[daemon]` expands to calls. Not a public API.
    use crate::builder::{Daemon, Running};

    /// The `/proc/self/fd` fallback of closing inherited descriptors, for
    /// the tests' probe only (see `steps/fds.rs`).
    pub use crate::steps::fds::close_listed_fds;

    // What `daemon-run` shares with the runtime rather than copying it:
    // the argv/envp arrays, the environment a program gets and the one
    // `exec`, which restores SIGPIPE's default action (`start/program.rs`);
    // the walk, and the pid file's rules for a file in a walked directory
    // (`path/at.rs`), for `--child-pid-file` and `--listen unix:`; the
    // pid's text; the pipe whose ends close on `exec`; waiting for a child
    // and saying how it ended (`start/child.rs`), for the supervisor.
    pub use crate::lock::pid_text::{write_pid, written_pid};
    pub use crate::path::at::{examine_at, open_at, remove_named};
    pub use crate::path::cstr::CStringArray;
    pub use crate::path::walk::{Denied, Trust, directory as walk_directory, parent as walk_parent};
    pub use crate::start::child::{describe, reap};
    pub use crate::start::program::{Environment, Program};
    // The sockets a service manager passed, which `--listen` adds to, and
    // `LISTEN_PID` for each program `--respawn` executes.
    pub use crate::steps::activation::passed_count;
    pub use crate::steps::env_pids::rewrite_listen_pid;
    pub use crate::sys::{Inode, cloexec_pipe, inode};
    // The kernel's means for `daemon-run`'s supervisor (`sys/mod.rs`), so
    // that no platform is named outside `sys/`.
    pub use crate::sys::{CREDENTIALED_DATAGRAMS, SignalFd, child_ended, parent_death_signal};
    // The answer to `daemon-run --upgrade` from a `--respawn` supervisor,
    // which swaps its PROGRAM rather than running `Upgrade`.
    pub use crate::upgrade::reply::send as send_upgrade_reply;

    /// Starts the daemon; in the launcher, or on an error before forking,
    /// prints the error and exits.
    pub fn start(daemon: Daemon) -> Running {
        daemon.start().unwrap_or_else(|error| error.exit())
    }

    /// [`start`] with `init` (the attribute's `init = path`): returns, in the
    /// daemon only, what `init` produced; its error fails the start.
    pub fn start_with<T, E: core::fmt::Display>(
        daemon: Daemon,
        init: impl FnOnce() -> Result<T, E>,
    ) -> (Running, T) {
        daemon.start_with(init).unwrap_or_else(|error| error.exit())
    }
}
