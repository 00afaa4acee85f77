//! The environment PROGRAM is executed with: the launcher's own, less what
//! would mislead a program run as another user (root's `HOME`), or only a
//! named list with `--clear-env`.
//!
//! The runtime executes PROGRAM with this process's environment, so it is
//! set here, in the launcher, before anything forks: this module decides
//! which variables change ([`plan`]); the runtime's `Environment` applies
//! them (as it builds the `envp` of `--ready notify` too).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use daemon_runtime::__private::Environment;
use nix::unistd::{Uid, User};

/// The `PATH` a cleared environment gets (sudo's `secure_path` on Debian),
/// unless `--keep-env PATH` keeps the caller's.
pub const SAFE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Whose account variables (`HOME`, `USER`, `LOGNAME`, `SHELL`) PROGRAM gets.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// No `--user`: the launcher's, as they are.
    Unchanged,
    /// `--user` with a passwd entry: its home, name and shell.
    User(&'a User),
    /// `--user` with a bare uid that has no passwd entry: none.
    Unknown,
}

/// The environment for `--clear-env` (`clear`, keeping `keep`) and
/// `--user` (`target`); `current` reads the launcher's.
pub fn plan(
    clear: bool,
    keep: &[OsString],
    target: Target<'_>,
    current: impl Fn(&OsStr) -> Option<OsString>,
) -> Environment {
    let mut vars = Vec::new();
    let mut unset = Vec::new();
    if clear {
        vars.extend(keep.iter().filter_map(|name| Some((name.clone(), current(name)?))));
        if !keep.iter().any(|name| name == "PATH") {
            vars.push(("PATH".into(), SAFE_PATH.into()));
        }
    }
    if let Target::Unknown = target {
        vars.retain(|(name, _)| !ACCOUNT_VARS.iter().any(|account| name == account));
        unset.extend(ACCOUNT_VARS.iter().map(OsString::from));
    }
    if let Target::User(user) = target {
        let set = |vars: &mut Vec<(OsString, OsString)>, name: &str, value: &OsStr| {
            vars.retain(|(kept, _)| kept != name);
            vars.push((name.into(), value.to_os_string()));
        };
        set(&mut vars, "HOME", user.dir.as_os_str());
        set(&mut vars, "USER", OsStr::new(&user.name));
        set(&mut vars, "LOGNAME", OsStr::new(&user.name));
        set(&mut vars, "SHELL", user.shell.as_os_str());
    }
    Environment { clear, vars, unset }
}

/// The passwd entry of `--user` (a name, or a uid as the runtime reads it),
/// or `None` when there is none: for a name, the runtime then reports the
/// error; a bare uid runs without account variables ([`Target::Unknown`]).
pub fn account(user: &str) -> Option<User> {
    match user.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)).ok().flatten(),
        Err(_) => User::from_name(user).ok().flatten(),
    }
}

/// The variables a bare uid without a passwd entry must not inherit.
pub const ACCOUNT_VARS: [&str; 4] = ["HOME", "USER", "LOGNAME", "SHELL"];

/// `true` for a name `--keep-env` accepts: non-empty, no `=` or NUL.
pub fn valid_name(name: &OsStr) -> bool {
    !name.is_empty() && !name.as_bytes().iter().any(|&b| b == b'=' || b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cleared_environment_keeps_the_named_variables_and_a_safe_path() {
        let current = |name: &OsStr| (name == "TERM").then(|| OsString::from("xterm"));
        let cleared = plan(true, &["TERM".into(), "GONE".into()], Target::Unchanged, current);
        assert_eq!(cleared.vars, [("TERM".into(), "xterm".into()), ("PATH".into(), SAFE_PATH.into())]);
        let unknown = plan(false, &[], Target::Unknown, current);
        assert_eq!((unknown.vars, unknown.unset.len()), (vec![], 4));
    }

    #[test]
    fn accounts_and_names() {
        assert_eq!(account("0").unwrap().name, "root");
        assert_eq!(account("root").unwrap().uid.as_raw(), 0);
        assert!(valid_name("TERM".as_ref()));
        assert!(!valid_name("A=B".as_ref()) && !valid_name("".as_ref()));
    }
}
