//! Linux: the thread count from `/proc/self/stat`, `close_range(2)`, the
//! raw `rt_sigaction` (glibc refuses its reserved signals 32 and 33, which
//! can be inherited ignored all the same), `SigIgn` read from
//! `/proc/self/status`, `PR_SET_CHILD_SUBREAPER`, and the abstract,
//! credential-passing sockets of sd_notify(3). Under `--cfg
//! daemon_portable` the fast paths give way to `portable.rs`, so that the
//! tests run the fallbacks macOS and FreeBSD take.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr, bind, recvmsg, sendto,
    setsockopt, socket, sockopt,
};
use nix::sys::stat::Mode;
use nix::unistd;

use super::signal_table;
use crate::error::{Error, Step};

/// The kernel's thread count of this process: field 20 of `/proc/self/stat`.
pub(crate) fn threads() -> Result<usize, Error> {
    let unreadable = |errno| Error::Path {
        step: Step::Preflight,
        path: "/proc/self/stat".into(),
        errno: crate::error::errno::Errno::of(errno),
    };
    let stat = nix::fcntl::open(c"/proc/self/stat", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(unreadable)?;
    let mut buf = [0u8; 1024];
    let len = unistd::read(&stat, &mut buf).map_err(unreadable)?;
    thread_count(&buf[..len]).ok_or(unreadable(Errno::EPROTO))
}

/// `num_threads` from the text of `/proc/PID/stat`: the 18th field after
/// the command name, which is in parentheses and may itself hold spaces.
/// Byte by byte: `str`'s splitting and parsing cost some 3 KiB of code.
fn thread_count(stat: &[u8]) -> Option<usize> {
    let after_name = &stat[stat.iter().rposition(|&b| b == b')')? + 1..];
    let mut fields = after_name.split(|&b| b == b' ' || b == b'\n').filter(|field| !field.is_empty());
    decimal(fields.nth(17)?)
}

/// The value of an unsigned decimal number of at most 18 digits.
fn decimal(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    digits.iter().try_fold(0usize, |value, &digit| {
        digit.is_ascii_digit().then(|| value * 10 + usize::from(digit - b'0'))
    })
}

/// Linux has `PR_SET_CHILD_SUBREAPER` (since 3.4).
#[cfg(linux_fast)]
pub(crate) const SUBREAPER: bool = true;

/// Whether [`subreaper`] made this process the subreaper, and so may undo it.
#[cfg(linux_fast)]
static ACQUIRED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `PR_SET_CHILD_SUBREAPER`: orphans of our descendants become our children.
/// Ceasing undoes only what this function did: a program that was a
/// subreaper already (`PR_GET_CHILD_SUBREAPER`) stays one after a failed
/// start, and its own orphans stay its own.
#[cfg(linux_fast)]
pub(crate) fn subreaper(on: bool) -> nix::Result<()> {
    use nix::sys::prctl::{get_child_subreaper, set_child_subreaper};
    use std::sync::atomic::Ordering;
    if !on {
        return match ACQUIRED.swap(false, Ordering::SeqCst) {
            true => set_child_subreaper(false),
            false => Ok(()),
        };
    }
    if get_child_subreaper()? {
        return Ok(()); // the program's own role: not ours to release
    }
    set_child_subreaper(true)?;
    ACQUIRED.store(true, Ordering::SeqCst);
    Ok(())
}

/// The children of the calling thread (the whole process, in a launcher:
/// the preflight proved it single-threaded), zombies included, from
/// `/proc/thread-self/children` (Linux 3.17 with `CONFIG_PROC_CHILDREN`, as
/// every distribution's kernel has it); `None` when it cannot be read.
/// The kernel fills it while the list may change: a caller that must see
/// every child reads it again until nothing new appears.
///
/// A process with no child at all, the common case, is told by one
/// `waitid(P_ALL, WNOHANG | WNOWAIT | __WALL)`, which reaps nothing and
/// answers `ECHILD` only when there is no child, live, stopped or a
/// zombie, whatever signal it sends its parent at exit (`__WALL`;
/// torvalds/linux `kernel/exit.c` `do_wait`, whose `notask_error` stays
/// `ECHILD` only when no child is eligible): the list is read only when
/// there is one.
#[cfg(linux_fast)]
pub(crate) fn children() -> Option<Vec<u32>> {
    // SAFETY: all-zero is a valid `siginfo_t`, which the kernel may overwrite.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL;
    // SAFETY: `info` is valid and writable; WNOWAIT leaves every child as it is.
    let res = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, options) };
    if res == -1 && Errno::last() == Errno::ECHILD {
        return Some(Vec::new());
    }
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    let file = nix::fcntl::open(c"/proc/thread-self/children", flags, Mode::empty()).ok()?;
    let mut chunk = [0u8; 512];
    let mut text: Vec<u8> = Vec::new();
    loop {
        match unistd::read(&file, &mut chunk) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&chunk[..n]),
            Err(Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
    text.split(|&b| b == b' ' || b == b'\n')
        .filter(|pid| !pid.is_empty())
        .map(|pid| decimal(pid).and_then(|pid| u32::try_from(pid).ok()))
        .collect()
}

