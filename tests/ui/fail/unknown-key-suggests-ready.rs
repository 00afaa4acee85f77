use daemon_runtime::daemon;

#[daemon(redy = "manual")]
fn main() {}
