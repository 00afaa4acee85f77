//! Closing inherited descriptors at the cost of what is open, not of
//! `RLIMIT_NOFILE`.

use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::fcntl::FdFlag;

use crate::sys;

/// Closes every descriptor above 2 except those in `keep`.
///
/// Uses `close_range(2)` over the gaps between the kept descriptors (Linux,
/// FreeBSD ≥ 13): a handful of system calls whatever the limit. On kernels
/// without it (before Linux 5.9) it lists `/proc/self/fd` instead, and on
/// macOS `/dev/fd`; it never loops up to `RLIMIT_NOFILE`, which can mean a
/// million `close` calls.
///
/// The fallback allocates: call it before forking, as [`Daemon::start`](crate::Daemon::start) does.
///
/// # Safety
///
/// Descriptors are closed by number: nothing in the process may own or use
/// one that is above 2 and not in `keep` (a [`File`](std::fs::File), an
/// [`OwnedFd`](std::os::fd::OwnedFd), a socket a library keeps), or it would
/// later close or use whatever reuses that number. Call it early, with no
/// other thread running, on descriptors the process inherited.
///
/// # Errors
///
/// The error of `close_range` when it fails for another reason than being
/// absent, or of listing `/proc/self/fd` (`/dev/fd`).
///
/// ```no_run
/// // Keep a listening socket passed as descriptor 3.
/// // SAFETY: first thing in `main`: nothing owns a descriptor above 2 yet.
/// unsafe { daemon_runtime::close_inherited_fds(&[3]) }?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub unsafe fn close_inherited_fds(keep: &[RawFd]) -> std::io::Result<()> {
    // SAFETY: the caller's contract, passed on.
    unsafe { close_all_but(keep) }.map_err(std::io::Error::from)
}

/// What a start closes (`close_fds`, the default): every descriptor above
/// 2 that is not in `keep` and that this process inherited, which is one
/// without `FD_CLOEXEC`. One with the flag was opened by the program
/// itself (Rust opens every file, socket and pipe close-on-exec, and an
/// inherited one would not have survived the `exec`) and a value may own
/// it, so it is left alone: closed by number, that value would later close
/// or use whatever reused the number.
///
/// Which descriptors have the flag is asked of each open one. Which are
/// open: each number below the descriptor table's size (`table_size`,
/// Linux's `FDSize`) when the table is small, as it is unless a high number
/// was ever opened (one `F_GETFD` per number, cheaper there than a
/// listing); else the numbers `/proc/self/fd` (`/dev/fd` on macOS) lists,
/// which cost what is open, where the table can be 32,768 numbers for one
/// descriptor at 19,999. Where there is neither (FreeBSD without fdescfs,
/// Linux without `/proc`), every descriptor above 2 not in `keep` is
/// closed, as [`Daemon::close_fds`](crate::Daemon::close_fds) documents.
pub(crate) fn close_inherited(keep: &[RawFd], table_size: Option<i32>) -> nix::Result<()> {
    let mut keep = keep.to_vec();
    let mut keep_if_owned = |fd: RawFd| {
        if fd > 2 && !keep.contains(&fd) && fd_flags(fd).is_ok_and(|flags| flags.contains(FdFlag::FD_CLOEXEC))
        {
            keep.push(fd);
        }
    };
    match table_size {
        Some(size) if size <= SCANNED_TABLE => (3..size).for_each(&mut keep_if_owned),
        _ => {
            if let Some(open) = sys::FD_LISTING.and_then(|listing| listed_fds(listing).ok()) {
                open.into_iter().for_each(&mut keep_if_owned);
            } else if let Some(size) = table_size {
                (3..size).for_each(&mut keep_if_owned);
            }
        }
    }
    // SAFETY: what is closed is what no value of this program owns: the
    // descriptors it inherited (no `FD_CLOEXEC`), less those it keeps. A
    // descriptor it opened without the flag and still owns must be kept
    // (`keep_fds`), the contract `Daemon::close_fds` states.
    unsafe { close_all_but(&keep) }
}

/// The largest descriptor table whose every number is asked for its flags
/// rather than listed: measured on Linux 6.18, an `F_GETFD` costs some
/// 0.12 µs and a listing of `/proc/self/fd` 10 to 25 µs, so asking wins up
/// to 128 numbers (the smallest tables: 64, then 128).
const SCANNED_TABLE: i32 = 128;

/// The descriptor flags of `fd`, a number that may not be open (`EBADF`):
/// `fcntl(F_GETFD)` on the raw number, never through a `BorrowedFd`, whose
/// contract is an open descriptor.
pub(crate) fn fd_flags(fd: RawFd) -> nix::Result<FdFlag> {
    // SAFETY: F_GETFD only reads the flags of whatever `fd` names, if
    // anything (else EBADF); it takes no pointer and changes nothing.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    Errno::result(flags).map(FdFlag::from_bits_truncate)
}

