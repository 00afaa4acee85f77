//! The terminating signals a daemon does not handle: remove the pid file
//! and its lock file, then die by the signal as if no handler had been
//! installed.
//!
//! Every catchable signal whose default action ends the process counts
//! ([`TERMINATING`]); the synchronous ones (`SIGSEGV`, `SIGBUS`, `SIGILL`,
//! `SIGFPE`, `SIGABRT`, `SIGTRAP`, `SIGSYS`) do not: they report a bug in the
//! process itself, whose state is not to be trusted, and a core dump should
//! show it untouched.
//!
//! The handler is installed when the pid file is locked, for each signal
//! whose action is still the default. If the body later installs its own
//! (`signal-hook`, `tokio::signal`), that one is in charge: those libraries
//! chain to the previous handler, so ours still runs, sees it is no longer
//! the installed one, and does nothing. Their program then returns from
//! `main`, which removes the file. The file is unlinked only on the way to a
//! certain death, never while the process may keep running (a second daemon
//! could otherwise start beside it).
//!
//! The handler reads only what is never freed: the pid file's directory
//! descriptor and the two names are leaked once armed (the [`PidFile`](crate::PidFile)
//! never frees them), and [`disarm`] only clears the flag. So a signal that
//! arrives on one thread while the pid file is dropped on another reads
//! nothing freed.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU64, Ordering};

use crate::path::walk::Inode;

/// The signals whose default action ends the process, that a program can
/// catch and that do not report a fault of its own: one table per kernel,
/// each traced to its source (`sys/`).
pub(crate) use crate::sys::TERMINATING;

/// Whether the handler removes the file; cleared by [`disarm`].
static ARMED: AtomicBool = AtomicBool::new(false);
/// The pid file's directory descriptor (leaked once armed).
static DIR: AtomicI32 = AtomicI32::new(-1);

/// One file to remove: its name in [`DIR`] (leaked once armed), and the
/// device and inode it must still name to be removed.
struct Named {
    name: AtomicPtr<libc::c_char>,
    dev: AtomicU64,
    ino: AtomicU64,
}

/// The pid file, then its lock file.
static FILES: [Named; 2] = [Named::none(), Named::none()];

impl Named {
    const fn none() -> Named {
        Named { name: AtomicPtr::new(ptr::null_mut()), dev: AtomicU64::new(0), ino: AtomicU64::new(0) }
    }
}

/// Installs the handler for the [`TERMINATING`] signals whose action is the
/// default, removing each of `files` (the pid file, then its lock file)
/// from `dir` on them while its name names its inode. Allocation-free (it
/// runs between the forks).
///
/// # Safety
///
/// `dir` must stay open and the names allocated for the rest of the
/// process's life (the caller leaks them): the handler may read them at any
/// time, on any thread, and [`disarm`] does not wait for one that is running.
pub(crate) unsafe fn arm(dir: BorrowedFd<'_>, files: [(&CStr, Inode); 2]) {
    DIR.store(dir.as_raw_fd(), Ordering::SeqCst);
    for (slot, (name, inode)) in FILES.iter().zip(files) {
        slot.name.store(name.as_ptr().cast_mut(), Ordering::SeqCst);
        slot.dev.store(inode.0, Ordering::SeqCst);
        slot.ino.store(inode.1, Ordering::SeqCst);
    }
    ARMED.store(true, Ordering::SeqCst);
    // Installed in one `sigaction` each, which returns the action it
    // replaced; one that was not the default is put back. The signals are
    // blocked meanwhile, so none is delivered to our handler in between:
    // a signal sent then waits, and reaches the action that stays.
    // SAFETY: all-zero is a valid `sigset_t`, emptied then filled below.
    let mut terminating: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `terminating` is a valid, writable `sigset_t`.
    unsafe { libc::sigemptyset(&mut terminating) };
    for &signal in TERMINATING {
        // SAFETY: as above; each number is a valid signal of this platform.
        unsafe { libc::sigaddset(&mut terminating, signal) };
    }
    // SAFETY: all-zero is a valid `sigset_t`, overwritten by the kernel.
    let mut previous: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both sets are valid; `previous` is writable.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &terminating, &mut previous) };
    // SAFETY: all-zero is a valid `sigaction` (no handler, no flags, an
    // empty mask), filled in below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_terminate as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `sa_mask` is a valid, writable `sigset_t`.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    for &signal in TERMINATING {
        // SAFETY: all-zero is a valid `sigaction`, overwritten by the kernel.
        let mut replaced: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: `action` is fully initialized and `replaced` writable; the
        // handler only makes async-signal-safe calls and reads statics
        // that are never freed.
        if unsafe { libc::sigaction(signal, &action, &mut replaced) } == 0
            && replaced.sa_sigaction != libc::SIG_DFL
        {
            // The program handles or ignores it already (builder users can).
            // SAFETY: `replaced` is the action the kernel just returned.
            unsafe { libc::sigaction(signal, &replaced, ptr::null_mut()) };
        }
    }
    // SAFETY: `previous` is the mask the kernel returned above.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &previous, ptr::null_mut()) };
}

