//! Starting the new process of an upgrade from a running daemon, which may
//! run many threads (an async runtime's): everything is built before the
//! `fork`, and the child makes only async-signal-safe calls until `execve`
//! (no allocation, no lock), as std's `Command::spawn` does. std's own
//! `Command` is not used because the child must write its pid into
//! `LISTEN_PID` (sd_listen_fds(3) names the process the sockets are for)
//! and put the passed descriptors at fixed numbers, which only the child
//! can do.
//!
//! The child's descriptors: the sockets on 3, 4, …, then the pid file's
//! lock, then the write end of the report pipe; every other descriptor of
//! the daemon is close-on-exec or closed by the new process's start.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::error::{Failure, Step};
use crate::lock::pid_text::format_pid;
use crate::path::cstr::CStringArray;
use crate::start::program::execute;
use crate::start::report;

/// `LISTEN_PID=`, then room for any pid and the NUL.
const LISTEN_PID: &[u8] = b"LISTEN_PID=";
const ENTRY_LEN: usize = 40;

/// What the child is given, built before the fork.
pub(crate) struct Prepared {
    pub(crate) exe: CString,
    pub(crate) argv: CStringArray,
    /// The environment; its `LISTEN_PID` entry points into `listen_pid`.
    pub(crate) envp: CStringArray,
    /// Owned by this value, which outlives the child's use of it.
    listen_pid: Option<Box<[u8; ENTRY_LEN]>>,
    pub(crate) dir: CString,
    /// The descriptors to pass, in the order of their numbers from 3.
    pub(crate) fds: Vec<RawFd>,
    /// Scratch space for the child's moved copies, allocated here.
    moved: Vec<RawFd>,
}

impl Prepared {
    /// `env` without the variables the upgrade sets, then those; with
    /// `sockets` descriptors, `LISTEN_PID` is the child's to fill in.
    pub(crate) fn new(
        exe: CString,
        argv: Vec<CString>,
        env: Vec<CString>,
        sockets: usize,
        dir: CString,
        fds: Vec<RawFd>,
    ) -> Prepared {
        let mut listen_pid = (sockets > 0).then(|| {
            let mut entry = Box::new([0u8; ENTRY_LEN]);
            entry[..LISTEN_PID.len()].copy_from_slice(LISTEN_PID);
            entry
        });
        let borrowed: Vec<*const libc::c_char> =
            listen_pid.iter_mut().map(|entry| entry.as_ptr().cast()).collect();
        // SAFETY: the `LISTEN_PID` entry is boxed and owned by the value
        // built here, beside the array: it neither moves nor is freed while
        // the array is used.
        let envp = unsafe { CStringArray::with_borrowed(env, &borrowed) };
        let moved = vec![-1; fds.len()];
        Prepared { exe, argv: CStringArray::new(argv), envp, listen_pid, dir, fds, moved }
    }
}

/// Forks and executes the new process; returns its pid. `report` is the
/// pipe's write end, the last of `prepared.fds`: closed here once the child
/// has its copy.
pub(crate) fn spawn(mut prepared: Prepared, report: OwnedFd) -> nix::Result<Pid> {
    // Signals stay blocked in the child until just before `execve`: a
    // handler of this process (an async runtime's) must not run there.
    let all = nix::sys::signal::SigSet::all();
    let mut previous = nix::sys::signal::SigSet::empty();
    nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_BLOCK,
        Some(&all),
        Some(&mut previous),
    )?;
    let listen_pid = prepared.listen_pid.as_mut().map(|entry| entry.as_mut_ptr());
    // SAFETY: the child calls only async-signal-safe functions (getpid,
    // fcntl, dup2, chdir, pthread_sigmask, execve, write, _exit) and
    // writes only into memory allocated before the fork (its own copy),
    // so no lock another thread held at the fork is ever needed there.
    let forked = unsafe { libc::fork() };
    if forked == 0 {
        child(&mut prepared, listen_pid, report.as_raw_fd(), &previous)
    }
    let _ =
        nix::sys::signal::pthread_sigmask(nix::sys::signal::SigmaskHow::SIG_SETMASK, Some(&previous), None);
    drop(report);
    Errno::result(forked).map(Pid::from_raw)
}

