//! The null-terminated array of C string pointers that `execv` and `execve`
//! take (`argv`, `envp`), built once before forking, as std's private
//! `CStringArray` is for `Command`.

use std::ffi::CString;

/// Owned C strings and the null-terminated pointer array into them.
pub(crate) struct CStringArray {
    /// Never read: kept alive because `pointers` points into it (a
    /// `CString`'s bytes stay put when the vector moves).
    _strings: Vec<CString>,
    pointers: Vec<*const libc::c_char>,
}

impl CStringArray {
    /// The array of `strings`, then of `borrowed`: pointers to C strings
    /// that live for the whole process (the leaked entries of `pid_vars`).
    pub(crate) fn new(strings: Vec<CString>, borrowed: &[*const libc::c_char]) -> CStringArray {
        let pointers = strings
            .iter()
            .map(|string| string.as_ptr())
            .chain(borrowed.iter().copied())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        CStringArray { _strings: strings, pointers }
    }

    /// The null-terminated array, valid while `self` lives.
    pub(crate) fn as_ptr(&self) -> *const *const libc::c_char {
        self.pointers.as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::CStringArray;
    use std::ffi::CStr;

    #[test]
    fn the_array_ends_with_a_null_pointer() {
        let array = CStringArray::new(vec![c"a".to_owned(), c"bc".to_owned()], &[c"X=1".as_ptr()]);
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