/// The handler installed for `signal`, or `None` if it cannot be read.
/// Async-signal-safe.
fn current_handler(signal: libc::c_int) -> Option<libc::sighandler_t> {
    // SAFETY: all-zero is a valid `sigaction`, overwritten by the kernel.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only reads; `current` is valid and writable.
    let res = unsafe { libc::sigaction(signal, ptr::null(), &mut current) };
    (res == 0).then_some(current.sa_sigaction)
}

/// Stops the handler from removing the file (its owner is removing it).
pub(crate) fn disarm() {
    ARMED.store(false, Ordering::SeqCst);
}

/// Stops the handler from removing the file while an upgrade may hand it
/// over; says whether it was armed, for [`set_armed`] after a failed one.
pub(crate) fn take_armed() -> bool {
    ARMED.swap(false, Ordering::SeqCst)
}

/// The pid file the handler was armed with, whether or not it is armed
/// now: its directory, name and inode (the pid file's, not its lock
/// file's), leaked by [`arm`]'s caller and so valid for the rest of the
/// process.
pub(crate) fn armed_file() -> Option<(BorrowedFd<'static>, &'static CStr, Inode)> {
    let pid_file = &FILES[0];
    let name = pid_file.name.load(Ordering::SeqCst);
    if name.is_null() {
        return None;
    }
    // SAFETY: DIR was leaked by `arm`'s caller (see `arm`'s `# Safety`):
    // the descriptor stays open for the rest of the process.
    let dir = unsafe { BorrowedFd::borrow_raw(DIR.load(Ordering::SeqCst)) };
    // SAFETY: likewise the name: a NUL-terminated name allocated for good.
    let name = unsafe { CStr::from_ptr(name) };
    Some((dir, name, (pid_file.dev.load(Ordering::SeqCst), pid_file.ino.load(Ordering::SeqCst))))
}

/// Arms the handler again (when `armed`) after a failed upgrade.
pub(crate) fn set_armed(armed: bool) {
    if armed && !FILES[0].name.load(Ordering::SeqCst).is_null() {
        ARMED.store(true, Ordering::SeqCst);
    }
}

extern "C" fn on_terminate(signal: libc::c_int) {
    // Every call below is async-signal-safe (sigaction, fstatat, unlinkat,
    // signal, sigemptyset, sigaddset, sigprocmask, raise).
    if current_handler(signal) != Some(on_terminate as extern "C" fn(libc::c_int) as libc::sighandler_t) {
        return; // chained to by a handler the body installed: it decides
    }
    // A process that handed over is no longer the service's main process.
    if !crate::upgrade::state::handed_over() {
        crate::sd_notify::send::send_stopping_from_signal_handler();
    }
    if ARMED.swap(false, Ordering::SeqCst) {
        let dir = DIR.load(Ordering::SeqCst);
        for file in &FILES {
            let name = file.name.load(Ordering::SeqCst);
            if name.is_null() {
                continue;
            }
            // SAFETY: all-zero is a valid `stat`, overwritten by the kernel.
            let mut now: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: DIR and the names were leaked by `arm`'s caller, so the
            // descriptor stays open and each NUL-terminated name alive for
            // the process's life; `now` is valid and writable.
            let found = unsafe { libc::fstatat(dir, name, &mut now, libc::AT_SYMLINK_NOFOLLOW) } == 0;
            #[allow(clippy::unnecessary_cast)] // dev_t and ino_t differ across targets
            if found
                && now.st_dev as u64 == file.dev.load(Ordering::SeqCst)
                && now.st_ino as u64 == file.ino.load(Ordering::SeqCst)
            {
                // SAFETY: as for `fstatat`: an open directory, a live C string.
                unsafe { libc::unlinkat(dir, name, 0) };
            }
        }
    }
    // Die by the signal, so the exit status tells what happened.
    // SAFETY: SIG_DFL runs no code of ours.
    unsafe { libc::signal(signal, libc::SIG_DFL) };
    // SAFETY: all-zero is a valid `sigset_t`, emptied then filled below.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable `sigset_t`.
    unsafe { libc::sigemptyset(&mut set) };
    // SAFETY: as above; `signal` is the number the kernel delivered.
    unsafe { libc::sigaddset(&mut set, signal) };
    // SAFETY: `set` is initialized; no old mask is asked for (null).
    unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &set, ptr::null_mut()) };
    // SAFETY: raising a signal is sound anywhere; its action is now the default.
    unsafe { libc::raise(signal) };
}
