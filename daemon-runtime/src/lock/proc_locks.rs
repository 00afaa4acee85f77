//! Linux's proof of who holds a pid file's lock, from `/proc` (see
//! [`crate::lock`] for what it decides). Allocation-free, so a daemon between the forks
//! (and inside its chroot, through a `/proc` descriptor opened before) can
//! run it. Linux's fast path, through `/proc/PID/fdinfo` and `/proc/locks`;
//! macOS, FreeBSD and `--cfg daemon_portable` prove it from the file
//! instead (`probe.rs`).
//!
//! Only an exclusive `flock` held by a live process counts. The candidates
//! are the pid written in the file and the pids `/proc/locks` records for
//! `FLOCK … WRITE` entries on the file; neither is trusted. Each is pinned
//! with a pidfd, then `/proc/PID/fd` is searched for a descriptor of that
//! very file whose `/proc/PID/fdinfo` entry lists an `FLOCK … WRITE` lock
//! (the kernel lists there only the locks owned by that open file
//! description), and the pidfd must still name a live process afterwards,
//! so `/proc/PID` was that process. A shared lock, or a lock whose recorded
//! taker has exited (the pid `/proc/locks` keeps naming once a lock-taker
//! forked and exited, which may be recycled), proves nothing: such a file
//! is no daemon's.
//!
//! The pid written in the file is proven first, and `/proc/locks` is read
//! only when that fails: reading it takes the kernel's `file_rwsem` for
//! writing (torvalds/linux `fs/locks.c` `locks_start`:
//! `percpu_down_write(&file_rwsem)`), which waits for an RCU grace period,
//! milliseconds on an idle machine; `fdinfo` takes only the file's own lock
//! list (`show_fd_locks`). Either way the holder passes the same proof, so
//! the order changes how fast an answer comes, not which answers are given:
//! a daemon holds the lock it took under the pid it wrote. The listing is
//! still what tells a lock held by no live daemon (a taker that exited, a
//! shared lock: "no daemon's") from one held where it cannot be seen.
//!
//! When `/proc/PID/fd` cannot be read (a user asking about a root daemon), a
//! live pid of a `/proc/locks` `WRITE` entry is taken as it is: that user
//! could not signal it anyway. A lock `/proc/locks` does not list at all
//! (held from outside this pid namespace) is never "free": a shared probe
//! tells it from no lock, and the answer is "cannot tell" ([`Hidden`]).

use std::os::fd::{AsFd, BorrowedFd};

use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::sys::stat::{FileStat, Mode};
use nix::unistd;

use crate::lock::pid_text::{PathBuf64, parse_decimal, written_pid};
use crate::lock::{Hidden, Holder, Proof};
use crate::sys::{self as proc_fds, ProcessHandle};

/// The most `WRITE` entries on one file taken from `/proc/locks` (one is
/// normal; more are only seen while locks change hands).
const MAX_CANDIDATES: usize = 8;

/// What the locks on `file` (whose `stat` is `opened`) prove, and the live
/// process proven to hold its exclusive `flock`, if any. `proc` is a
/// descriptor of `/proc`; without one nothing can be seen.
///
/// `/proc/locks` lists only the locks whose taker this `/proc`'s pid
/// namespace can name (torvalds/linux `fs/locks.c` `locks_show`: `if
/// (locks_translate_pid(cur, proc_pidns) == 0) return 0;`), so a file with
/// nothing listed may still be locked from outside the namespace: then a
/// shared `flock` probe tells (see [`unlisted`]).
pub(crate) fn examine_locks(
    proc: Option<BorrowedFd<'_>>,
    file: BorrowedFd<'_>,
    opened: &FileStat,
    pid_file: Option<BorrowedFd<'_>>,
) -> Proof {
    let Some(proc) = proc else { return Proof::Hidden(Hidden::Unreadable) };
    let key = Key::of(opened);
    let written = || pid_file.and_then(written_pid);
    // The pid written first: a daemon's own, proven without the listing.
    let tried = written();
    if let Some(holder) = tried.and_then(|pid| prove(proc, pid, key, false)) {
        return Proof::Held(holder);
    }
    // A lock taken between the listing and the probe is listed on a second
    // look; a pid rewritten during a look is read again on the next.
    for _ in 0..4 {
        if let Some(proof) = look(proc, file, key, tried, written) {
            return proof;
        }
    }
    Proof::Hidden(Hidden::OtherNamespace)
}

