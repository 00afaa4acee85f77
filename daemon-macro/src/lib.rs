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
/// (`daemon_runtime::Daemon::new()`). `#[daemon]` alone is valid. The keys,
/// what each accepts, its default and what is checked at compile time are in
/// one table, in [`daemon_runtime`'s documentation][keys].
///
/// Each key may appear once. Unknown keys are refused, with a suggestion when
/// one is close. An expression given to `pid_file`, `keep_fds` or
/// `foreground` is evaluated once, before the process detaches. With
/// `ready = "manual"` the launcher waits until the body calls
/// `daemon_runtime::ready()`.
///
/// [keys]: https://docs.rs/daemon-runtime/latest/daemon_runtime/#the-attribute
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
/// `error: init: <its Display>` and exits 69, leaving no process and no pid
/// file), so `init`'s error type needs `Display`, as `std::io::Error`,
/// `String` and `anyhow::Error` have.
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
///     let __daemon_init_fn: fn() -> Result<_, _> = bind;
///     let (__daemon_running, __daemon_init) = ::daemon_runtime::__private::start_with(
///         ::daemon_runtime::Daemon::new().user("nobody"),
///         __daemon_init_fn,
///     );
///     let listener: TcpListener = __daemon_init;
///     serve(listener)
/// }
/// ```
///
/// The argument keeps the pattern and type written, so a type that does not
/// match `init`'s is an error on them and on `init`; an `init` that returns
/// no `Result`, or whose error has no `Display`, is an error on `init`'s
/// path. A `main` without an argument needs an `init` that returns
/// `Result<(), E>`: a value it produced would otherwise be dropped unseen.
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
/// `#[daemon]` must be the first of the two. Written below `#[tokio::main]`,
/// it receives tokio's rewrite of `main` and refuses it with "`#[daemon]`
/// must be written above `#[tokio::main]`" (with an `init` argument, tokio's
/// own "the main function cannot accept arguments" comes too).
///
/// # Errors
///
/// Misuse is a compile error on the offending token: an unknown or repeated
/// key, a key without a value, a value of the wrong form or out of range,
/// `keep_fds` with `close_fds = false`, `double_fork` with
/// `foreground = true`, and the attribute on anything but a
/// plain `fn main` (not generic, not `const`, `unsafe`, `extern` or, without
/// a runtime attribute, `async`; no arguments, or one with `init`).
///
/// One mistake gets one error. On any error the attribute expands to its
/// `compile_error!`s and the body, kept in a function of its own inside a
/// neutral `fn main()`: rustc adds no error of its own about `main`'s
/// signature, the body is still type-checked, and an IDE still completes in
/// it.
#[proc_macro_attribute]
pub fn daemon(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::daemon(args.into(), item.into()).into()
}
