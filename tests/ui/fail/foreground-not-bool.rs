use daemon_runtime::daemon;

#[daemon(foreground = 3)]
fn main() {}
