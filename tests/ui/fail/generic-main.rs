use daemon_runtime::daemon;

#[daemon]
fn main<T>() {}
