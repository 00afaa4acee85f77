//! PROGRAM killed by the kernel when its supervisor dies, even by SIGKILL.
//!
//! Linux: `PR_SET_PDEATHSIG`, also when built with `--cfg daemon_portable`
//! (Linux has no other means to run instead). FreeBSD:
//! `procctl(PROC_PDEATHSIG_CTL)`. macOS has no such request: a supervisor
//! killed by SIGKILL leaves its PROGRAM running there (a supervisor that
//! exits any other way still kills PROGRAM's group first). The runtime's
//! `sys/` holds each (`__private::parent_death_signal`).

/// In the forked child: asks for `signal` when the parent dies.
/// Async-signal-safe (one system call, no allocation). Whether it worked is
/// not checked: the caller compares `getppid()` with the supervisor's pid
/// right after, which also covers a parent that died before the request.
pub use daemon_runtime::__private::parent_death_signal as request;
