//! [`Errno`]: what the kernel said, as [`Error`](crate::Error) carries it.
//! The crate's own type, so that the public API does not depend on the
//! version of `nix` this crate is built on (the code inside works with
//! `nix`'s, and converts where an [`Error`](crate::Error) is made).

use std::fmt;

/// An `errno` value: what a system call failed with.
///
/// `Display` is the system's description, as strerror(3) gives it;
/// [`raw`](Errno::raw) is the number, to compare with `libc`'s constants
/// or to make a [`std::io::Error`] of.
///
/// ```
/// let errno = daemon_runtime::Errno::from_raw(libc::ENOENT);
/// assert_eq!(errno.raw(), libc::ENOENT);
/// assert_eq!(errno.to_string(), "No such file or directory");
/// assert_eq!(std::io::Error::from(errno).kind(), std::io::ErrorKind::NotFound);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(i32);

impl Errno {
    /// The value `raw`, as `errno` holds it.
    pub const fn from_raw(raw: i32) -> Errno {
        Errno(raw)
    }

    /// The number, as `errno` holds it.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// `nix`'s value as this crate's: where the code inside, which works
    /// with `nix`, makes an [`Error`](crate::Error).
    pub(crate) const fn of(errno: nix::errno::Errno) -> Errno {
        Errno(errno as i32)
    }

    /// This value as `nix`'s, to compare with its constants inside the crate.
    pub(crate) fn nix(self) -> nix::errno::Errno {
        nix::errno::Errno::from_raw(self.0)
    }
}

impl fmt::Debug for Errno {
    /// `Errno(ENOENT)`: the symbolic name, as the C headers spell it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Errno").field(&self.nix()).finish()
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.nix().desc())
    }
}

impl std::error::Error for Errno {}

impl From<Errno> for std::io::Error {
    /// The same `errno`, as `std::io::Error::from_raw_os_error` makes it.
    fn from(errno: Errno) -> std::io::Error {
        std::io::Error::from_raw_os_error(errno.0)
    }
}
