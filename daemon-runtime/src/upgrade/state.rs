//! What an upgrade needs to know about this process, remembered by the
//! start (how it was started, which descriptor holds the pid file's lock),
//! whether an upgrade runs or has handed over, and the variable that tells
//! a new process what it inherited.
//!
//! `DAEMON_UPGRADE=<old pid>:<lock fd or ->:<report fd>` is set only by
//! [`Upgrade::run`](crate::Upgrade::run) for the process it starts, which
//! is its child: a process takes the descriptors it names only while the
//! pid it names is its parent's, so a stray copy of the variable (in a
//! grandchild, or after the old process died) names nothing.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

use nix::unistd;

use crate::lock::pid_text::parse_decimal;

/// The variable that hands the descriptors over.
pub(crate) const VARIABLE: &str = "DAEMON_UPGRADE";

/// How this process was started: what an upgrade starts again.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// The executable's path as it was started (`argv[0]` made absolute
    /// against the starting directory, or found on an absolute `PATH`
    /// entry), not `/proc/self/exe`: an upgrade runs what is at that path now.
    pub(crate) exe: PathBuf,
    /// The directory the start was made from, where relative arguments and
    /// paths of the configuration are taken.
    pub(crate) dir: PathBuf,
    /// The configured `ready_timeout`: how long an upgrade waits by default.
    pub(crate) timeout: Duration,
    /// The pid file's path as configured, for messages.
    pub(crate) pid_file: Option<PathBuf>,
}

static ORIGIN: Mutex<Option<Origin>> = Mutex::new(None);

/// The descriptor on which this daemon holds its pid file's lock; -1: none.
static LOCK: AtomicI32 = AtomicI32::new(-1);

/// Whether an upgrade is waiting for its new process.
static IN_PROGRESS: AtomicBool = AtomicBool::new(false);

/// The pid this process handed over to; 0 until then.
static HANDED_TO: AtomicU32 = AtomicU32::new(0);

/// Whether the pid file is shared with another process of this service
/// that owns it, or is about to: the old process during and after an
/// upgrade, the new one until it is ready. Then the pid file is neither
/// removed nor unlocked here (its lock belongs to the open file description
/// both hold: `LOCK_UN` would release it for both).
static SHARED: AtomicBool = AtomicBool::new(false);

/// Called by the start, in the launching process before the fork.
pub(crate) fn remember_origin(timeout: Duration, pid_file: Option<PathBuf>) {
    let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let exe = executable(&dir).unwrap_or_default();
    *ORIGIN.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
        Some(Origin { exe, dir, timeout, pid_file });
}

/// What [`remember_origin`] found, or the same found now (a process that
/// was never started).
pub(crate) fn origin() -> Origin {
    let remembered = ORIGIN.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    remembered.unwrap_or_else(|| {
        let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let exe = executable(&dir).unwrap_or_default();
        Origin { exe, dir, timeout: crate::deadline::DEFAULT_READY_TIMEOUT, pid_file: None }
    })
}

/// `argv[0]` as the shell resolved it: with a slash, taken against `dir`;
/// a bare name, looked up on the absolute entries of `PATH`.
fn executable(dir: &std::path::Path) -> Option<PathBuf> {
    let first = std::env::args_os().next()?;
    let first = PathBuf::from(first);
    if first.as_os_str().as_encoded_bytes().contains(&b'/') {
        return Some(dir.join(first));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|entry| entry.is_absolute())
        .map(|entry| entry.join(&first))
        .find(|candidate| candidate.is_file())
}

/// Called when the daemon's pid file is locked, with its descriptor.
pub(crate) fn remember_lock(fd: RawFd) {
    LOCK.store(fd, Ordering::SeqCst);
}

pub(crate) fn lock_fd() -> Option<RawFd> {
    Some(LOCK.load(Ordering::SeqCst)).filter(|&fd| fd >= 0)
}

/// Whether this process handed over. Async-signal-safe.
pub(crate) fn handed_over() -> bool {
    HANDED_TO.load(Ordering::SeqCst) != 0
}

/// Whether the pid file is shared (see [`SHARED`]). Async-signal-safe.
pub(crate) fn pid_file_shared() -> bool {
    SHARED.load(Ordering::SeqCst)
}

pub(crate) fn share_pid_file(shared: bool) {
    SHARED.store(shared, Ordering::SeqCst);
}

/// The one upgrade at a time: held while it waits for its new process.
#[derive(Debug)]
pub(crate) struct InProgress(());

impl InProgress {
    pub(crate) fn begin() -> Result<InProgress, crate::error::Error> {
        if let Some(pid) = Some(HANDED_TO.load(Ordering::SeqCst)).filter(|&pid| pid != 0) {
            return Err(crate::error::Error::HandedOver { pid });
        }
        match IN_PROGRESS.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => Ok(InProgress(())),
            Err(_) => Err(crate::error::Error::UpgradeInProgress),
        }
    }

    /// The new process `pid` is ready: this process is no longer the daemon.
    pub(crate) fn handed_over(self, pid: u32) {
        HANDED_TO.store(pid, Ordering::SeqCst);
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        IN_PROGRESS.store(false, Ordering::SeqCst);
    }
}

/// The variable's value for a new process of `old`.
pub(crate) fn announce(old: u32, lock: Option<RawFd>, report: RawFd) -> String {
    match lock {
        Some(lock) => format!("{old}:{lock}:{report}"),
        None => format!("{old}:-:{report}"),
    }
}

/// What an upgrading parent passed to this process.
#[derive(Debug)]
pub(crate) struct Inherited {
    /// The pid file's locked descriptor (the old process's open file description).
    pub(crate) lock: Option<OwnedFd>,
    /// Where the ready record, or the error, goes.
    pub(crate) report: OwnedFd,
}

/// The descriptor numbers `DAEMON_UPGRADE` names, when it is addressed to
/// this process (the pid it names is its parent's) and they are open.
pub(crate) fn announced() -> Option<(Option<RawFd>, RawFd)> {
    let value = std::env::var(VARIABLE).ok()?;
    let mut fields = value.split(':');
    let old = parse_decimal(fields.next()?.as_bytes())?;
    let lock = match fields.next()? {
        "-" => None,
        fd => Some(RawFd::try_from(parse_decimal(fd.as_bytes())?).ok()?),
    };
    let report = RawFd::try_from(parse_decimal(fields.next()?.as_bytes())?).ok()?;
    if fields.next().is_some() || i64::from(unistd::getppid().as_raw()) != old as i64 {
        return None;
    }
    let open = |fd: RawFd| fd > 2 && crate::steps::fds::fd_flags(fd).is_ok();
    (open(report) && lock.is_none_or(open)).then_some((lock, report))
}

/// Takes the descriptors [`announced`] named, and removes the variable.
///
/// # Safety
///
/// `announced` must be what [`announced`] returned, taken once, and the
/// process must run one thread (the variable is removed).
pub(crate) unsafe fn take(announced: (Option<RawFd>, RawFd)) -> Inherited {
    let (lock, report) = announced;
    // SAFETY: the caller runs one thread, so nothing reads the environment meanwhile.
    unsafe { std::env::remove_var(VARIABLE) };
    Inherited {
        // SAFETY: by the protocol these descriptors were opened for this
        // process by its parent, checked open, and are taken once.
        lock: lock.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
        // SAFETY: as above.
        report: unsafe { OwnedFd::from_raw_fd(report) },
    }
}
