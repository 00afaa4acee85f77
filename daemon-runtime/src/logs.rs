//! The log files that receive the daemon's standard output and error.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::sys::stat::{self, Mode};

use crate::error::{Error, Step};

/// The mode of a log file the daemon creates: readable by the daemon's group
/// (`adm` reads logs), by nobody else.
const LOG_MODE: u32 = 0o640;

/// Opens `path` for appending, creating it `0o640` whatever the launcher's
/// umask. Called in the launcher, before `chroot` and the privilege drop, so
/// the daemon can write where it could not open.
pub(crate) fn open(path: &Path) -> Result<OwnedFd, Error> {
    let error = |errno| Error::Path { step: Step::Stdio, path: path.to_path_buf(), errno };
    let flags = OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CLOEXEC | OFlag::O_NOCTTY;
    let mode = Mode::from_bits_truncate(LOG_MODE);
    match fcntl::open(path, flags | OFlag::O_CREAT | OFlag::O_EXCL, mode) {
        Ok(fd) => {
            stat::fchmod(&fd, mode).map_err(error)?;
            Ok(fd)
        }
        Err(Errno::EEXIST) => fcntl::open(path, flags, Mode::empty()).map_err(error),
        Err(errno) => Err(error(errno)),
    }
}

/// The configured log files, for [`reopen_logs`].
static CONFIGURED: Mutex<(Option<PathBuf>, Option<PathBuf>)> = Mutex::new((None, None));

pub(crate) fn remember(stdout: Option<PathBuf>, stderr: Option<PathBuf>) {
    *CONFIGURED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = (stdout, stderr);
}

/// Reopens the configured `stdout` and `stderr` files onto descriptors 1 and
/// 2: what a daemon does on SIGHUP after logrotate renamed its log, so that
/// later lines go to a new file at the configured path. Each file is opened
/// before the old one is replaced, so no line is lost or written nowhere.
///
/// The paths are opened again as they were configured: after a `chroot` or
/// a privilege drop that may be refused, and the error says so.
///
/// # Errors
///
/// Opening a file, or `dup2`.
///
/// ```no_run
/// // On SIGHUP:
/// daemon_runtime::reopen_logs()?;
/// # Ok::<(), daemon_runtime::Error>(())
/// ```
pub fn reopen_logs() -> Result<(), Error> {
    let (stdout, stderr) = CONFIGURED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    if let Some(path) = stdout {
        let fd = open(&path)?;
        nix::unistd::dup2_stdout(&fd).map_err(|errno| Error::Path { step: Step::Stdio, path, errno })?;
    }
    if let Some(path) = stderr {
        let fd = open(&path)?;
        nix::unistd::dup2_stderr(&fd).map_err(|errno| Error::Path { step: Step::Stdio, path, errno })?;
    }
    Ok(())
}
