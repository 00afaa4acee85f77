use daemon_runtime::daemon;

#[daemon(ready = "sometimes")]
fn main() {}
