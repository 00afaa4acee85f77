//! What a failed start prints: the runtime's `<step>: <cause>`, and what to
//! do about it where daemon-run knows better than the runtime (its own
//! flags).

use std::io::Write;

use daemon_runtime::{Error, Step};

use crate::StartError;

/// What the hints depend on, besides the error.
pub(crate) struct Context {
    /// `--ready notify`: a late start means PROGRAM never sent `READY=1`.
    pub(crate) notify: bool,
}

/// The error's line, without `error: `, with a hint when one helps.
///
/// ```ignore
/// // A `--ready notify` start that timed out:
/// "ready: not ready after 300ms: PROGRAM did not send READY=1 to $NOTIFY_SOCKET (sd_notify(3))"
/// ```
pub(crate) fn describe(error: &StartError, context: &Context) -> String {
    let StartError::Runtime(runtime) = error else { return error.to_string() };
    match runtime {
        // With --respawn the supervisor's own readiness is the runtime's
        // manual one, whose text names `ready()`: PROGRAM's is meant.
        Error::NotReady { timeout, .. } if context.notify => {
            let late = Error::NotReady { timeout: *timeout, manual: false };
            format!("{late}: PROGRAM did not send READY=1 to $NOTIFY_SOCKET (sd_notify(3))")
        }
        Error::Path { step: Step::Syslog, .. } => {
            format!("{error} (no syslog daemon listens there? name its socket with --syslog-socket PATH)")
        }
        _ => error.to_string(),
    }
}

/// Prints `line` on standard error in one write; a closed or full stderr
/// must not turn the exit code into a panic (`eprintln!` would).
pub(crate) fn print(line: &str) {
    let _ = std::io::stderr().lock().write_all(format!("{line}\n").as_bytes());
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use daemon_runtime::{Error, Step};

    use super::{Context, describe};

    #[test]
    fn a_notify_timeout_says_ready_was_not_sent() {
        let error = Error::NotReady { timeout: Duration::from_millis(300), manual: false };
        assert_eq!(
            describe(&error.into(), &Context { notify: true }),
            "ready: not ready after 300ms: PROGRAM did not send READY=1 to $NOTIFY_SOCKET (sd_notify(3))"
        );
    }

    #[test]
    fn a_supervisor_late_for_its_program_names_ready_1_not_the_runtime_call() {
        let error = Error::NotReady { timeout: Duration::from_secs(1), manual: true };
        assert_eq!(
            describe(&error.into(), &Context { notify: true }),
            "ready: not ready after 1s: PROGRAM did not send READY=1 to $NOTIFY_SOCKET (sd_notify(3))"
        );
    }

    #[test]
    fn a_missing_syslog_socket_is_a_syslog_error_naming_the_flag() {
        let error = Error::Path {
            step: Step::Syslog,
            path: "/dev/log".into(),
            errno: daemon_runtime::Errno::from_raw(libc::ENOENT),
        };
        let error = crate::StartError::from(error);
        let line = describe(&error, &Context { notify: false });
        assert!(line.starts_with("syslog: /dev/log: "), "{line}");
        assert!(
            line.ends_with("(no syslog daemon listens there? name its socket with --syslog-socket PATH)"),
            "{line}"
        );
        assert_eq!(error.exit_code(), 73);
    }
}
