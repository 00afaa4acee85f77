use daemon_runtime::daemon;

#[daemon(double_fork = false, foreground = true)]
fn main() {}