/// [`close_inherited_fds`] with the `errno` the start reports.
///
/// # Safety
///
/// As [`close_inherited_fds`].
pub(crate) unsafe fn close_all_but(keep: &[RawFd]) -> nix::Result<()> {
    match (close_ranges(keep), sys::FD_LISTING) {
        // SAFETY: the caller's contract, passed on.
        (Err(Errno::ENOSYS | Errno::EPERM), Some(_)) => unsafe { close_listed_fds(keep) },
        (result, _) => result,
    }
}

/// Closes every descriptor above 2 except those in `keep` by listing
/// `/proc/self/fd` (`/dev/fd` off Linux): what [`close_inherited_fds`] falls back to where
/// `close_range(2)` is missing (also blocked by some seccomp filters, hence `EPERM`).
///
/// Not public: reachable as `__private::close_listed_fds` only so that the
/// tests' probe can exercise the fallback on a kernel that has `close_range`
/// (an environment variable switching the path in every daemon would be a
/// knob nobody should have).
///
/// # Safety
///
/// As [`close_inherited_fds`].
///
/// # Errors
///
/// The `errno` of reading `/proc/self/fd` (`ENOENT` when `/proc` is not mounted).
pub unsafe fn close_listed_fds(keep: &[RawFd]) -> nix::Result<()> {
    // Collect first: closing while iterating could close the listing's own fd.
    let open = listed_fds(sys::FD_LISTING.ok_or(Errno::ENOSYS)?)?;
    for fd in open.into_iter().filter(|&fd| fd > 2 && !keep.contains(&fd)) {
        // SAFETY: the caller guarantees that nothing owns a descriptor above
        // 2 outside `keep`; the one the listing used is already closed
        // (EBADF, ignored).
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// The descriptors `listing` (a directory such as `/proc/self/fd`) lists. libc's `opendir` rather than
/// `std::fs::read_dir`, whose drop panics (debug builds) when `closedir`
/// fails: closing the listing's descriptor can fail (`EIO`) after every
/// entry was read, which changes nothing here.
fn listed_fds(listing: &std::ffi::CStr) -> nix::Result<Vec<RawFd>> {
    // SAFETY: a NUL-terminated path; the stream returned is ours alone.
    let dir = unsafe { libc::opendir(listing.as_ptr()) };
    if dir.is_null() {
        return Err(Errno::last());
    }
    let mut open = Vec::new();
    loop {
        // SAFETY: `dir` is the open stream from above, read by this thread only.
        let entry = unsafe { libc::readdir(dir) };
        if entry.is_null() {
            break; // the end (an error ends the listing too: what was read is closed)
        }
        // SAFETY: readdir returned a valid entry that lives until the next
        // readdir on `dir`, and this borrow ends before it.
        let d_name = unsafe { &(*entry).d_name };
        // SAFETY: `d_name` is NUL-terminated within the entry.
        let name = unsafe { std::ffi::CStr::from_ptr(d_name.as_ptr()) };
        if let Some(fd) = name.to_str().ok().and_then(|name| name.parse().ok()) {
            open.push(fd);
        }
    }
    // SAFETY: closes the stream opened above, once; its error changes nothing.
    unsafe { libc::closedir(dir) };
    Ok(open)
}

/// `close_range` over `[3, ∞)` minus `keep`; sound only under
/// [`close_inherited_fds`]'s contract (private, so not an `unsafe fn`).
/// `ENOSYS` where the kernel has none (macOS, `daemon_portable`).
fn close_ranges(keep: &[RawFd]) -> nix::Result<()> {
    let mut keep: Vec<u32> = keep.iter().filter(|&&fd| fd > 2).map(|&fd| fd as u32).collect();
    heap_sort(&mut keep);
    keep.dedup();
    let mut first = 3u32;
    for fd in keep.into_iter().chain(std::iter::once(u32::MAX)) {
        if fd > first {
            sys::close_range(first, fd - 1)?;
        }
        first = fd.saturating_add(1);
    }
    Ok(())
}

/// Sorts ascending in `O(n log n)`, in place. Not `sort_unstable`, whose
/// pattern-defeating quicksort links some 4 KiB of code into every daemon
/// for a list of a few descriptors.
fn heap_sort(values: &mut [u32]) {
    fn sift_down(values: &mut [u32], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && values[child] < values[child + 1] {
                child += 1;
            }
            if values[root] >= values[child] {
                return;
            }
            values.swap(root, child);
            root = child;
        }
    }
    for root in (0..values.len() / 2).rev() {
        sift_down(values, root, values.len());
    }
    for end in (1..values.len()).rev() {
        values.swap(0, end);
        sift_down(values, 0, end);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn heap_sort_sorts() {
        let cases: [&[u32]; 6] =
            [&[], &[7], &[2, 1], &[3, 3, 1], &[9, 4, 7, 1, 8, 2, 6, 3, 5, 0], &[5, 4, 3, 2, 1, 0, 0]];
        for case in cases {
            let mut sorted = case.to_vec();
            super::heap_sort(&mut sorted);
            let mut expected = case.to_vec();
            expected.sort();
            assert_eq!(sorted, expected);
        }
    }
}
