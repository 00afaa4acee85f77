//! The log files that receive the daemon's standard output and error.

use std::os::fd::OwnedFd;
use std::path::Path;

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
    let error = |errno| Error::Path {
        step: Step::Stdio,
        path: path.to_path_buf(),
        errno,
    };
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
