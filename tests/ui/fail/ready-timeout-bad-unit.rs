use daemon_runtime::daemon;

#[daemon(ready = "manual", ready_timeout = "30h")]
fn main() {}