/// `/proc/self/fd`, or `/dev/fd` (a link to it) under `daemon_portable`,
/// which is what macOS lists.
#[cfg(linux_fast)]
pub(crate) const FD_LISTING: Option<&CStr> = Some(c"/proc/self/fd");
#[cfg(linux_portable)]
pub(crate) const FD_LISTING: Option<&CStr> = Some(c"/dev/fd");

/// `close_range(2)` (Linux 5.9): nix has no wrapper and glibc's needs 2.34,
/// so the raw system call. Under `daemon_portable`, `ENOSYS`, as on macOS.
///
/// Sound only under the contract of
/// [`close_inherited_fds`](crate::steps::fds::close_inherited_fds): nothing
/// owns a descriptor in the range.
pub(crate) fn close_range(first: u32, last: u32) -> nix::Result<()> {
    if cfg!(linux_portable) {
        return Err(Errno::ENOSYS);
    }
    // SAFETY: close_range only closes descriptors; the callers' contract
    // says nothing owns the ones in the range.
    let res = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) };
    Errno::result(res).map(drop)
}

/// Whether `open(O_NOFOLLOW)` failed with `errno` because the name is a
/// symbolic link: `ELOOP` on Linux.
pub(crate) fn is_symlink_refusal(errno: Errno) -> bool {
    errno == Errno::ELOOP
}

/// Whether `ESRCH` about a pid can mean a live process this caller may not
/// see (the portable proof's question, see `freebsd.rs`): not on Linux. A
/// process outside the caller's pid namespace does answer `ESRCH`, but the
/// portable proof here is the test vehicle of macOS's and FreeBSD's, and
/// takes a namespace as FreeBSD's takes a jail: a process outside it is no
/// daemon of a pid file inside it. Linux's own proof (`proc_locks.rs`)
/// sees those locks and answers "cannot tell".
pub(crate) fn esrch_is_ambiguous() -> bool {
    false
}

/// The highest signal number, the real-time ones included.
pub(crate) fn last_signal() -> libc::c_int {
    libc::SIGRTMAX()
}

/// Linux's numbers of its 31 classic signals (libc's, for this architecture).
pub(super) const NUMBERING: [(libc::c_int, &str); 31] = signal_table::numbering!(
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2,
    SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG,
    SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS,
);
const _: () = assert!(signal_table::covers(&signal_table::LINUX, &NUMBERING));

/// The catchable signals whose default action ends the process, less the
/// faults of the process itself: [`signal_table::LINUX_TERMINATING`],
/// checked there against Linux's defaults (and in the tests below against
/// the running kernel). `SIGIO` (= `SIGPOLL`), `SIGPWR` and `SIGSTKFLT`
/// terminate on Linux.
pub(crate) const TERMINATING: &[libc::c_int] =
    &signal_table::numbers(&signal_table::LINUX_TERMINATING, &NUMBERING);

