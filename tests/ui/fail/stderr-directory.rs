use daemon_runtime::daemon;

#[daemon(stderr = "/var/log/")]
fn main() {}
