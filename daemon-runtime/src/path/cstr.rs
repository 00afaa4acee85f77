//! The null-terminated array of C string pointers that `execv` and `execve`
//! take (`argv`, `envp`), built once before forking, as std's private
//! `CStringArray` is for `Command`; and the paths made C strings before
//! forking, with their way back for messages. (The program executed with
//! those arrays: `start/program.rs`.)

use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::error::{Error, Step};

/// Owned C strings and the null-terminated pointer array into them, as
/// `execv` takes `argv` and `execve` takes `envp`.
pub struct CStringArray {
    /// Never read: kept alive because `pointers` points into it (a
    /// `CString`'s bytes stay put when the vector moves).
    _strings: Vec<CString>,
    pointers: Vec<*const libc::c_char>,
}

impl CStringArray {
    /// The array of `strings`.
    ///
    /// ```
    /// use daemon_runtime::__private::CStringArray;
    /// let argv = CStringArray::new(vec![c"sleep".to_owned(), c"30".to_owned()]);
    /// assert!(!argv.as_ptr().is_null());
    /// ```
    pub fn new(strings: Vec<CString>) -> CStringArray {
        // SAFETY: no borrowed pointer is given.
        unsafe { CStringArray::with_borrowed(strings, &[]) }
    }

    /// The array of `strings`, then of `borrowed`.
    ///
    /// # Safety
    ///
    /// Each pointer in `borrowed` points to a NUL-terminated string that
    /// stays where it is for as long as the array is used (the leaked,
    /// never freed entries of `steps::env_pids`).
    pub(crate) unsafe fn with_borrowed(
        strings: Vec<CString>,
        borrowed: &[*const libc::c_char],
    ) -> CStringArray {
        let pointers = strings
            .iter()
            .map(|string| string.as_ptr())
            .chain(borrowed.iter().copied())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        CStringArray { _strings: strings, pointers }
    }

    /// The same array with the pointers of `borrowed` added at its end.
    ///
    /// # Safety
    ///
    /// As for [`with_borrowed`](CStringArray::with_borrowed).
    pub(crate) unsafe fn with_more(mut self, borrowed: &[*const libc::c_char]) -> CStringArray {
        self.pointers.pop(); // the null pointer, put back after them
        self.pointers.extend(borrowed.iter().copied().chain(std::iter::once(std::ptr::null())));
        self
    }

    /// The null-terminated array, valid while `self` lives.
    pub fn as_ptr(&self) -> *const *const libc::c_char {
        self.pointers.as_ptr()
    }

    /// The strings, for tests.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> Vec<String> {
        let live = &self.pointers[..self.pointers.len() - 1];
        // SAFETY: every pointer but the last points into a live C string.
        live.iter().map(|&entry| unsafe { CStr::from_ptr(entry) }.to_string_lossy().into_owned()).collect()
    }
}

/// `path` made absolute against the launcher's working directory (before any
/// `chdir` changes what a relative path means).
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::Path {
        step: Step::Preflight,
        path: path.to_path_buf(),
        errno: crate::error::errno::Errno::of(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL))),
    })
}

/// An absolute path as the C string the system calls take.
pub(crate) fn c_string(path: PathBuf) -> Result<CString, Error> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::Path {
        step: Step::Preflight,
        path,
        errno: crate::error::errno::Errno::of(Errno::EINVAL),
    })
}

/// A C string built by [`c_string`] as the path it was made from, for messages.
pub(crate) fn as_path(path: &CStr) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(path.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::CStringArray;
    use std::ffi::CStr;

    #[test]
    fn the_array_ends_with_a_null_pointer() {
        // SAFETY: a static C string, which never moves.
        let array = unsafe {
            CStringArray::with_borrowed(vec![c"a".to_owned(), c"bc".to_owned()], &[c"X=1".as_ptr()])
        };
        let pointers = array.pointers.clone();
        assert_eq!(pointers.len(), 4);
        assert!(pointers[3].is_null());
        // SAFETY: the first three point into live C strings.
        let second = unsafe { CStr::from_ptr(pointers[1]) };
        assert_eq!(second, c"bc");
        // SAFETY: as above; a static C string.
        assert_eq!(unsafe { CStr::from_ptr(pointers[2]) }, c"X=1");
    }
}
