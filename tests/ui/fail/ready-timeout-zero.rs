use daemon_runtime::daemon;

#[daemon(ready_timeout = "0s")]
fn main() {}
