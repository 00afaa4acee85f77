//! Switching to an unprivileged user: names resolved before forking, the
//! switch itself made of system calls only, then proven irreversible.

use std::ffi::CString;
use std::fmt;

use nix::errno::Errno;
use nix::unistd::{self, Gid, Group, Uid, User};

use crate::error::Failure;
use crate::error::{Error, Step};
use crate::sys;

/// A user or group as configured: a name, or a numeric id.
///
/// ```
/// use daemon_runtime::Account;
/// assert_eq!(Account::from("nobody"), Account::Name("nobody".into()));
/// assert_eq!(Account::from(65534), Account::Id(65534));
/// assert_eq!(Account::from("65534"), Account::Id(65534));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    /// Looked up in the user or group database (`/etc/passwd`, NSS).
    Name(String),
    /// Used as it is; a uid need not have a passwd entry.
    Id(u32),
}

impl From<&str> for Account {
    fn from(text: &str) -> Account {
        match text.parse() {
            Ok(id) => Account::Id(id),
            Err(_) => Account::Name(text.to_string()),
        }
    }
}

impl From<String> for Account {
    fn from(text: String) -> Account {
        Account::from(text.as_str())
    }
}

impl From<u32> for Account {
    fn from(id: u32) -> Account {
        Account::Id(id)
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Name(name) => f.write_str(name),
            Account::Id(id) => write!(f, "{id}"),
        }
    }
}

/// Who the daemon becomes, resolved in the launcher (name lookups read files
/// and allocate: they cannot run between the forks).
#[derive(Debug)]
pub(crate) struct Credentials {
    uid: Uid,
    gid: Gid,
    groups: Vec<Gid>,
}

impl Credentials {
    /// The uid the daemon runs as.
    pub(crate) fn uid(&self) -> u32 {
        self.uid.as_raw()
    }

    /// The group it runs as.
    pub(crate) fn gid(&self) -> u32 {
        self.gid.as_raw()
    }
}

/// Resolves `user` and `group`. Without a group, the user's primary group is
/// used (for a numeric uid with no passwd entry, the gid of the same number).
/// The supplementary groups are the user's memberships (`getgrouplist`), or
/// only the primary group for a uid without a name: never root's.
pub(crate) fn resolve(user: Option<&Account>, group: Option<&Account>) -> Result<Option<Credentials>, Error> {
    if user.is_none() && group.is_none() {
        return Ok(None);
    }
    let lookup = |step, account: &Account, errno: Errno| Error::Account {
        step,
        name: account.to_string(),
        errno: crate::error::errno::Errno::of(errno),
    };
    let gid = match group {
        Some(Account::Id(id)) => Some(Gid::from_raw(*id)),
        Some(account @ Account::Name(name)) => match Group::from_name(name) {
            Ok(Some(group)) => Some(group.gid),
            Ok(None) => {
                return Err(Error::NoSuchAccount { step: Step::Group, name: name.clone() });
            }
            Err(errno) => return Err(lookup(Step::Group, account, errno)),
        },
        None => None,
    };
    let (uid, gid, groups) = match user {
        None => (unistd::geteuid(), gid.expect("a group"), gid.into_iter().collect()),
        Some(account) => {
            let entry = match account {
                Account::Id(id) => User::from_uid(Uid::from_raw(*id)),
                Account::Name(name) => User::from_name(name),
            }
            .map_err(|errno| lookup(Step::User, account, errno))?;
            match (entry, account) {
                (Some(entry), _) => {
                    let gid = gid.unwrap_or(entry.gid);
                    let name = CString::new(entry.name.as_bytes())
                        .map_err(|_| lookup(Step::User, account, Errno::EINVAL))?;
                    let groups =
                        sys::group_list(&name, gid).map_err(|errno| lookup(Step::User, account, errno))?;
                    (entry.uid, gid, groups)
                }
                (None, Account::Id(id)) => {
                    let gid = gid.unwrap_or(Gid::from_raw(*id));
                    (Uid::from_raw(*id), gid, vec![gid])
                }
                (None, Account::Name(name)) => {
                    return Err(Error::NoSuchAccount { step: Step::User, name: name.clone() });
                }
            }
        }
    };
    // Only root can switch: say so before anything is forked.
    let euid = unistd::geteuid();
    if !euid.is_root() && (uid != euid || gid != unistd::getegid()) {
        let (step, account) = match user {
            Some(account) => (Step::User, account),
            None => (Step::Group, group.expect("a group")),
        };
        return Err(lookup(step, account, Errno::EPERM));
    }
    Ok(Some(Credentials { uid, gid, groups }))
}

/// `setgroups`, `setgid`, `setuid`, in that order (each later one would make
/// the earlier impossible), then proof that root cannot be regained.
/// Async-signal-safe: system calls on resolved ids only.
pub(crate) fn drop_to(credentials: &Credentials) -> Result<(), Failure> {
    let failed = |errno| Failure::Sys(Step::Privileges, errno);
    if unistd::geteuid().is_root() {
        sys::set_groups(&credentials.groups).map_err(failed)?;
    }
    sys::set_ids(credentials.uid, credentials.gid).map_err(failed)?;
    if credentials.uid.is_root() {
        return Ok(());
    }
    // If any of these succeeds the drop is reversible (saved set-user-id,
    // capabilities kept): refuse to run the body at all.
    let root = Uid::from_raw(0);
    if unistd::setuid(root).is_ok() {
        return Err(Failure::RootRegained);
    }
    if sys::setresuid_to_root() {
        return Err(Failure::RootRegained);
    }
    if credentials.gid.as_raw() != 0 && unistd::setgid(Gid::from_raw(0)).is_ok() {
        return Err(Failure::RootRegained);
    }
    Ok(())
}
