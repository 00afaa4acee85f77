use daemon_runtime::daemon;

#[daemon(chdir = "var/lib/myd")]
fn main() {}