/// The kernel's `struct sigaction`, whose first word is the handler on every
/// Linux architecture but MIPS.
#[cfg(linux_fast)]
#[repr(C)]
#[derive(Default)]
pub(crate) struct SigAction {
    pub(crate) handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

#[cfg(linux_fast)]
impl SigAction {
    /// Only `SIG_DFL` and `SIG_IGN` are ever installed: no code of ours runs
    /// on delivery.
    pub(crate) fn new(handler: libc::sighandler_t) -> SigAction {
        SigAction { handler, ..SigAction::default() }
    }
}

/// The raw `rt_sigaction`: the C library refuses to touch the signals it
/// reserves (32 and 33 under glibc), which can be inherited ignored.
#[cfg(linux_fast)]
pub(crate) fn sigaction(signal: libc::c_int, new: Option<&SigAction>) -> nix::Result<SigAction> {
    let mut old = SigAction::default();
    let new = new.map_or(std::ptr::null(), |new| new as *const SigAction);
    // SAFETY: both pointers are valid for the kernel's struct (or null for
    // "no change"); the size passed is that of the kernel's signal set. Only
    // SIG_DFL and SIG_IGN are ever installed, so no code of ours runs on delivery.
    let res =
        unsafe { libc::syscall(libc::SYS_rt_sigaction, signal, new, &mut old as *mut SigAction, 8usize) };
    Errno::result(res).map(|_| old)
}

/// The size of the descriptor table and the ignored signals, from one
/// read of `/proc/self/status`: a start needs both at once (closing
/// descriptors, then resetting signals), and each read of the file costs
/// more than a dozen system calls (the kernel formats the whole of it).
///
/// The table's size (`FDSize`, `max_fds` of `files_fdtable`:
/// torvalds/linux `fs/proc/array.c` `task_state`) is one past the highest
/// descriptor this process can have open: `fs/file.c` `expand_files` grows
/// the table before a higher number is given out, in powers of two from
/// 64 (`roundup_pow_of_two` in `expand_fdtable`), with the highest number
/// ever opened, not with `RLIMIT_NOFILE`. `None` for what cannot be read,
/// and under `daemon_portable`, where the `/dev/fd` listing is taken as on
/// macOS and every signal is looked at.
pub(crate) fn own_status() -> super::OwnStatus {
    let mut found = super::OwnStatus { fd_table_size: None, ignored: None };
    if cfg!(linux_portable) {
        return found;
    }
    let _ = read_own_status(|status| {
        found.fd_table_size = found.fd_table_size.or_else(|| fd_size(status));
        found.ignored = found.ignored.or_else(|| sig_ign(status));
        (found.fd_table_size.is_some() && found.ignored.is_some()).then_some(())
    });
    found
}

/// The first value `parse` finds in `/proc/self/status`, read into a stack
/// buffer (it runs before the fork, but allocates nothing all the same).
/// The lines wanted come early (`FDSize` some 200 bytes in, `SigIgn` some
/// 700); a long `Groups` line can push them out of the buffer, and then
/// they are not found.
fn read_own_status<T>(mut parse: impl FnMut(&[u8]) -> Option<T>) -> Option<T> {
    let status =
        nix::fcntl::open(c"/proc/self/status", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0u8; 2048];
    let mut len = 0;
    while len < buf.len() {
        match unistd::read(&status, &mut buf[len..]) {
            Ok(0) => break,
            // A value counts once its line is read whole (`parse` sees the newline).
            Ok(n) => match parse(&buf[..len + n]) {
                Some(value) => return Some(value),
                None => len += n,
            },
            Err(Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
    None
}

/// The text of the line of `status` that starts with `name`, once the
/// whole line (up to its newline) is there, without the blanks around it.
fn status_line<'a>(status: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let start =
        status.windows(name.len() + 1).position(|window| window[0] == b'\n' && &window[1..] == name)?
            + 1
            + name.len();
    let end = start + status[start..].iter().position(|&byte| byte == b'\n')?;
    Some(status[start..end].trim_ascii())
}

/// The mask of the `SigIgn:` line of a `/proc/PID/status` text.
fn sig_ign(status: &[u8]) -> Option<u64> {
    status_line(status, b"SigIgn:").and_then(hex_mask)
}

/// The `FDSize:` of a `/proc/PID/status` text.
fn fd_size(status: &[u8]) -> Option<i32> {
    decimal(status_line(status, b"FDSize:")?).and_then(|size| i32::try_from(size).ok())
}

/// A signal mask as `/proc/PID/status` shows it (16 hex digits): bit
/// `n - 1` for signal `n`.
fn hex_mask(hex: &[u8]) -> Option<u64> {
    if hex.len() != 16 {
        return None;
    }
    hex.iter().try_fold(0u64, |mask, &digit| {
        let value = (digit as char).to_digit(16)?;
        Some(mask << 4 | u64::from(value))
    })
}

/// Whether process `pid` has a handler installed for `signal` (the
/// `SigCgt:` line of `/proc/PID/status`, which any user may read). The
/// caller pins the process first and checks it is still alive after: then
/// the file read was that process's.
pub(crate) fn catches(pid: u32, signal: nix::sys::signal::Signal) -> io::Result<bool> {
    let status = std::fs::read(format!("/proc/{pid}/status"))?;
    let caught = status_line(&status, b"SigCgt:")
        .and_then(hex_mask)
        .ok_or_else(|| io::Error::other(format!("/proc/{pid}/status lists no SigCgt")))?;
    Ok(caught & (1u64 << (signal as u32 - 1)) != 0)
}

/// `$NOTIFY_SOCKET` as an address: a path, or `@name` for an abstract one
/// (which the `sd-notify` crate cannot reach).
pub(crate) fn notify_address(value: &std::ffi::OsStr) -> Option<UnixAddr> {
    match value.as_bytes().strip_prefix(b"@") {
        Some(name) => UnixAddr::new_abstract(name),
        None => UnixAddr::new(value),
    }
    .ok()
}

/// One datagram from a fresh socket, never blocking, never raising
/// SIGPIPE; errors are ignored. Async-signal-safe.
pub(crate) fn send_datagram(address: &UnixAddr, message: &[u8]) {
    let Ok(socket) = socket(AddressFamily::Unix, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None) else {
        return;
    };
    let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
    let _ = sendto(socket.as_raw_fd(), message, address, flags);
}

/// A non-blocking datagram socket bound to the abstract `name`, told the
/// kernel's word on each sender (`SO_PASSCRED`).
pub(crate) fn bind_credentialed(name: &[u8]) -> io::Result<OwnedFd> {
    bind_credentialed_to(&UnixAddr::new_abstract(name)?)
}

/// The same, bound at the filesystem `path` (which the caller removes).
pub(crate) fn bind_credentialed_at(path: &std::path::Path) -> io::Result<OwnedFd> {
    bind_credentialed_to(&UnixAddr::new(path)?)
}

fn bind_credentialed_to(address: &UnixAddr) -> io::Result<OwnedFd> {
    let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
    let socket = socket(AddressFamily::Unix, SockType::Datagram, flags, None)?;
    bind(socket.as_raw_fd(), address)?;
    setsockopt(&socket, sockopt::PassCred, &true)?;
    Ok(socket)
}

/// One datagram waiting on `socket` into `buf`: its length and the sender's
/// pid as the kernel gives it; `None` when nothing waits.
pub(crate) fn receive_from(socket: BorrowedFd<'_>, buf: &mut [u8]) -> Option<(usize, Option<u32>)> {
    let mut iov = [io::IoSliceMut::new(buf)];
    let mut control = nix::cmsg_space!(libc::ucred);
    let message = recvmsg::<()>(socket.as_raw_fd(), &mut iov, Some(&mut control), MsgFlags::empty()).ok()?;
    let sender = message.cmsgs().ok().and_then(|mut cmsgs| {
        cmsgs.find_map(|cmsg| match cmsg {
            ControlMessageOwned::ScmCredentials(credentials) => u32::try_from(credentials.pid()).ok(),
            _ => None,
        })
    });
    Some((message.bytes, sender))
}

/// In a forked child: asks for `signal` when the parent dies
/// (`PR_SET_PDEATHSIG`; under `daemon_portable` too, Linux having no other
/// means). One system call, no allocation: async-signal-safe. Whether it
/// took is not said: the caller compares `getppid()` right after, which
/// also covers a parent that died before the request.
pub fn parent_death_signal(signal: nix::sys::signal::Signal) {
    let _ = nix::sys::prctl::set_pdeathsig(signal);
}

/// Whether `child` has ended, seen without reaping it (`waitid(WNOWAIT)`):
/// `None` while it runs, `Some(None)` once it ended (or cannot be waited
/// for), still unreaped, so its pid and process group id stay reserved.
#[cfg(linux_fast)]
pub fn child_ended(child: nix::unistd::Pid) -> Option<Option<nix::sys::wait::WaitStatus>> {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    match waitid(Id::Pid(child), WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT) {
        Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => None,
        _ => Some(None),
    }
}

/// The signals of `mask`, blocked, read from a `signalfd` (close-on-exec,
/// non-blocking): no handler ever runs for them.
#[cfg(linux_fast)]
#[derive(Debug)]
pub struct SignalFd(nix::sys::signalfd::SignalFd);

#[cfg(linux_fast)]
impl SignalFd {
    /// Blocks `mask` and opens the `signalfd` that reads it.
    ///
    /// # Errors
    ///
    /// `sigprocmask` or `signalfd` failed.
    pub fn open(mask: &nix::sys::signal::SigSet) -> nix::Result<SignalFd> {
        use nix::sys::signalfd::SfdFlags;
        nix::sys::signal::sigprocmask(nix::sys::signal::SigmaskHow::SIG_BLOCK, Some(mask), None)?;
        let flags = SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK;
        nix::sys::signalfd::SignalFd::with_flags(mask, flags).map(SignalFd)
    }

    /// The descriptor to poll: readable when a signal came.
    pub fn fd(&self) -> BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.0)
    }

    /// The signals that came since the last call.
    pub fn take(&mut self) -> Vec<nix::sys::signal::Signal> {
        let mut signals = Vec::new();
        while let Ok(Some(info)) = self.0.read_signal() {
            let number = i32::try_from(info.ssi_signo).ok();
            signals.extend(number.and_then(|n| nix::sys::signal::Signal::try_from(n).ok()));
        }
        signals
    }
}

#[cfg(test)]
mod tests {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    use nix::unistd::ForkResult;

