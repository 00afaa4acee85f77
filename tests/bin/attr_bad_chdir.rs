//! `#[daemon]` with a working directory that does not exist: the launcher
//! must report it. The body never runs.

use daemon_runtime::daemon;

#[daemon(chdir = "/nonexistent/daemon-attribute-test", pid_file = "/tmp/daemon-attr-bad-chdir.pid")]
fn main() {
    unreachable!("the start must fail");
}
