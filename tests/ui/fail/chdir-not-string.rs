use daemon_runtime::daemon;

#[daemon(chdir = 5)]
fn main() {}
