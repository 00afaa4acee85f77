use daemon_runtime::daemon;

#[daemon(chdir = "")]
fn main() {}