    use super::signal_table::{Action, LINUX};

    /// What the running kernel does with `signal` at its default action, in
    /// a child of its own process group (never an orphaned one, whose
    /// terminal stop signals the kernel would discard), without a core.
    fn default_action(signal: libc::c_int) -> Action {
        // SAFETY: the child makes only async-signal-safe calls (setpgid,
        // setrlimit, sigaction, sigprocmask, raise, _exit), so the other
        // threads of the test process cannot leave it a lock to wait on.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            ForkResult::Child => {
                let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                // SAFETY: all-zero is SIG_DFL, no flags, an empty mask.
                let default: libc::sigaction = unsafe { std::mem::zeroed() };
                // SAFETY: all-zero is the empty signal set.
                let none: libc::sigset_t = unsafe { std::mem::zeroed() };
                // SAFETY: setpgid on ourselves.
                unsafe { libc::setpgid(0, 0) };
                // SAFETY: a valid rlimit, read only.
                unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
                // SAFETY: a valid sigaction, read only; SIG_DFL runs no code.
                unsafe { libc::sigaction(signal, &default, std::ptr::null_mut()) };
                // SAFETY: a valid set, read only.
                unsafe { libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) };
                // SAFETY: raising a signal whose action is the default.
                unsafe { libc::raise(signal) };
                // SAFETY: leaving the child at once, running nothing of the parent's.
                unsafe { libc::_exit(0) }
            }
            ForkResult::Parent { child } => match waitpid(child, Some(WaitPidFlag::WUNTRACED)).expect("wait")
            {
                WaitStatus::Signaled(_, by, _) if by as libc::c_int == signal => Action::Terminate,
                WaitStatus::Stopped(_, by) if by as libc::c_int == signal => {
                    nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL).expect("kill");
                    waitpid(child, None).expect("reap");
                    Action::Stop
                }
                WaitStatus::Exited(_, 0) => Action::Ignore,
                other => panic!("signal {signal}: {other:?}"),
            },
        }
    }

    #[test]
    fn the_running_kernel_does_with_each_signal_what_the_linux_table_says() {
        for (&(number, name), &(listed, action)) in super::NUMBERING.iter().zip(&LINUX) {
            assert_eq!(name, listed, "the table is in Linux's order");
            // A core dump is not seen without one (RLIMIT_CORE is 0): "ends".
            let expected = if action == Action::Core { Action::Terminate } else { action };
            assert_eq!(default_action(number), expected, "{name}");
        }
    }

    /// Runs `check` in a child process (the subreaper role is the whole
    /// process's, and tests run on threads): whether it returned true.
    #[cfg(linux_fast)]
    fn in_a_child(check: fn() -> bool) -> bool {
        // SAFETY: the child makes only system calls (prctl) and atomic
        // operations, then `_exit`s: nothing another thread of the test
        // process held can be waited on.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            ForkResult::Child => {
                let code = if check() { 0 } else { 1 };
                // SAFETY: leaving the child at once, running nothing of the parent's.
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => {
                waitpid(child, None).expect("wait") == WaitStatus::Exited(child, 0)
            }
        }
    }

    #[test]
    #[cfg(linux_fast)]
    fn a_subreaper_role_the_program_had_is_never_released() {
        use nix::sys::prctl::{get_child_subreaper, set_child_subreaper};
        assert!(in_a_child(|| {
            set_child_subreaper(true).is_ok()
                && super::subreaper(true).is_ok()
                && super::subreaper(false).is_ok()
                && get_child_subreaper() == Ok(true)
        }));
        assert!(in_a_child(|| {
            super::subreaper(true).is_ok()
                && get_child_subreaper() == Ok(true)
                && super::subreaper(false).is_ok()
                && get_child_subreaper() == Ok(false)
        }));
    }

    #[test]
    fn thread_count_survives_odd_command_names() {
        let stat = b"4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 3 0 1 1 1";
        assert_eq!(super::thread_count(stat), Some(3));
        assert_eq!(super::thread_count(b"4242 (x) S 1"), None);
    }

    #[test]
    fn sig_ign_is_read_from_status() {
        let status =
            b"Name:\tx\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001001\nSigCgt:\t0000000180000000\n";
        assert_eq!(super::sig_ign(status), Some(0x1001));
        // Cut before the line ends (a buffer too short): not trusted.
        assert_eq!(super::sig_ign(b"x\nSigIgn:\t00000000000"), None);
        assert_eq!(super::sig_ign(b"Name:\tx\n"), None);
        let cgt = super::status_line(b"x\nSigCgt:\t0000000000000800\n", b"SigCgt:");
        assert_eq!(cgt.and_then(super::hex_mask), Some(0x800));
    }

    #[test]
    #[cfg(linux_fast)] // under `daemon_portable` the listing is taken instead
    fn fd_size_is_read_from_status_and_bounds_the_open_descriptors() {
        assert_eq!(super::fd_size(b"Name:\tx\nFDSize:\t512\nGroups:\t\n"), Some(512));
        assert_eq!(super::fd_size(b"Name:\tx\nFDSize:\t51"), None);
        // This process's own: above every descriptor it has open.
        let size = super::own_status().fd_table_size.expect("FDSize");
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(std::os::fd::AsRawFd::as_raw_fd(&file) < size, "{size}");
    }
}
