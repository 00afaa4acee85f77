//! `#[daemon]` with `keep_fds` given by an expression: a function that reads
//! the descriptors to keep from `$PROBE_KEEP_FDS` (`8,10`) and appends the
//! pid of the process evaluating it to `$PROBE_KEEP_FDS_EVALUATED`, so the
//! test can see that it ran once, in the launching process.

use std::io::Write;
use std::os::fd::RawFd;

use daemon_runtime::daemon;

fn kept_fds() -> Vec<RawFd> {
    let evaluated = std::env::var_os("PROBE_KEEP_FDS_EVALUATED").expect("PROBE_KEEP_FDS_EVALUATED");
    let mut record = std::fs::OpenOptions::new().append(true).create(true).open(evaluated).expect("record");
    writeln!(record, "{}", std::process::id()).expect("record");
    let fds = std::env::var("PROBE_KEEP_FDS").expect("PROBE_KEEP_FDS");
    fds.split(',').map(|fd| fd.parse().expect("a descriptor number")).collect()
}

#[daemon(keep_fds = kept_fds())]
fn main() {
    daemon_tests::report_pid_and_wait();
}
