//! A pseudo-terminal to launch from.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes `command` run in a new session whose controlling terminal is a fresh
/// pseudo-terminal, with stdio on it. Returns the master side, which must be
/// kept open while the command runs.
pub fn on_pseudo_terminal(command: &mut Command) -> std::os::fd::OwnedFd {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave = std::fs::File::from(pty.slave);
    command.stdin(slave.try_clone().unwrap()).stdout(slave.try_clone().unwrap()).stderr(slave);
    // TIOCSCTTY's request number has a different type on each system.
    nix::ioctl_write_int_bad!(set_controlling_terminal, libc::TIOCSCTTY);
    let take_terminal = || {
        nix::unistd::setsid()?;
        // SAFETY: TIOCSCTTY takes an int argument; 0 is the new stdin, the
        // pseudo-terminal's slave.
        unsafe { set_controlling_terminal(0, 0) }?;
        Ok(())
    };
    // SAFETY: the closure runs between fork and exec and calls only setsid
    // and ioctl, async-signal-safe, allocating nothing.
    unsafe { command.pre_exec(take_terminal) };
    pty.master
}
