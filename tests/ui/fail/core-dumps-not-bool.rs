use daemon_runtime::daemon;

#[daemon(core_dumps = "no")]
fn main() {}
