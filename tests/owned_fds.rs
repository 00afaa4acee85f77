//! Closing inherited descriptors closes only what was inherited: a file the
//! program opened itself before the start (close-on-exec, as std opens
//! everything) stays open for the value that owns it, while a descriptor
//! inherited without `FD_CLOEXEC` is closed.

use crate::common;

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;

use common::{Harness, PROBE, wait_for_pid};

#[test]
fn a_file_the_program_opened_before_the_start_stays_open_and_inherited_ones_close() {
    let harness = Harness::new("owned-fds");
    let owned = harness.path("owned");
    std::fs::write(&owned, b"").unwrap();
    let inherited = std::fs::File::create(harness.path("inherited")).unwrap();
    let raw = inherited.as_raw_fd();
    let mut command = harness.command(PROBE);
    command.args(["--open-before", owned.to_str().unwrap()]).env("PROBE_OUT", harness.path("probe.out"));
    let leak = move || {
        // SAFETY: dup2 takes any numbers; `raw` is open in the parent, so in
        // the child; the copy on 7 has no FD_CLOEXEC, as an inherited one.
        unsafe { libc::dup2(raw, 7) };
        Ok(())
    };
    // SAFETY: the hook runs between fork and exec and calls only dup2,
    // async-signal-safe, allocating nothing.
    unsafe { command.pre_exec(leak) };
    assert!(harness.run(&mut command).status.success());
    let daemon = wait_for_pid(&harness.path("probe.out"));
    let fds = daemon.fds();
    let above_stdio: Vec<_> = fds.iter().filter(|&(&fd, _)| fd > 2).map(|(_, path)| path.clone()).collect();
    assert_eq!(above_stdio, [owned], "the owned file, and nothing inherited: {fds:?}");
    daemon.terminate();
}
