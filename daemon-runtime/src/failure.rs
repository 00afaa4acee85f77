//! [`Failure`]: what a step reports from a forked process, before the
//! launcher names the configured paths in an [`Error`].

use std::path::PathBuf;

use nix::errno::Errno;

use crate::error::{Error, Refusal, Step};

/// What went wrong in a forked process: `Copy`, no heap, so it can cross the
/// pipe. The launcher turns it into an [`Error`](crate::Error) with the
/// configured paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Sys(Step, Errno),
    Refused(Refusal),
    AlreadyRunning(Option<u32>),
    RootRegained,
}

impl Failure {
    /// Turns what a forked process reported into an [`Error`], naming the path
    /// that `path_of` gives for the failed step (the chdir directory, the pid file).
    pub(crate) fn into_error(self, path_of: impl Fn(Step) -> Option<PathBuf>) -> Error {
        match self {
            Failure::Sys(step, errno) => match path_of(step) {
                Some(path) => Error::Path { step, path, errno },
                None => Error::Sys { step, errno },
            },
            Failure::Refused(reason) => {
                Error::PidFileRefused { path: path_of(Step::PidFile).unwrap_or_default(), reason }
            }
            Failure::RootRegained => Error::RootRegained,
            Failure::AlreadyRunning(pid) => {
                Error::AlreadyRunning { path: path_of(Step::PidFile).unwrap_or_default(), pid }
            }
        }
    }
}
