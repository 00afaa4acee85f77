use daemon_runtime::daemon;

#[daemon(verbose = true)]
fn main() {}
