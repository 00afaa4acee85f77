// Every argument error is reported in one build, not one per fix.
use daemon_runtime::daemon;

#[daemon(umask = 0o1000, chdir = "tmp", pid_fil = "/run/x.pid")]
fn main() {}
