use daemon_runtime::daemon;

#[daemon(user = true)]
fn main() {}