/// The child, up to `execve`. Never returns: a failure is reported on the
/// pipe (as the step it belongs to) and the child leaves with 127.
fn child(
    prepared: &mut Prepared,
    listen_pid: Option<*mut u8>,
    report: RawFd,
    mask: &nix::sys::signal::SigSet,
) -> ! {
    let fail = |fd: RawFd, step: Step, errno: Errno| -> ! {
        // SAFETY: `fd` is the report pipe's write end in this process,
        // borrowed for one write.
        let pipe = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let _ = report::send(pipe, Err(Failure::Sys(step, errno)));
        crate::sysexits::leave(127)
    };
    if let Some(entry) = listen_pid {
        let mut digits = [0u8; 24];
        // SAFETY: `getpid` has no preconditions.
        let pid = unsafe { libc::getpid() }.unsigned_abs();
        let digits = format_pid(pid, &mut digits);
        let digits = &digits[..digits.len() - 1]; // without its newline
        // SAFETY: `entry` points to this process's copy of the boxed
        // `[u8; ENTRY_LEN]` that `prepared` owns; `LISTEN_PID=`, at most
        // 10 digits and the NUL fit, and nothing else uses it here.
        let entry = unsafe { &mut *entry.cast::<[u8; ENTRY_LEN]>() };
        let start = LISTEN_PID.len();
        entry[start..start + digits.len()].copy_from_slice(digits);
        entry[start + digits.len()] = 0;
    }
    // Each descriptor first to a number above every target, then to its
    // target: a source may sit on another's target.
    let floor = 3 + prepared.fds.len() as RawFd;
    for (index, &fd) in prepared.fds.iter().enumerate() {
        // SAFETY: F_DUPFD_CLOEXEC takes no pointer; `fd` is open in this process.
        let moved = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, floor) };
        if moved < 0 {
            fail(report, Step::Upgrade, Errno::last())
        }
        prepared.moved[index] = moved;
    }
    let report_moved = prepared.moved.last().copied().unwrap_or(report);
    for (index, &moved) in prepared.moved.iter().enumerate() {
        // SAFETY: dup2 takes no pointer; the target gets a copy without
        // FD_CLOEXEC, which is what passes it on.
        if unsafe { libc::dup2(moved, 3 + index as RawFd) } < 0 {
            fail(report_moved, Step::Upgrade, Errno::last())
        }
    }
    let report = 3 + prepared.fds.len() as RawFd - 1;
    // SAFETY: `dir` is a C string that `prepared` owns.
    if unsafe { libc::chdir(prepared.dir.as_ptr()) } < 0 {
        fail(report, Step::Chdir, Errno::last())
    }
    // SAFETY: `mask` is an initialized set; no old mask is asked for.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, mask.as_ref(), std::ptr::null_mut()) };
    // The crate's one exec; the arrays (the `LISTEN_PID` entry too) are
    // owned by `prepared`.
    let errno = execute(&prepared.exe, &prepared.argv, Some(&prepared.envp));
    fail(report, Step::Exec, errno)
}

/// `name=value` as a C string; `None` when either holds a NUL.
pub(crate) fn entry(name: &[u8], value: &[u8]) -> Option<CString> {
    let mut bytes = Vec::with_capacity(name.len() + 1 + value.len());
    bytes.extend_from_slice(name);
    bytes.push(b'=');
    bytes.extend_from_slice(value);
    CString::new(bytes).ok()
}

/// A path as a C string, for the child.
pub(crate) fn c_path(path: &std::path::Path) -> Option<CString> {
    CString::new(path.as_os_str().as_encoded_bytes()).ok()
}