/// One look at `/proc/locks` and the pid written in the pid file (unless
/// it is `tried`, already not proven to hold the lock); `None` when nothing
/// is listed and yet an exclusive lock is held, or when the pid written
/// changed during the look.
fn look(
    proc: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    key: Key,
    tried: Option<u32>,
    written_pid: impl Fn() -> Option<u32>,
) -> Option<Proof> {
    let mut candidates = [0u32; MAX_CANDIDATES];
    let mut count = 0;
    let (mut listed, mut invisible) = (false, false);
    let read =
        fcntl::openat(proc, c"locks", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).and_then(|locks| {
            let mut buf = [0u8; 4096];
            each_line(locks.as_fd(), &mut buf, |line| {
                let Some(entry) = Entry::parse(line).filter(|entry| entry.key == key) else { return false };
                listed = true;
                // 0: a taker this namespace cannot name (older kernels list it so).
                invisible |= entry.write && entry.pid == 0;
                if entry.write && entry.pid != 0 && !candidates[..count].contains(&entry.pid) {
                    candidates[count] = entry.pid;
                    count += 1;
                }
                count == MAX_CANDIDATES
            })
        });
    // The pid written first: when two processes hold the lock on one open
    // file description (an upgrade's old and new process), the daemon is
    // the one that wrote its pid; `/proc/locks` keeps naming the process
    // that took the lock, which may be the old one, still draining.
    // Skipped when it is `tried`, already not proven before the listing
    // (then without the listing's word, which the loop below adds).
    let written = written_pid();
    let fresh = written.filter(|pid| Some(*pid) != tried);
    if let Some(fresh) = fresh
        && let Some(holder) = prove(proc, fresh, key, candidates[..count].contains(&fresh))
    {
        return Some(Proof::Held(holder));
    }
    for &pid in candidates[..count].iter().filter(|&&pid| Some(pid) != fresh) {
        if let Some(holder) = prove(proc, pid, key, true) {
            return Some(Proof::Held(holder));
        }
    }
    // Rewritten meanwhile (an upgrade's new process writing its pid as its
    // old one lets go): what was read proves nothing either way.
    if written_pid() != written {
        return None;
    }
    Some(match (read, listed, invisible) {
        (Err(_), _, _) => Proof::Hidden(Hidden::Unreadable),
        (Ok(()), _, true) => Proof::Hidden(Hidden::OtherNamespace),
        // An exclusive lock whose listed takers do not hold it (they exited
        // after a fork, or closed their descriptor): its holder is another
        // process, found by its descriptors (issue 26, item K).
        (Ok(()), true, false) if count > 0 => search(proc, key),
        (Ok(()), true, false) => Proof::Foreign,
        (Ok(()), false, false) => return unlisted(file),
    })
}

/// Every process `/proc` lists, searched for a descriptor of the file
/// `key` names whose `fdinfo` lists its exclusive `flock`: the holder of a
/// lock whose taker forked and exited (the kernel keeps naming the taker,
/// torvalds/linux `fs/locks.c` `flock_make_lock`: `fl->c.flc_pid =
/// current->tgid`, set once when the lock is taken). Bounded by
/// [`MAX_PROCESSES`](proc_fds::MAX_PROCESSES) and allocation-free: a start
/// runs it between the forks. Not found: the holder is out of this
/// namespace's sight (a descriptor in flight in a socket, say), or out of
/// this user's (processes whose descriptors it may not read).
fn search(proc: BorrowedFd<'_>, key: Key) -> Proof {
    let mut denied = false;
    let mut found = None;
    let searched = proc_fds::any_process(proc, |pid| {
        // Pinned first, then checked, then still alive: `/proc/PID` was
        // this process, not a successor of its pid.
        let Ok(process) = ProcessHandle::open(pid) else { return false };
        let holds =
            |name: &[u8], target: &FileStat| Key::of(target) == key && fdinfo_has_lock(proc, pid, name, key);
        match proc_fds::any_fd(proc, pid, holds) {
            Ok(true) if process.alive() => found = Some(Holder { pid, process, inherited: true }),
            Ok(_) | Err(Errno::ENOENT | Errno::ESRCH) => {}
            Err(_) => denied = true,
        }
        found.is_some()
    });
    match (searched, found) {
        (_, Some(holder)) => Proof::Held(holder),
        (Err(_), _) => Proof::Hidden(Hidden::Unreadable),
        _ if denied => Proof::Hidden(Hidden::Uninspectable),
        _ => Proof::Hidden(Hidden::OtherNamespace),
    }
}

