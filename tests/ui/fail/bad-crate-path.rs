use daemon_runtime::daemon;

#[daemon(crate = "not a path!")]
fn main() {}
