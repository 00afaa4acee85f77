//! Every difference between the kernels this crate supports, and the only
//! place that names one. The rest of the crate calls the names below, which
//! mean the same on every platform; `build.rs` defines the aliases they are
//! chosen by (as nix does):
//!
//! | alias | what |
//! |---|---|
//! | `linux`, `macos`, `freebsd` | the kernel |
//! | `linux_fast` | Linux's own means: `/proc/locks`, `close_range`, the raw `rt_sigaction`, the subreaper |
//! | `linux_portable` | Linux built with `--cfg daemon_portable` (spelled once, in `build.rs`: rustdoc gets no `RUSTFLAGS`) |
//! | `portable` | the POSIX fallbacks of macOS and FreeBSD, also on Linux built with `--cfg daemon_portable`, so that Linux's tests run them |
//! | `kqueue` | a kqueue `EVFILT_PROC` watch pins a process (macOS, FreeBSD) |
//!
//! One file a kernel ([`linux`], [`macos`], [`freebsd`]) and one for the
//! POSIX fallbacks ([`portable`]), plus the means one platform family
//! shares: process handles ([`pidfd`] on Linux, [`kqueue`] elsewhere),
//! `/proc`'s descriptor listing ([`proc_fds`]), and the two proofs of a
//! lock's holder ([`proc_locks`] on Linux, [`probe`] elsewhere).

#[cfg(not(supported))]
compile_error!("daemon-runtime supports Linux, macOS and FreeBSD only (see the README's platform table)");

/// FreeBSD's open-files listing read whole; also built for Linux's tests.
#[cfg(any(freebsd, test))]
mod filedesc;
#[cfg(freebsd)]
mod freebsd;
#[cfg(kqueue)]
mod kqueue;
#[cfg(linux)]
mod linux;
#[cfg(macos)]
mod macos;
#[cfg(linux)]
mod pidfd;
#[cfg(portable)]
mod portable;
#[cfg(portable)]
mod probe;
#[cfg(linux)]
mod proc_fds;
#[cfg(linux_fast)]
mod proc_locks;
/// Which signals end a process by default, per kernel: data, on every target.
mod signal_table;

#[cfg(kqueue)]
pub(crate) use kqueue::ProcessHandle;
/// A live process pinned, so that a signal reaches it and no process that
/// reused its pid: a pidfd on Linux, a kqueue watching its exit elsewhere.
#[cfg(linux)]
pub(crate) use pidfd::ProcessHandle;

#[cfg(portable)]
pub(crate) use probe::{examine_locks, open_proc};
/// Who holds a pid file's exclusive lock, proven: from `/proc/locks` on
/// Linux, from the pid written in the file elsewhere.
#[cfg(linux_fast)]
pub(crate) use proc_locks::{examine_locks, open_proc};

/// The kernel's count of this process's threads.
#[cfg(freebsd)]
pub(crate) use freebsd::threads;
#[cfg(linux)]
pub(crate) use linux::threads;
#[cfg(macos)]
pub(crate) use macos::threads;

/// Whether the launcher can be the subreaper of the daemon it starts, and
/// becoming (or ceasing to be) one.
#[cfg(freebsd)]
pub(crate) use freebsd::{SUBREAPER, subreaper};
#[cfg(linux_fast)]
pub(crate) use linux::{SUBREAPER, subreaper};
#[cfg(any(macos, linux_portable))]
pub(crate) use portable::{SUBREAPER, subreaper};

/// `close_range(2)`, or `ENOSYS` where there is none; and the directory
/// that lists this process's open descriptors, where one can be trusted.
#[cfg(freebsd)]
pub(crate) use freebsd::{FD_LISTING, close_range};
#[cfg(linux)]
pub(crate) use linux::{FD_LISTING, close_range};
#[cfg(macos)]
pub(crate) use macos::{FD_LISTING, close_range};

#[cfg(freebsd)]
pub(crate) use freebsd::last_signal;
#[cfg(linux)]
pub(crate) use linux::last_signal;
/// Signal dispositions: the ignored set where the kernel lists it, the
/// highest signal number, and reading or setting one handler.
#[cfg(linux_fast)]
pub(crate) use linux::{SigAction, ignored_signals, sigaction};
#[cfg(macos)]
pub(crate) use macos::last_signal;
#[cfg(portable)]
pub(crate) use portable::{SigAction, ignored_signals, sigaction};

/// The signals whose default action ends the process, per kernel.
#[cfg(freebsd)]
pub(crate) use freebsd::TERMINATING;
#[cfg(linux)]
pub(crate) use linux::TERMINATING;
#[cfg(macos)]
pub(crate) use macos::TERMINATING;

/// A pipe whose ends close on `exec`.
#[cfg(any(linux_fast, freebsd))]
pub(crate) use linux_or_freebsd::cloexec_pipe;
#[cfg(any(macos, linux_portable))]
pub(crate) use portable::cloexec_pipe;

/// The user's groups, setting them, and setting every id at once.
#[cfg(any(linux, freebsd))]
pub(crate) use linux_or_freebsd::{group_list, set_groups, set_ids, setresuid_to_root};
#[cfg(macos)]
pub(crate) use macos::{group_list, set_groups, set_ids, setresuid_to_root};

/// Whether an `open(O_NOFOLLOW)` error says the name is a symbolic link
/// (`ELOOP`; FreeBSD's `EMLINK`).
#[cfg(freebsd)]
pub(crate) use freebsd::is_symlink_refusal;
#[cfg(linux)]
pub(crate) use linux::is_symlink_refusal;
#[cfg(macos)]
pub(crate) use macos::is_symlink_refusal;

/// One component of a path opened without following it, and the target of
/// a symbolic link opened that way.
#[cfg(any(linux, freebsd))]
pub(crate) use linux_or_freebsd::{open_path, read_link};
#[cfg(macos)]
pub(crate) use macos::{open_path, read_link};

/// Whether `ESRCH` about a pid can mean a live process hidden from this
/// caller, rather than none (the portable proof).
#[cfg(freebsd)]
pub(crate) use freebsd::esrch_is_ambiguous;
#[cfg(linux_portable)]
pub(crate) use linux::esrch_is_ambiguous;
#[cfg(macos)]
pub(crate) use macos::esrch_is_ambiguous;

/// Whether process `pid` has a given file open (the portable proof).
#[cfg(freebsd)]
pub(crate) use freebsd::has_open;
#[cfg(macos)]
pub(crate) use macos::has_open;
#[cfg(linux_portable)]
pub(crate) use proc_fds::has_open;

/// The service manager's notify socket: an abstract address with the
/// sender's credentials, Linux's only.
#[cfg(linux)]
pub(crate) use linux::{bind_credentialed, notify_address, receive_from, send_datagram};
#[cfg(any(macos, freebsd))]
pub(crate) use portable::{bind_credentialed, notify_address, receive_from, send_datagram};

/// What Linux and FreeBSD share: `pipe2`, `setresuid`, `O_PATH`.
#[cfg(any(linux, freebsd))]
mod linux_or_freebsd;
