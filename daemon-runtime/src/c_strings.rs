//! The null-terminated array of C string pointers that `execv` and `execve`
//! take (`argv`, `envp`), built once before forking, as std's private
//! `CStringArray` is for `Command`; the environment a program is executed
//! with; the one `exec` of the crate ([`Program`], [`execute`]), which
//! `Daemon::exec`, `exec_notify` and `daemon-run --respawn`'s child share;
//! and the paths made C strings before forking, with their way back for
//! messages.

use std::ffi::{CStr, CString, OsStr, OsString};
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
    /// never freed entries of `pid_vars`).
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

    /// The null-terminated array, valid while `self` lives.
    pub fn as_ptr(&self) -> *const *const libc::c_char {
        self.pointers.as_ptr()
    }
}

/// `program` and `args` as the C strings `execv` takes: the path, and
/// `argv` (the path, then the arguments).
///
/// # Errors
///
/// A NUL byte in any of them: [`Error::Path`] at [`Step::Exec`], `EINVAL`.
pub(crate) fn argv(
    program: &Path,
    args: impl IntoIterator<Item = impl AsRef<OsStr>>,
) -> Result<(CString, CStringArray), Error> {
    let invalid = || Error::Path { step: Step::Exec, path: program.to_path_buf(), errno: Errno::EINVAL };
    let program_c = CString::new(program.as_os_str().as_bytes()).map_err(|_| invalid())?;
    let mut all = vec![program_c.clone()];
    for arg in args {
        all.push(CString::new(arg.as_ref().as_bytes()).map_err(|_| invalid())?);
    }
    Ok((program_c, CStringArray::new(all)))
}

/// How the environment a program is executed with differs from this
/// process's: `vars` replace the process's own (entirely, when `clear`),
/// and `unset` are removed. Either made this process's environment before
/// anything forks ([`apply`](Environment::apply)), or built into an `envp`
/// array for `execve` ([`envp`](Environment::envp)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// Whether every variable not in `vars` is removed.
    pub clear: bool,
    /// Variables to set, in order.
    pub vars: Vec<(OsString, OsString)>,
    /// Variables to remove.
    pub unset: Vec<OsString>,
}

impl Environment {
    /// This process's environment with `name` set to `value`.
    ///
    /// ```
    /// use daemon_runtime::__private::Environment;
    /// let environment = Environment::setting("NOTIFY_SOCKET", "@x");
    /// assert_eq!(environment.vars, [("NOTIFY_SOCKET".into(), "@x".into())]);
    /// ```
    pub fn setting(name: impl Into<OsString>, value: impl Into<OsString>) -> Environment {
        Environment { clear: false, vars: vec![(name.into(), value.into())], unset: Vec::new() }
    }

    /// The `KEY=value` array for `execve`, built now (the forked child must
    /// not allocate) from this process's environment. `LISTEN_PID` and
    /// `WATCHDOG_PID`, when they name this process and are kept, are the
    /// entries a detaching daemon rewrites to its own pid (see `pid_vars`),
    /// so the program finds them naming the daemon. A variable with a NUL
    /// byte, which no environment can hold, is left out.
    pub fn envp(&self) -> CStringArray {
        let rewritten = crate::pid_vars::entries();
        let replaced = |key: &OsStr| {
            self.unset.iter().chain(self.vars.iter().map(|(name, _)| name)).any(|name| name == key)
        };
        let mut strings = Vec::new();
        let mut borrowed = Vec::new();
        let current = std::env::vars_os().filter(|_| !self.clear);
        for (key, value) in current.filter(|(key, _)| !replaced(key)) {
            match rewritten.iter().find(|(name, _)| key == *name) {
                Some(&(_, entry)) => borrowed.push(entry),
                None => strings.extend(CString::new([key.as_bytes(), b"=", value.as_bytes()].concat()).ok()),
            }
        }
        for (key, value) in &self.vars {
            strings.extend(CString::new([key.as_bytes(), b"=", value.as_bytes()].concat()).ok());
        }
        // SAFETY: the entries of `pid_vars` are leaked: never freed or moved.
        unsafe { CStringArray::with_borrowed(strings, &borrowed) }
    }

    /// Makes this process's environment the planned one.
    ///
    /// # Safety
    ///
    /// No other thread may run: `setenv` and `unsetenv` race with any
    /// concurrent read of the environment (`getenv` in libc, DNS lookups).
    pub unsafe fn apply(&self) {
        if self.clear {
            for (name, _) in std::env::vars_os() {
                // SAFETY: the caller guarantees a single thread.
                unsafe { std::env::remove_var(name) };
            }
        }
        for name in &self.unset {
            // SAFETY: as above.
            unsafe { std::env::remove_var(name) };
        }
        for (name, value) in &self.vars {
            // SAFETY: as above.
            unsafe { std::env::set_var(name, value) };
        }
    }
}

/// A program to execute and everything `execve` takes, built before
/// forking, so that [`exec`](Program::exec) allocates nothing and may run
/// in the child of a fork.
pub struct Program {
    path: CString,
    /// The path, then the arguments.
    argv: CStringArray,
    /// `None`: this process's environment, as it is at the `exec`.
    envp: Option<CStringArray>,
}

