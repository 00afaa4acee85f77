use daemon_runtime::daemon;

#[daemon]
unsafe fn main() {}
