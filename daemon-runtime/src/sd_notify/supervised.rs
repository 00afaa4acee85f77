//! Whether a service manager already does what detaching is for.

use std::os::fd::AsFd;

use nix::sys::stat::{SFlag, fstat};
use nix::unistd;

/// True when the process runs under a supervisor that wants it in the
/// foreground: systemd (`NOTIFY_SOCKET` or `INVOCATION_ID` set), a parent
/// that is PID 1 (PEP 3143's rule: init started us), standard input being a
/// socket (inetd), or this process being PID 1 (a container's entry point,
/// where detaching would end the container).
///
/// The recommended setting for services: `#[daemon(foreground = daemon_runtime::supervised())]`.
///
/// ```
/// let supervised = daemon_runtime::supervised();
/// # let _ = supervised;
/// ```
pub fn supervised() -> bool {
    let systemd = ["NOTIFY_SOCKET", "INVOCATION_ID"].iter().any(|name| std::env::var_os(name).is_some());
    let init_parent = unistd::getppid().as_raw() == 1;
    let container_init = unistd::getpid().as_raw() == 1;
    let inetd = fstat(std::io::stdin().as_fd())
        .is_ok_and(|stat| SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFSOCK);
    systemd || init_parent || container_init || inetd
}
