use daemon_runtime::daemon;

#[daemon]
extern "C" fn main() {}
