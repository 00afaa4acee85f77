use daemon_runtime::daemon;

#[daemon]
async fn main() {}
