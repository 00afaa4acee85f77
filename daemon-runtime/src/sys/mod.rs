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
//! shares: process handles ([`pidfd`] on Linux, [`kqueue`] elsewhere) and
//! `/proc`'s descriptor listing ([`proc_fds`]). Besides these, the neutral
//! types the interface speaks in ([`Inode`]), and what `daemon-run`'s
//! supervisor needs of the kernel (a parent-death signal, a `signalfd`, a
//! child's end seen unreaped), through `__private`, so that `daemon-run`
//! names no platform either. Nothing here imports the
//! rest of the crate but its leaves (`error`, `deadline`,
//! `lock/pid_text.rs`): the lock proofs built on these means are in `lock/`.

use nix::sys::stat::FileStat;

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
#[cfg(any(linux, freebsd))]
mod linux_or_freebsd;
#[cfg(macos)]
mod macos;
#[cfg(linux)]
mod pidfd;
#[cfg(portable)]
mod portable;
#[cfg(linux)]
mod proc_fds;
#[cfg(not(linux))]
mod proc_fds_none;
/// Which signals end a process by default, per kernel: data, on every target.
mod signal_table;

/// A file's device and inode: what names it, whatever its path.
pub type Inode = (u64, u64);

/// The device and inode of the file `file` describes.
pub fn inode(file: &FileStat) -> Inode {
    #[allow(clippy::unnecessary_cast)] // dev_t and ino_t differ across targets
    (file.st_dev as u64, file.st_ino as u64)
}

/// Whether `/proc/locks` names the holders of every lock (Linux): then
/// `lock/proc_locks.rs` proves who holds a pid file's lock; elsewhere, and
/// under `daemon_portable`, `lock/probe.rs` proves it from the file.
pub(crate) const LOCKS_LISTED: bool = cfg!(linux_fast);

// A live process pinned, so that a signal reaches it and no process that
// reused its pid: a pidfd on Linux, a kqueue watching its exit elsewhere.
#[cfg(kqueue)]
pub(crate) use kqueue::ProcessHandle;
#[cfg(linux)]
pub(crate) use pidfd::ProcessHandle;

// `/proc`: a descriptor of it, the descriptors of a process as it lists
// them (Linux; elsewhere no descriptor of `/proc`, and `ENOSYS`).
#[cfg(linux)]
pub(crate) use proc_fds::{any_fd, any_process, open_proc};
#[cfg(not(linux))]
pub(crate) use proc_fds_none::{any_fd, any_process, open_proc};

// Whether process `pid` has a given file open (the portable proof).
#[cfg(freebsd)]
pub(crate) use freebsd::has_open;
#[cfg(macos)]
pub(crate) use macos::has_open;
#[cfg(linux)]
pub(crate) use proc_fds::has_open;

// The kernel's count of this process's threads.
#[cfg(freebsd)]
pub(crate) use freebsd::threads;
#[cfg(linux)]
pub(crate) use linux::threads;
#[cfg(macos)]
pub(crate) use macos::threads;

// Whether the launcher can be the subreaper of the daemon it starts, and
// becoming (or ceasing to be) one.
#[cfg(freebsd)]
pub(crate) use freebsd::{SUBREAPER, subreaper};
#[cfg(linux_fast)]
pub(crate) use linux::{SUBREAPER, subreaper};
#[cfg(any(macos, linux_portable))]
pub(crate) use portable::{SUBREAPER, subreaper};

// This process's children, live or not yet reaped: what a failed start's
// launcher kills and reaps among what its subreaper role gave it.
#[cfg(linux_fast)]
pub(crate) use linux::children;
#[cfg(portable)]
pub(crate) use portable::children;

// `close_range(2)`, or `ENOSYS` where there is none; and the directory
// that lists this process's open descriptors, where one can be trusted.
#[cfg(freebsd)]
pub(crate) use freebsd::{FD_LISTING, close_range};
#[cfg(linux)]
pub(crate) use linux::{FD_LISTING, close_range};
#[cfg(macos)]
pub(crate) use macos::{FD_LISTING, close_range};

/// What a start reads of its own process before closing descriptors and
/// resetting signals, where the kernel tells it (Linux's
/// `/proc/self/status`, read once for both).
pub(crate) struct OwnStatus {
    /// The size of the descriptor table: every open descriptor is below it.
    pub(crate) fd_table_size: Option<i32>,
    /// The ignored signals, bit `n - 1` for signal `n`.
    pub(crate) ignored: Option<u64>,
}

