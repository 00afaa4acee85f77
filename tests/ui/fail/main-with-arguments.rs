use daemon_runtime::daemon;

#[daemon]
fn main(_args: Vec<String>) {}
