//! The platform aliases the runtime's `sys/` chooses by, as nix does: every
//! difference between the kernels this crate supports is spelled with one
//! of these names, in `src/sys/` only.

use cfg_aliases::cfg_aliases;

fn main() {
    // `--cfg daemon_portable` (Linux only) swaps Linux's fast paths for the
    // POSIX fallbacks macOS and FreeBSD take, so that Linux's tests run them.
    // The code names only the aliases below, never `daemon_portable` itself:
    // the aliases reach rustc and rustdoc alike (doctests are compiled with
    // RUSTDOCFLAGS, which do not carry RUSTFLAGS' `--cfg`).
    println!("cargo::rustc-check-cfg=cfg(daemon_portable)");
    cfg_aliases! {
        linux: { target_os = "linux" },
        macos: { target_os = "macos" },
        freebsd: { target_os = "freebsd" },
        // Linux's own means: `/proc/locks`, `close_range`, the raw
        // `rt_sigaction`, `PR_SET_CHILD_SUBREAPER`, `pipe2`.
        linux_fast: { all(linux, not(daemon_portable)) },
        // Linux under `daemon_portable`. Spelled here, once: rustdoc is not
        // given RUSTFLAGS, so a raw `cfg(daemon_portable)` in the source would
        // disagree with the aliases (which see it) in a doctest build.
        linux_portable: { all(linux, daemon_portable) },
        // The POSIX fallbacks: macOS, FreeBSD, Linux under `daemon_portable`.
        portable: { any(macos, freebsd, linux_portable) },
        // Where a kqueue `EVFILT_PROC` watch pins a process (no pidfd).
        kqueue: { any(macos, freebsd) },
        supported: { any(linux, macos, freebsd) },
    }
}
