use daemon_runtime::daemon;

#[daemon(user = "")]
fn main() {}