impl Program {
    /// `program` (taken as it is: no `PATH` lookup) with `args` as its
    /// `argv[1..]`, and this process's environment.
    ///
    /// # Errors
    ///
    /// A NUL byte in `program` or an argument: [`Error::Path`] at
    /// [`Step::Exec`], `EINVAL`.
    ///
    /// ```
    /// use daemon_runtime::__private::Program;
    /// let program = Program::new("/bin/sleep".as_ref(), ["30"])?;
    /// assert_eq!(program.path(), c"/bin/sleep");
    /// assert!(Program::new("/bin/sleep".as_ref(), ["3\00"]).is_err());
    /// # Ok::<(), daemon_runtime::Error>(())
    /// ```
    pub fn new(program: &Path, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Result<Program, Error> {
        let (path, argv) = argv(program, args)?;
        Ok(Program { path, argv, envp: None })
    }

    /// Executes the program with `envp` (see [`Environment::envp`]) instead
    /// of this process's environment.
    pub fn set_environment(&mut self, envp: CStringArray) {
        self.envp = Some(envp);
    }

    /// The program's path.
    pub fn path(&self) -> &CStr {
        &self.path
    }

    /// Executes the program, SIGPIPE first set back to its default action
    /// (see [`execute`]). Returns only on failure, with the `errno` of
    /// `execve`. Async-signal-safe: system calls on memory built before,
    /// nothing allocated or freed.
    pub fn exec(&self) -> Errno {
        execute(&self.path, &self.argv, self.envp.as_ref())
    }
}

/// The crate's one `exec`: `execv` of `path` with `argv` (`execve` with
/// `envp` when given), SIGPIPE set back to its default action right before.
/// Rust ignores SIGPIPE in every program it starts, and an ignored
/// disposition survives `execve`: a program run with it ignored would not
/// die when it writes to a closed pipe (`yes | head -1` would never end),
/// so std's `Command`, shells and other launchers restore it too. Should the
/// exec fail, SIGPIPE is ignored again, as the caller had it.
///
/// The raw calls, not nix's: nix's take slices of `CStr` and build the
/// pointer arrays on every call, which allocates. Returns only on failure,
/// with the `errno`. Async-signal-safe: `sigaction` and the exec, nothing
/// allocated.
pub(crate) fn execute(path: &CStr, argv: &CStringArray, envp: Option<&CStringArray>) -> Errno {
    // SAFETY: all-zero is a valid `sigaction`: SIG_DFL, no flags, an empty mask.
    let default: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: as above; overwritten with the current action by the call below.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: `default` is initialized and `old` writable; SIG_DFL runs no
    // code of ours. SIGPIPE can always be set: the call cannot fail.
    unsafe { libc::sigaction(libc::SIGPIPE, &default, &mut old) };
    match envp {
        // SAFETY: `path` is a C string and `argv` a null-terminated array of
        // pointers into C strings, all borrowed for the call; execv returns
        // only on failure, touching nothing.
        None => unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) },
        // SAFETY: as above; `envp` is null-terminated too, pointing into
        // strings it owns or the leaked entries of `pid_vars`.
        Some(envp) => unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) },
    };
    let errno = Errno::last();
    // SAFETY: `old` is the action read above; restoring it runs no code.
    unsafe { libc::sigaction(libc::SIGPIPE, &old, std::ptr::null_mut()) };
    errno
}

/// `path` made absolute against the launcher's working directory (before any
/// `chdir` changes what a relative path means).
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::Path {
        step: Step::Preflight,
        path: path.to_path_buf(),
        errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL)),
    })
}

/// An absolute path as the C string the system calls take.
pub(crate) fn c_string(path: PathBuf) -> Result<CString, Error> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::Path {
        step: Step::Preflight,
        path,
        errno: Errno::EINVAL,
    })
}

/// A C string built by [`c_string`] as the path it was made from, for messages.
pub(crate) fn as_path(path: &CStr) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(path.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::{CStringArray, Environment};
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

    /// The `KEY=value` strings of an array.
    fn entries(array: &CStringArray) -> Vec<String> {
        let live = &array.pointers[..array.pointers.len() - 1];
        // SAFETY: every pointer but the last points into a live C string.
        live.iter().map(|&entry| unsafe { CStr::from_ptr(entry) }.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn an_environment_replaces_removes_or_clears_the_variables() {
        let envp = Environment::setting("PATH", "/x").envp();
        let entries = entries(&envp);
        assert_eq!(
            entries.iter().filter(|entry| entry.starts_with("PATH=")).collect::<Vec<_>>(),
            ["PATH=/x"]
        );
        let cleared = Environment { clear: true, vars: vec![("A".into(), "1".into())], unset: vec![] };
        assert_eq!(self::entries(&cleared.envp()), ["A=1"]);
        let unset = Environment { clear: false, vars: vec![], unset: vec!["PATH".into()] };
        assert!(!self::entries(&unset.envp()).iter().any(|entry| entry.starts_with("PATH=")));
    }
}
