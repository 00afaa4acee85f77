//! Who holds a pid file's lock, proven from the file itself, where no lock
//! listing names the holders: macOS, FreeBSD, and Linux built with `--cfg
//! daemon_portable` (so that Linux's tests run it; `proc_locks.rs` is
//! Linux's fast path). Allocation-free, as a daemon runs it between the
//! forks, inside its chroot.
//!
//! Only an exclusive `flock` held by a live process counts, and the
//! evidence of one is, in this order:
//!
//! 1. the lock: `flock(LOCK_EX|LOCK_NB)` on the caller's own descriptor of
//!    the file fails with `EWOULDBLOCK`, and so does `flock(LOCK_SH|LOCK_NB)`
//!    (a shared lock is refused only by an exclusive one). A lock the probe
//!    gets is released at once: it was free, or only shared;
//! 2. the pid written in the pid file beside the lock file (only a daemon
//!    writes it, once it holds the lock), pinned before it is checked ([`ProcessHandle`]: a pidfd on
//!    Linux; a kqueue `EVFILT_PROC` watch on macOS and FreeBSD, refused with
//!    `ESRCH` for a pid no process has, which reports the exit but does not
//!    hold the pid the way a pidfd does: see `kqueue.rs`);
//! 3. that very process has this file (same device and inode) open through
//!    a descriptor other than the caller's probe: `/proc/PID/fd` on Linux,
//!    `proc_pidinfo`/`proc_pidfdinfo` on macOS, `KERN_PROC_FILEDESC` records
//!    with `KF_FLAG_HASLOCK` on FreeBSD (`flock` was called on that open
//!    file and not undone, which a failed `flock` also leaves set: see
//!    `sys/freebsd.rs`);
//! 4. and it has not exited after the check, so the check looked at it and
//!    not at a successor of its pid.
//!
//! No process can tell which open file holds the lock here, so this is
//! evidence, not Linux's proof (the lock on the holder's own open file
//! description, `/proc/PID/fdinfo`): the one false positive is a process
//! whose pid the file names, that has it open, and whose own `flock` on it
//! failed (an older instance still shutting down, say).
//!
//! A pid no process has, or one whose process does not have the file open,
//! is no daemon's and is never signalled: a pid reused since its daemon
//! died is taken for the holder only if that process has this very pid
//! file open while someone holds its exclusive lock.
//!
//! The lock's holder is not named, so a starter that has locked the file
//! but not written its pid yet looks like a stranger's lock: the verdicts
//! "held by no daemon" (the file is replaced) and "cannot tell" are only
//! given once the pid written has not changed for [`SETTLE`]; a holder
//! proven, a lock released or only shared are answered at once. "Cannot
//! tell" ([`Hidden`]) is never "not running": no pid written, or one whose
//! process this user may not inspect (another user's; a visibility policy
//! that answers `ESRCH` for a live process, [`esrch_is_ambiguous`]), where
//! Linux trusts the kernel's lock listing.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::stat::FileStat;

use crate::lock::pid_text::written_pid;
use crate::lock::{Hidden, Holder, Proof, flock};
use crate::sys::{Inode, ProcessHandle, esrch_is_ambiguous, has_open, inode};

/// How long an unproven exclusive lock is watched before it is judged: far
/// longer than a starter takes from its lock to its pid written (a few
/// system calls that do not block).
const SETTLE: Duration = Duration::from_millis(100);

/// How often the lock and the pid are looked at meanwhile.
const LOOK_EVERY: Duration = Duration::from_millis(2);

/// The most looks in all, however often the pid written changes.
const MAX_LOOKS: u32 = 4 * SETTLE_LOOKS;
const SETTLE_LOOKS: u32 = (SETTLE.as_millis() / LOOK_EVERY.as_millis()) as u32;

/// What the locks on `file` (the caller's own descriptor, whose `stat` is
/// `opened`) prove, and the live process proven to hold its exclusive
/// `flock`, if any. `proc` is [`open_proc`](crate::sys::open_proc)'s:
/// Linux reads the holder's descriptors there; macOS and FreeBSD ask the
/// kernel by pid and need none.
pub(crate) fn examine_locks(
    proc: Option<BorrowedFd<'_>>,
    file: BorrowedFd<'_>,
    opened: &FileStat,
    pid_file: Option<BorrowedFd<'_>>,
) -> Proof {
    let key = inode(opened);
    let (mut last, mut same) = (None, 0);
    for _ in 0..MAX_LOOKS {
        match lock_of(file) {
            Lock::Free => return Proof::Free, // none, or released since
            Lock::Shared => return Proof::Foreign,
            Lock::Exclusive => {}
            Lock::Unknown => return Proof::Hidden(Hidden::Unreadable),
        }
        let written = pid_file.and_then(written_pid);
        let verdict = match written {
            Some(pid) => prove(proc, pid, key, file),
            // A starter that has not written yet, or a stranger.
            None => Verdict::Unknown(Hidden::Unnamed),
        };
        let hidden = match verdict {
            Verdict::Held(holder) => return Proof::Held(holder),
            Verdict::NotHolding => None,
            Verdict::Unknown(why) => Some(why),
        };
        if written == last {
            same += 1;
        } else {
            (last, same) = (written, 1);
        }
        if same >= SETTLE_LOOKS {
            return hidden.map_or(Proof::Foreign, Proof::Hidden);
        }
        std::thread::sleep(LOOK_EVERY);
    }
    // The pid written kept changing.
    Proof::Hidden(Hidden::Unnamed)
}

