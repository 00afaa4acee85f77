//! Why a start failed: a step of the runtime's ([`daemon_runtime::Error`]),
//! or `--listen`, daemon-run's own step, which the runtime does not know
//! (it binds no socket for anyone). Printed as the runtime's errors are,
//! `error: <step>: <cause>`, with an exit code from the same table.

use std::fmt;

use daemon_runtime::__private::Denied;
use daemon_runtime::{Error, sysexits};

/// A failed start: what `run` returns and `main` prints.
#[derive(Debug)]
pub enum StartError {
    /// A step of the runtime's, or the syslog socket of `--stdout syslog:`.
    Runtime(Error),
    /// A `--listen` socket not bound: `listen: ADDR: <cause>`, exit 71 for
    /// a failed system call, 73 for a link or directory the walk to a
    /// `unix:` socket's directory refused (as for a pid file's).
    Listen {
        /// The `--listen` argument as written.
        text: String,
        /// Why.
        cause: Denied,
    },
}

impl StartError {
    /// The exit code, from the runtime's table ([`Error::exit_code`]).
    ///
    /// ```
    /// use daemon_run::StartError;
    /// use daemon_runtime::__private::Denied;
    /// let error = StartError::Listen { text: "tcp:0.0.0.0:80".into(), cause: Denied::Sys(nix::errno::Errno::EADDRINUSE) };
    /// assert_eq!(error.exit_code(), 71);
    /// assert!(error.to_string().starts_with("listen: tcp:0.0.0.0:80: "));
    /// ```
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Runtime(error) => error.exit_code(),
            StartError::Listen { cause: Denied::Sys(_), .. } => sysexits::EX_OSERR,
            StartError::Listen { cause: Denied::Refused(_), .. } => sysexits::EX_CANTCREAT,
        }
    }
}

impl From<Error> for StartError {
    fn from(error: Error) -> StartError {
        StartError::Runtime(error)
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Runtime(error) => error.fmt(f),
            StartError::Listen { text, cause: Denied::Sys(errno) } => {
                // The kernel's words, as the runtime's errors give them.
                write!(f, "listen: {text}: {}", std::io::Error::from_raw_os_error(*errno as i32))
            }
            StartError::Listen { text, cause: Denied::Refused(reason) } => {
                write!(f, "listen: {text}: {reason}")
            }
        }
    }
}