#[cfg(linux)]
pub(crate) use linux::own_status;
/// No table size told here (the listing, `FD_LISTING`, is taken instead),
/// nor a list of ignored signals (each is looked at).
#[cfg(not(linux))]
pub(crate) fn own_status() -> OwnStatus {
    OwnStatus { fd_table_size: None, ignored: None }
}

// The highest signal number.
#[cfg(freebsd)]
pub(crate) use freebsd::last_signal;
#[cfg(linux)]
pub(crate) use linux::last_signal;
#[cfg(macos)]
pub(crate) use macos::last_signal;

// Signal dispositions: reading or setting one handler.
#[cfg(linux_fast)]
pub(crate) use linux::{SigAction, sigaction};
#[cfg(portable)]
pub(crate) use portable::{SigAction, sigaction};

// The signals whose default action ends the process, per kernel.
#[cfg(freebsd)]
pub(crate) use freebsd::TERMINATING;
#[cfg(linux)]
pub(crate) use linux::TERMINATING;
#[cfg(macos)]
pub(crate) use macos::TERMINATING;

// A pipe whose ends close on `exec`.
#[cfg(any(linux_fast, freebsd))]
pub use linux_or_freebsd::cloexec_pipe;
#[cfg(any(macos, linux_portable))]
pub use portable::cloexec_pipe;

// The user's groups, setting them, and setting every id at once.
#[cfg(any(linux, freebsd))]
pub(crate) use linux_or_freebsd::{group_list, set_groups, set_ids, setresuid_to_root};
#[cfg(macos)]
pub(crate) use macos::{group_list, set_groups, set_ids, setresuid_to_root};

// Whether an `open(O_NOFOLLOW)` error says the name is a symbolic link
// (`ELOOP`; FreeBSD's `EMLINK`).
#[cfg(freebsd)]
pub(crate) use freebsd::is_symlink_refusal;
#[cfg(linux)]
pub(crate) use linux::is_symlink_refusal;
#[cfg(macos)]
pub(crate) use macos::is_symlink_refusal;

// One component of a path opened without following it, and the target of
// a symbolic link opened that way.
#[cfg(any(linux, freebsd))]
pub(crate) use linux_or_freebsd::{open_path, read_link};
#[cfg(macos)]
pub(crate) use macos::{open_path, read_link};

// Whether `ESRCH` about a pid can mean a live process hidden from this
// caller, rather than none (the portable proof).
#[cfg(freebsd)]
pub(crate) use freebsd::esrch_is_ambiguous;
#[cfg(linux)]
pub(crate) use linux::esrch_is_ambiguous;
#[cfg(macos)]
pub(crate) use macos::esrch_is_ambiguous;

// Whether another process has a handler for a signal (Linux's
// `/proc/PID/status`; elsewhere "cannot tell").
#[cfg(linux)]
pub(crate) use linux::catches;
#[cfg(any(macos, freebsd))]
pub(crate) use portable::catches;

// The service manager's notify socket, and the reply to an upgrade's
// request: an abstract address with the sender's credentials, Linux's only.
/// Whether a private `NOTIFY_SOCKET` can be bound here (abstract sockets
/// and `SO_PASSCRED`).
#[cfg(linux)]
pub const CREDENTIALED_DATAGRAMS: bool = true;
/// Whether a private `NOTIFY_SOCKET` can be bound here (abstract sockets
/// and `SO_PASSCRED`).
#[cfg(any(macos, freebsd))]
pub const CREDENTIALED_DATAGRAMS: bool = false;
#[cfg(linux)]
pub(crate) use linux::{
    bind_credentialed, bind_credentialed_at, notify_address, receive_from, send_datagram,
};
#[cfg(any(macos, freebsd))]
pub(crate) use portable::{
    bind_credentialed, bind_credentialed_at, notify_address, receive_from, send_datagram,
};

// What `daemon-run`'s supervisor needs of the kernel, for the PROGRAM it
// forks: a signal to it when the supervisor dies, its end seen without
// reaping it where the kernel allows, and the supervisor's signals read
// from a descriptor (`signalfd`) where there is one.
#[cfg(freebsd)]
pub use freebsd::parent_death_signal;
#[cfg(linux)]
pub use linux::parent_death_signal;
#[cfg(linux_fast)]
pub use linux::{SignalFd, child_ended};
#[cfg(macos)]
pub use macos::parent_death_signal;
#[cfg(portable)]
pub use portable::{SignalFd, child_ended};
