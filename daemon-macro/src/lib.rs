//! The `#[daemon]` attribute of [`daemon-runtime`](https://docs.rs/daemon-runtime).
//!
//! Depend on `daemon-runtime`, not on this crate: it re-exports the attribute,
//! and the code the attribute generates calls into it. This crate only parses
//! and checks the attribute's keys, reporting every misuse as a compile error
//! on the offending token, and rewrites `fn main`.
//!
//! The work is split by phase, as in `thiserror-impl` and `tokio-macros`:
//! `args` reads the keys and `validate` checks their values into a
//! configuration; `item` reads the function and `signature` checks it;
//! `expand` writes the new `main`; `fallback` writes a neutral one around
//! the body when there are errors (collected by `errors`); `entry` ties them
//! together.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod args;
mod entry;
mod errors;
mod expand;
mod fallback;
#[cfg(test)]
mod fuzz;
mod item;
mod signature;
mod suggest;
mod validate;

use proc_macro::TokenStream;

/// Turns `fn main` into a Unix daemon.
///
/// ```ignore
/// use daemon_runtime::daemon;
///
/// #[daemon(umask = 0o027, chdir = "/", pid_file = "/run/myd.pid")]
/// fn main() {
///     // runs in the fully detached daemon
/// }
/// ```
///
/// # Keys
///
/// Every key is optional; a key left out keeps the runtime's default
/// (`daemon_runtime::Daemon::new()`). `#[daemon]` alone is valid.
///
/// | key | value | checked at compile time |
/// |---|---|---|
/// | `umask` | integer literal, like `0o027` | in `0..=0o777`; `022` (decimal in Rust) is refused |
/// | `chdir` | string literal | an absolute path, no NUL byte |
/// | `double_fork` | `true` or `false` | |
/// | `pid_file` | string literal, or any expression whose type is `AsRef<Path>` | a literal is an absolute path that names a file, not a directory |
/// | `close_fds` | `true` or `false` | |
/// | `keep_fds` | array of integer literals, like `[3, 4]` | each `>= 3` and an `i32`; not with `close_fds = false` |
/// | `user`, `group` | a name string, like `"nobody"`, or a numeric id, like `65534` | a name is non-empty, without NUL, `:`, `/` or whitespace; an id is a `u32` |
/// | `chroot` | string literal | an absolute path, no NUL byte |
/// | `core_dumps` | `true` or `false` | |
/// | `stdout`, `stderr` | string literal | an absolute path that names a file, not a directory |
/// | `ready` | `"auto"` or `"manual"` | one of the two |
/// | `ready_timeout` | duration string: `"500ms"`, `"30s"`, `"2m"` | a whole number of `ms`, `s` or `m`, greater than zero |
/// | `foreground` | any `bool` expression, evaluated before detaching | by the type checker; `true` written as a literal refuses `double_fork` |
/// | `init` | path to a `fn() -> Result<T, E>`, `E: Debug`, like `init = bind_listener` | a path; its `T` by the type checker, against `main`'s argument |
/// | `crate` | string literal holding a path | parses as a path; default `"::daemon_runtime"` |
///
/// Each key may appear once. Unknown keys are refused, with a suggestion when
/// one is close. An expression given to `pid_file` or `foreground` is
/// evaluated once, before the process detaches. With `ready = "manual"` the
/// launcher waits until the body calls `daemon_runtime::ready()`.
///
/// # What it expands to
///
/// ```ignore
/// #[daemon(umask = 0o027, pid_file = "/run/myd.pid")]
/// fn main() -> Result<(), Error> {
///     serve()
/// }
/// ```
///
/// becomes
///
/// ```ignore
/// fn main() -> Result<(), Error> {
///     let __daemon_running = ::daemon_runtime::__private::start(
///         ::daemon_runtime::Daemon::new().umask(0o027).pid_file("/run/myd.pid"),
///     );
///     serve()
/// }
/// ```
///
/// Only the daemon returns from `start`: the launching process exits there,
/// with status 0 once the daemon is ready or with an error message and a
/// non-zero status. The binding is invisible to the body and lives until
/// `main` returns, because dropping it removes the pid file. `main` may return
/// `()`, `Result<(), E: Debug>` or `std::process::ExitCode`.
///
/// # `init`
///
/// `init` runs in the daemon after the pid file is locked and after
/// `chroot`, before the privilege drop: still as root, to bind a port below
/// 1024 or open a file only root can. What it returns is `main`'s one
/// argument; an `Err` fails the start (the launcher prints
/// `error: init: <its Debug>` and exits 69, leaving no process and no pid
/// file).
///
/// ```ignore
/// fn bind() -> std::io::Result<TcpListener> {
///     TcpListener::bind("127.0.0.1:80")
/// }
///
/// #[daemon(init = bind, user = "nobody")]
/// fn main(listener: TcpListener) {
///     serve(listener)
/// }
/// ```
///
/// becomes
///
/// ```ignore
/// fn main() {
///     let (__daemon_running, __daemon_init) = ::daemon_runtime::__private::start_with(
///         ::daemon_runtime::Daemon::new().user("nobody"),
///         bind,
///     );
///     let listener: TcpListener = __daemon_init;
///     serve(listener)
/// }
/// ```
///
/// The argument keeps the pattern and type written, so a type that does not
/// match `init`'s is an error on them and on `init`. A `main` without an
/// argument needs an `init` that returns `Result<(), E>`: a value it
/// produced would otherwise be dropped unseen.
///
/// # Async runtimes
///
/// A process must not have threads when it forks, so `async fn main` is
/// accepted only with a runtime attribute below `#[daemon]`:
///
/// ```ignore
/// #[daemon(pid_file = "/run/myd.pid")]
/// #[tokio::main]
/// async fn main() {
///     serve().await
/// }
/// ```
///
/// The process detaches first, and the runtime is built afterwards, in the
/// daemon: the body moves into an inner `async fn` that keeps the runtime
/// attribute (any attribute whose path ends in `main`) and every attribute
/// written after it, and the outer, synchronous `main` calls it after `start`,
/// passing it `init`'s value when there is one.
///
/// # Errors
///
/// Misuse is a compile error on the offending token: an unknown or repeated
/// key, a key without a value, a value of the wrong form or out of range,
/// `keep_fds` with `close_fds = false`, `double_fork` with
/// `foreground = true`, and the attribute on anything but a
/// plain `fn main` (not generic, not `const`, `unsafe`, `extern` or, without
/// a runtime attribute, `async`; no arguments, or one with `init`).
#[proc_macro_attribute]
pub fn daemon(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::daemon(args.into(), item.into()).into()
}
