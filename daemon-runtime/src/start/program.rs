//! The program a start executes in place of the daemon's body
//! ([`Daemon::exec`](crate::Daemon::exec), `exec_notify`), and which
//! `daemon-run --respawn`'s child and an upgrade's new process execute too: its path and `argv`, the
//! environment it gets ([`Environment`]), and the crate's one `exec`
//! ([`execute`]), which gives SIGPIPE back its default action. Everything
//! `execve` takes is built before forking, so that executing allocates
//! nothing and may run in the child of a fork.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, Step};
use crate::path::cstr::CStringArray;

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
        let invalid = || Error::Path {
            step: Step::Exec,
            path: program.to_path_buf(),
            errno: crate::error::errno::Errno::of(Errno::EINVAL),
        };
        let path = CString::new(program.as_os_str().as_bytes()).map_err(|_| invalid())?;
        let mut all = vec![path.clone()];
        for arg in args {
            all.push(CString::new(arg.as_ref().as_bytes()).map_err(|_| invalid())?);
        }
        Ok(Program { path, argv: CStringArray::new(all), envp: None })
    }

    /// Executes the program with `envp` (see [`Environment::envp`]) instead
    /// of this process's environment.
    pub fn set_environment(&mut self, envp: CStringArray) {
        self.envp = Some(envp);
    }

    /// Makes the program's environment announce the pid file's lock it
    /// inherits (`DAEMON_LOCK_FD`, `DAEMON_LOCK_PID`: see
    /// `steps/lock_handover.rs`), with the entries written right before the
    /// `exec` (`steps/env_pids.rs`). Builds the `envp` now, from this
    /// process's environment when none was set: nothing is built after the fork.
    pub(crate) fn announce_lock(&mut self) {
        let envp = self.envp.take().unwrap_or_else(|| Environment::default().envp());
        // SAFETY: the entries of `env_pids` are leaked: never freed or moved.
        self.envp = Some(unsafe { envp.with_more(&crate::steps::env_pids::lock_entries()) });
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
    /// entries a detaching daemon rewrites to its own pid (see
    /// `steps/env_pids.rs`), so the program finds them naming the daemon.
    /// An announcement of the pid file's lock (`DAEMON_LOCK_FD`,
    /// `DAEMON_LOCK_PID`) is never passed on: only a start that hands its
    /// lock to the program announces one. A variable with a NUL byte, which
    /// no environment can hold, is left out.
    pub fn envp(&self) -> CStringArray {
        use crate::steps::lock_handover::{FD_VARIABLE, PID_VARIABLE};
        let rewritten = crate::steps::env_pids::entries();
        let replaced = |key: &OsStr| {
            self.unset.iter().chain(self.vars.iter().map(|(name, _)| name)).any(|name| name == key)
                || key == FD_VARIABLE
                || key == PID_VARIABLE
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
        // SAFETY: the entries of `env_pids` are leaked: never freed or moved.
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

/// The crate's one `exec`: `execv` of `path` with `argv` (`execve` with
/// `envp` when given), SIGPIPE set back to its default action right before.
/// Rust ignores SIGPIPE in every program it starts, and an ignored
/// disposition survives `execve`: a program run with it ignored would not
/// die when it writes to a closed pipe (`yes | head -1` would never end),
/// so std's `Command`, shells and other launchers restore it too. Should the
/// exec fail, SIGPIPE is set back as the caller had it.
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
        // strings it owns or the leaked entries of `env_pids`.
        Some(envp) => unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) },
    };
    let errno = Errno::last();
    // SAFETY: `old` is the action read above; restoring it runs no code.
    unsafe { libc::sigaction(libc::SIGPIPE, &old, std::ptr::null_mut()) };
    errno
}

#[cfg(test)]
mod tests {
    use super::{Environment, Program};

    #[test]
    fn a_program_given_the_lock_gets_one_announcement_written_before_the_exec() {
        let mut program = Program::new("/bin/true".as_ref(), [""; 0]).unwrap();
        program.announce_lock();
        let announced = |entries: Vec<String>| -> Vec<String> {
            entries.into_iter().filter(|entry| entry.starts_with("DAEMON_LOCK_")).collect()
        };
        let entries = program.envp.as_ref().unwrap().entries();
        assert_eq!(announced(entries), ["DAEMON_LOCK_FD=0", "DAEMON_LOCK_PID=0"]);
        crate::steps::env_pids::announce_lock(7);
        let entries = program.envp.as_ref().unwrap().entries();
        let pid = std::process::id();
        assert_eq!(announced(entries), ["DAEMON_LOCK_FD=7".to_string(), format!("DAEMON_LOCK_PID={pid}")]);
    }

    #[test]
    fn an_environment_replaces_removes_or_clears_the_variables() {
        let entries = Environment::setting("PATH", "/x").envp().entries();
        assert_eq!(
            entries.iter().filter(|entry| entry.starts_with("PATH=")).collect::<Vec<_>>(),
            ["PATH=/x"]
        );
        let cleared = Environment { clear: true, vars: vec![("A".into(), "1".into())], unset: vec![] };
        assert_eq!(cleared.envp().entries(), ["A=1"]);
        let unset = Environment { clear: false, vars: vec![], unset: vec!["PATH".into()] };
        assert!(!unset.envp().entries().iter().any(|entry| entry.starts_with("PATH=")));
    }
}
