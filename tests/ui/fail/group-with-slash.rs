use daemon_runtime::daemon;

#[daemon(group = "staff/admin")]
fn main() {}