/// Nothing listed: free, unless an exclusive lock that `/proc/locks` does
/// not show is held, which a shared `flock` probe on the caller's own
/// descriptor refuses (`EWOULDBLOCK`). A shared lock the probe gets is
/// released at once; a start that meets it sees it listed under the
/// caller's pid, as a shared lock, and looks past it.
fn unlisted(file: BorrowedFd<'_>) -> Option<Proof> {
    match crate::lock::flock(file, libc::LOCK_SH | libc::LOCK_NB) {
        Ok(()) => {
            let _ = crate::lock::flock(file, libc::LOCK_UN);
            Some(Proof::Free)
        }
        Err(Errno::EWOULDBLOCK) => None,
        Err(_) => Some(Proof::Hidden(Hidden::Unreadable)),
    }
}

/// Proves that `pid` holds an exclusive lock on the file `key` names.
/// `listed`: `/proc/locks` named it, which is enough when its descriptors
/// cannot be read.
fn prove(proc: BorrowedFd<'_>, pid: u32, key: Key, listed: bool) -> Option<Holder> {
    let process = ProcessHandle::open(pid).ok()?;
    // A descriptor of that very file whose `fdinfo` lists an exclusive `flock`.
    let proven = match proc_fds::any_fd(proc, pid, |name, target| {
        Key::of(target) == key && fdinfo_has_lock(proc, pid, name, key)
    }) {
        Ok(found) => found,
        Err(Errno::EACCES | Errno::EPERM) => listed,
        Err(_) => false,
    };
    // Still alive: `/proc/PID` was this process, not a successor of its pid.
    (proven && process.alive()).then_some(Holder { pid, process, inherited: false })
}

/// Whether `/proc/PID/fdinfo/NAME` lists an exclusive `flock` on the file
/// `key` names (the kernel lists there only the locks owned by that open
/// file description).
fn fdinfo_has_lock(proc: BorrowedFd<'_>, pid: u32, name: &[u8], key: Key) -> bool {
    let mut path = PathBuf64::new();
    path.push_decimal(u64::from(pid));
    path.push(b"/fdinfo/");
    path.push(name);
    let Some(path) = path.as_c_str() else { return false };
    let Ok(info) = fcntl::openat(proc, path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()) else {
        return false;
    };
    let mut buf = [0u8; 4096];
    let mut found = false;
    let _ = each_line(info.as_fd(), &mut buf, |line| {
        found = line
            .strip_prefix(b"lock:")
            .and_then(Entry::parse)
            .is_some_and(|entry| entry.write && entry.key == key);
        found
    });
    found
}

/// A file as `/proc/locks` names it: device numbers and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    major: u64,
    minor: u64,
    ino: u64,
}

impl Key {
    fn of(file: &FileStat) -> Key {
        #[allow(clippy::unnecessary_cast)] // dev_t and ino_t differ across targets
        let (dev, ino) = (file.st_dev as u64, file.st_ino as u64);
        Key {
            major: u64::from(libc::major(dev as _) as u32),
            minor: u64::from(libc::minor(dev as _) as u32),
            ino,
        }
    }
}

/// One granted `flock` entry: `1: FLOCK  ADVISORY  WRITE 1234 fe:00:10010895 0 EOF`.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    write: bool,
    pid: u32,
    key: Key,
}

impl Entry {
    fn parse(line: &[u8]) -> Option<Entry> {
        let mut fields = line.split(u8::is_ascii_whitespace).filter(|field| !field.is_empty());
        fields.next()?; // the entry's number
        let kind = fields.next()?;
        if kind != b"FLOCK" {
            return None; // POSIX, OFD locks, or a waiter (`->`)
        }
        fields.next()?; // ADVISORY
        let write = match fields.next()? {
            b"WRITE" => true,
            b"READ" => false,
            _ => return None,
        };
        // 0: a holder in a pid namespace this one cannot see.
        let pid = u32::try_from(parse_decimal(fields.next()?)?).ok()?;
        let mut parts = fields.next()?.split(|&b| b == b':');
        let major = hex(parts.next()?)?;
        let minor = hex(parts.next()?)?;
        let ino = parse_decimal(parts.next()?)?;
        Some(Entry { write, pid, key: Key { major, minor, ino } })
    }
}

fn hex(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 15 {
        return None;
    }
    text.iter().try_fold(0, |n, &d| Some(n * 16 + u64::from((d as char).to_digit(16)?)))
}

