//! Reopening the log files on a signal, without the program's help
//! ([`Daemon::reopen_logs_on`](crate::Daemon::reopen_logs_on)).
//!
//! A handler may not allocate, and reopening walks the path as
//! [`reopen_logs`](crate::reopen_logs) does (it allocates). So the work is
//! split: the handler only writes one byte to a pipe (`write(2)` is
//! async-signal-safe, and it keeps `errno`), and a thread started in the
//! daemon, after the last fork, blocks reading that pipe and reopens the
//! files whenever a byte arrives. The program's own threads never see the
//! signal's work, and a server blocked in `accept()` needs no loop of its
//! own: its next write to descriptor 1 or 2 lands in the new file.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;

/// The pipe's write end, for the handler; -1 before [`install`]. Never
/// closed once set: the handler may run at any time, on any thread.
static WAKE: AtomicI32 = AtomicI32::new(-1);

/// In the daemon, once the steps are done: makes the pipe, starts the
/// thread that reopens the logs, then installs the handler for `signal`
/// (replacing the runtime's terminating one, which would remove the pid
/// file and die).
///
/// # Errors
///
/// The pipe, the thread or the handler could not be made (`EMFILE`,
/// `EAGAIN`); or it was installed already.
pub(crate) fn install(signal: Signal) -> Result<(), Errno> {
    let (read, write) = crate::sys::cloexec_pipe()?;
    // A flood of signals must never block the handler: the bytes it
    // cannot write are reopenings that are pending anyway.
    nix::fcntl::fcntl(&write, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    if WAKE.compare_exchange(-1, write.as_raw_fd(), Ordering::SeqCst, Ordering::SeqCst).is_err() {
        return Err(Errno::EBUSY);
    }
    // Leaked: the handler reads `WAKE` for the rest of the process's life.
    std::mem::forget(write);
    std::thread::Builder::new()
        .name("reopen-logs".into())
        .spawn(move || reopen_on_wake(read))
        .map_err(|error| Errno::from_raw(error.raw_os_error().unwrap_or(libc::EAGAIN)))?;
    // SAFETY: all-zero is a valid `sigaction` (no handler, no flags, an
    // empty mask), filled in below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // The program's blocking calls are restarted, not failed with EINTR.
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `sa_mask` is a valid, writable `sigset_t`.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is fully initialized; the handler only calls
    // `write(2)` on a descriptor that is never closed, and keeps `errno`.
    Errno::result(unsafe { libc::sigaction(signal as libc::c_int, &action, ptr::null_mut()) })?;
    Ok(())
}

/// The handler: one byte to the pipe. Async-signal-safe.
extern "C" fn on_signal(_: libc::c_int) {
    let saved = Errno::last_raw();
    let fd = WAKE.load(Ordering::SeqCst);
    // SAFETY: `fd` is the pipe's write end, never closed; the buffer is one
    // byte that lives for the call.
    unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
    Errno::set_raw(saved);
}

/// The thread: reopens the log files each time the handler wrote, and says
/// on the (old) standard error when it could not, keeping the old files.
fn reopen_on_wake(read: OwnedFd) {
    let mut bytes = [0u8; 64];
    loop {
        match nix::unistd::read(&read, &mut bytes) {
            // Several signals before the thread woke: one reopening.
            Ok(n) if n > 0 => {
                if let Err(error) = crate::steps::stdio::reopen_logs() {
                    let line = format!("error: reopen logs: {error}\n");
                    let _ = std::io::stderr().lock().write_all(line.as_bytes());
                }
            }
            Err(Errno::EINTR) => continue,
            // The write end is never closed: this does not happen.
            _ => return,
        }
    }
}
