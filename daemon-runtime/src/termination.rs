//! SIGTERM and SIGINT for a daemon that handles neither: remove the pid
//! file, then die by the signal as if no handler had been installed.
//!
//! The handler is installed when the pid file is locked. If the body later
//! installs its own (`signal-hook`, `tokio::signal`), that one is in charge:
//! those libraries chain to the previous handler, so ours still runs, sees it
//! is no longer the installed one, and does nothing. Their program then
//! returns from `main`, which removes the file. The file is unlinked only on
//! the way to a certain death, never while the process may keep running (a
//! second daemon could otherwise start beside it).

use std::ffi::CStr;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The pid file to remove, owned by the live [`PidFile`](crate::PidFile).
static PATH: AtomicPtr<libc::c_char> = AtomicPtr::new(ptr::null_mut());

/// Installs the handler for SIGTERM and SIGINT where their action is the
/// default, removing `path` on them. `path` must stay alive until [`disarm`]
/// is called.
pub(crate) fn arm(path: &CStr) {
    PATH.store(path.as_ptr().cast_mut(), Ordering::SeqCst);
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only makes async-signal-safe calls; the action
        // structs are fully initialized.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signal, ptr::null(), &mut current);
            if current.sa_sigaction != libc::SIG_DFL {
                continue; // the program handles it already (builder users can)
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_terminate as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, ptr::null_mut());
        }
    }
}

/// Forgets the path (the pid file is being removed by its owner).
pub(crate) fn disarm() {
    PATH.store(ptr::null_mut(), Ordering::SeqCst);
}

extern "C" fn on_terminate(signal: libc::c_int) {
    // SAFETY: sigaction, unlink, sigprocmask and raise are async-signal-safe;
    // the path pointer is either null or a live C string (see `arm`).
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, ptr::null(), &mut current);
        if current.sa_sigaction != on_terminate as extern "C" fn(libc::c_int) as libc::sighandler_t {
            return; // chained to by a handler the body installed: it decides
        }
        crate::manager::send_stopping_from_signal_handler();
        let path = PATH.swap(ptr::null_mut(), Ordering::SeqCst);
        if !path.is_null() {
            libc::unlink(path);
        }
        // Die by the signal, so the exit status tells what happened.
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, ptr::null_mut());
        libc::raise(signal);
    }
}