/// Calls `each` on every line read from `fd` until it returns true; a line
/// longer than `buf` is skipped.
fn each_line(fd: BorrowedFd<'_>, buf: &mut [u8], mut each: impl FnMut(&[u8]) -> bool) -> nix::Result<()> {
    let mut filled = 0;
    let mut skipping = false;
    loop {
        let n = match unistd::read(fd, &mut buf[filled..]) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno),
        };
        if n == 0 {
            if filled > 0 && !skipping {
                each(&buf[..filled]);
            }
            return Ok(());
        }
        filled += n;
        let mut start = 0;
        while let Some(end) = buf[start..filled].iter().position(|&b| b == b'\n') {
            if !skipping && each(&buf[start..start + end]) {
                return Ok(());
            }
            skipping = false;
            start += end + 1;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            filled = 0;
            skipping = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_lines_parse() {
        let entry = Entry::parse(b"1: FLOCK  ADVISORY  WRITE 1234 fe:00:10010895 0 EOF").unwrap();
        assert_eq!(
            entry,
            Entry { write: true, pid: 1234, key: Key { major: 0xfe, minor: 0, ino: 10010895 } }
        );
        let entry = Entry::parse(b"\t2: FLOCK  ADVISORY  READ 7 103:0a:5 0 EOF").unwrap();
        assert_eq!(entry, Entry { write: false, pid: 7, key: Key { major: 0x103, minor: 10, ino: 5 } });
        for line in [
            &b"1: -> FLOCK  ADVISORY  WRITE 1235 fe:00:10 0 EOF"[..],
            b"3: POSIX  ADVISORY  WRITE 1 fe:00:10 0 EOF",
            b"4: OFDLCK ADVISORY  WRITE -1 fe:00:10 0 EOF",
            b"",
        ] {
            assert_eq!(Entry::parse(line), None, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn our_own_exclusive_lock_is_proven_and_a_shared_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pid");
        std::fs::write(&path, format!("{}\n", std::process::id())).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let opened = nix::sys::stat::fstat(&file).unwrap();
        let Some(proc) = crate::sys::open_proc().unwrap() else {
            eprintln!("SKIPPED our_own_exclusive_lock_is_proven_and_a_shared_one_is_not: no /proc here");
            return;
        };
        // The file is its own pid file here: the pid is read from it too.
        let proof = || examine_locks(Some(proc.as_fd()), file.as_fd(), &opened, Some(file.as_fd()));
        assert!(matches!(proof(), Proof::Free), "nobody locked it");
        crate::lock::flock(&file, libc::LOCK_SH).unwrap();
        assert!(matches!(proof(), Proof::Foreign), "a shared lock proves nothing");
        crate::lock::flock(&file, libc::LOCK_EX).unwrap();
        let Proof::Held(found) = proof() else { panic!("our lock") };
        assert_eq!(found.pid, std::process::id());
    }

    #[test]
    fn a_file_naming_a_live_non_holder_falls_back_to_the_listing() {
        // The file names us, who only have it open; a child holds the lock.
        let dir = tempfile::tempdir().unwrap();
        let (pid_file, path, mut locker) = crate::lock::locked_by_a_child(dir.path());
        let file = std::fs::File::open(&path).unwrap();
        let opened = nix::sys::stat::fstat(&file).unwrap();
        let proc = crate::sys::open_proc().unwrap().expect("/proc");
        let named = std::fs::File::open(&pid_file).unwrap();
        let proof = examine_locks(Some(proc.as_fd()), file.as_fd(), &opened, Some(named.as_fd()));
        locker.kill().unwrap();
        locker.wait().unwrap();
        // `flock -x FILE CMD` takes the lock itself, then forks CMD, which
        // inherits it: the listing names `flock`, which holds it.
        let Proof::Held(found) = proof else { panic!("the listed holder, not the pid written: {proof:?}") };
        assert_eq!(found.pid, locker.id());
    }

    #[test]
    fn long_lines_are_skipped() {
        let (read, write) = unistd::pipe().unwrap();
        unistd::write(&write, b"short\nxxxxxxxxxxxxxxxxxxxx\nend").unwrap();
        drop(write);
        let mut seen = Vec::new();
        let mut buf = [0u8; 8];
        each_line(read.as_fd(), &mut buf, |line| {
            seen.push(line.to_vec());
            false
        })
        .unwrap();
        assert_eq!(seen, [b"short".to_vec(), b"end".to_vec()]);
    }
}
