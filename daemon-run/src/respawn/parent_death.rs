//! PROGRAM killed by the kernel when its supervisor dies, even by SIGKILL.
//!
//! Linux: `PR_SET_PDEATHSIG`, also when built with `--cfg daemon_portable`
//! (Linux has no other means to run instead). FreeBSD:
//! `procctl(PROC_PDEATHSIG_CTL)`. macOS has no such request: a supervisor
//! killed by SIGKILL leaves its PROGRAM running there (a supervisor that
//! exits any other way still kills PROGRAM's group first).

use nix::sys::signal::Signal;

/// In the forked child: asks for `signal` when the parent dies.
/// Async-signal-safe (one system call, no allocation). Whether it worked is
/// not checked: the caller compares `getppid()` with the supervisor's pid
/// right after, which also covers a parent that died before the request.
#[cfg(target_os = "linux")]
pub fn request(signal: Signal) {
    let _ = nix::sys::prctl::set_pdeathsig(signal);
}

/// In the forked child: asks for `signal` when the parent dies.
/// Async-signal-safe (one system call, no allocation).
#[cfg(target_os = "freebsd")]
pub fn request(signal: Signal) {
    let mut number = signal as libc::c_int;
    // SAFETY: PROC_PDEATHSIG_CTL on the calling process (P_PID, 0) reads
    // one `int`, the signal number, from `data`, which points to `number`.
    unsafe { libc::procctl(libc::P_PID, 0, libc::PROC_PDEATHSIG_CTL, (&raw mut number).cast()) };
}

/// macOS and the other systems: no parent-death signal exists.
#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
pub fn request(_signal: Signal) {}
