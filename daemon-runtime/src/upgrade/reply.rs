//! How the outcome of an upgrade reaches the process that asked for it
//! ([`request_upgrade`](crate::request_upgrade), `daemon-run --upgrade`).
//!
//! The request is a signal (SIGUSR2), which carries nothing back, so the
//! answer goes the other way: when [`Upgrade::run`](crate::Upgrade::run)
//! returns, the daemon sends one datagram, `ready NEW_PID` or
//! `failed CODE TEXT`, to the abstract Unix address [`name`] derived from
//! its own pid, if anything is bound there (nothing is when the upgrade
//! was asked for by a plain `kill`: the datagram is then dropped, at the
//! cost of one `sendto`). The requester binds that address before it
//! sends the signal and believes only a datagram whose sender the kernel
//! names (`SCM_CREDENTIALS`) as the daemon it pinned, so no other process
//! can forge an outcome; a process that binds the name first makes the
//! request fail ("another request is waiting"), it cannot answer it.
//! Abstract addresses and credentials are Linux's: elsewhere nothing is
//! sent, and a request is refused before anything is signalled.

use std::ffi::OsString;

use crate::error::Error;
use crate::lock::pid_text::parse_decimal;
use crate::sys;

/// The abstract address (without its leading NUL) where the requester of
/// an upgrade of process `pid` waits for its outcome.
pub(crate) fn name(pid: u32) -> String {
    format!("daemon-runtime/upgrade/{pid}")
}

/// What an upgrade ended with, as the requester learns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// The new process `pid` is ready and named by the pid file.
    Ready(u32),
    /// The upgrade failed or was refused: the `<step>: <cause>` text and the
    /// code a launcher would have exited with.
    Failed { code: i32, message: String },
}

/// Sends the outcome of this process's upgrade to whoever waits for it
/// (also `daemon-run`'s supervisor, which upgrades its PROGRAM: its pid is
/// the one a requester proved and waits for).
pub fn send(result: &Result<u32, Error>) {
    let mut value = OsString::from("@");
    value.push(name(std::process::id()));
    let Some(address) = sys::notify_address(&value) else { return };
    sys::send_datagram(&address, encode(result).as_bytes());
}

fn encode(result: &Result<u32, Error>) -> String {
    match result {
        Ok(pid) => format!("ready {pid}"),
        Err(error) => format!("failed {} {error}", error.exit_code()),
    }
}

/// The reply in a datagram; `None` for anything else.
pub(crate) fn decode(datagram: &[u8]) -> Option<Reply> {
    let text = std::str::from_utf8(datagram).ok()?;
    if let Some(pid) = text.strip_prefix("ready ") {
        return u32::try_from(parse_decimal(pid.as_bytes())?).ok().map(Reply::Ready);
    }
    let (code, message) = text.strip_prefix("failed ")?.split_once(' ')?;
    let code = i32::try_from(parse_decimal(code.as_bytes())?).ok()?;
    Some(Reply::Failed { code, message: message.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_reads_back_as_it_was_sent() {
        assert_eq!(decode(encode(&Ok(4242)).as_bytes()), Some(Reply::Ready(4242)));
        let refused = decode(encode(&Err(Error::UpgradeInProgress)).as_bytes());
        let message = "upgrade: another upgrade of this daemon is in progress".to_string();
        assert_eq!(refused, Some(Reply::Failed { code: 75, message }));
        let init = Error::Init { message: "cannot open /etc/myd.key".into() };
        let message = "init: cannot open /etc/myd.key".to_string();
        assert_eq!(decode(encode(&Err(init)).as_bytes()), Some(Reply::Failed { code: 69, message }));
        for noise in [&b"ready"[..], b"ready x", b"failed 69", b"failed x y", b"READY=1", b"\xff"] {
            assert_eq!(decode(noise), None, "{noise:?}");
        }
    }
}
