//! `--respawn --ready notify`: the supervisor's `NOTIFY_SOCKET` for PROGRAM
//! is a [`NotifyReceiver`](daemon_runtime::NotifyReceiver), which only Linux
//! has (an abstract address, peer credentials on each datagram). Elsewhere
//! the start is refused at preflight, as `--ready notify` without
//! `--respawn` is, before anything is started.

use daemon_runtime::Error;

/// Refuses `--ready notify` where there is no receiver, before anything
/// is started.
///
/// # Errors
///
/// `Unsupported` at preflight, off Linux with `notify`.
pub fn check(notify: bool) -> Result<(), Error> {
    if notify && !daemon_runtime::__private::CREDENTIALED_DATAGRAMS {
        let what = "--respawn --ready notify";
        return Err(Error::Unsupported { step: daemon_runtime::Step::Preflight, what });
    }
    Ok(())
}