/// What a `flock` probe of the file says.
enum Lock {
    Free,
    Shared,
    Exclusive,
    /// The probe failed otherwise.
    Unknown,
}

fn lock_of(file: BorrowedFd<'_>) -> Lock {
    match flock(file, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => {
            let _ = flock(file, libc::LOCK_UN);
            Lock::Free
        }
        Err(Errno::EWOULDBLOCK) => match flock(file, libc::LOCK_SH | libc::LOCK_NB) {
            Ok(()) => {
                let _ = flock(file, libc::LOCK_UN);
                Lock::Shared
            }
            Err(Errno::EWOULDBLOCK) => Lock::Exclusive,
            Err(_) => Lock::Unknown,
        },
        Err(_) => Lock::Unknown,
    }
}

/// What one look at the pid written in the file found.
enum Verdict {
    Held(Holder),
    /// No process has that pid, or it does not have the file open.
    NotHolding,
    /// It cannot be told, and why (no pid written, a process that may not
    /// be inspected, too many descriptors to read).
    Unknown(Hidden),
}

/// Whether process `pid` holds the file `key` names open: pinned first,
/// checked, and still alive after the check. `probe` is the caller's own
/// descriptor, which proves nothing when the file names the caller.
fn prove(proc: Option<BorrowedFd<'_>>, pid: u32, key: Inode, probe: BorrowedFd<'_>) -> Verdict {
    let process = match ProcessHandle::open(pid) {
        Ok(process) => process,
        // No such process, unless a visibility policy hides live ones from
        // this caller (FreeBSD's `see_other_uids`: `esrch_is_ambiguous`).
        Err(error) if error.raw_os_error() == Some(libc::ESRCH) => {
            return match esrch_is_ambiguous() {
                true => Verdict::Unknown(Hidden::Uninspectable),
                false => Verdict::NotHolding,
            };
        }
        // A thread of another process (Linux), which no daemon writes.
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => return Verdict::NotHolding,
        Err(_) => return Verdict::Unknown(Hidden::Uninspectable),
    };
    let skip = (pid == std::process::id()).then(|| probe.as_raw_fd());
    match has_open(proc, pid, key, skip) {
        Some(true) if process.alive() => Verdict::Held(Holder { pid, process, inherited: false }),
        Some(_) => Verdict::NotHolding,
        None => Verdict::Unknown(Hidden::Uninspectable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// The proof for the lock file `file`, the pid read from `pid_file`.
    fn examine(file: &std::fs::File, pid_file: &std::path::Path) -> Proof {
        let proc = crate::sys::open_proc().unwrap();
        let opened = nix::sys::stat::fstat(file).unwrap();
        let named = std::fs::File::open(pid_file).ok();
        examine_locks(proc.as_ref().map(AsFd::as_fd), file.as_fd(), &opened, named.as_ref().map(AsFd::as_fd))
    }

    fn flock_ok(file: &std::fs::File, operation: libc::c_int) {
        flock(file.as_fd(), operation).unwrap();
    }

    #[test]
    fn our_own_exclusive_lock_on_a_file_naming_us_is_proven() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("x.pid");
        std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
        let path = dir.path().join("x.pid.lock");
        std::fs::write(&path, "").unwrap();
        let holder = std::fs::File::open(&path).unwrap();
        let probe = std::fs::File::open(&path).unwrap();
        let examine = |probe| examine(probe, &pid_file);
        assert!(matches!(examine(&probe), Proof::Free), "nobody locked it");
        flock_ok(&holder, libc::LOCK_SH);
        assert!(matches!(examine(&probe), Proof::Foreign), "a shared lock proves nothing");
        flock_ok(&holder, libc::LOCK_EX);
        let Proof::Held(found) = examine(&probe) else { panic!("our lock") };
        assert_eq!(found.pid, std::process::id());
        // The probe got no lock: the holder's is intact.
        assert_eq!(flock(probe.as_fd(), libc::LOCK_EX | libc::LOCK_NB), Err(Errno::EWOULDBLOCK));
        drop(holder);
        assert!(matches!(examine(&probe), Proof::Free), "released");
    }

    #[test]
    fn the_probe_itself_is_no_proof() {
        // Locked through a descriptor of a child process that lives on;
        // the file names us, who have only the probe open.
        let dir = tempfile::tempdir().unwrap();
        let (pid_file, path, mut locker) = crate::lock::locked_by_a_child(dir.path());
        let probe = std::fs::File::open(&path).unwrap();
        let examine = |probe| examine(probe, &pid_file);
        assert!(matches!(examine(&probe), Proof::Foreign), "the file names us, who do not hold it");
        std::fs::write(&pid_file, "").unwrap();
        assert!(matches!(examine(&probe), Proof::Hidden(Hidden::Unnamed)), "no pid: cannot tell");
        locker.kill().unwrap();
        locker.wait().unwrap();
    }
}
