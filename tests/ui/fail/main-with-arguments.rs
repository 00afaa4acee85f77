// The argument is not also reported unused, and rustc adds no E0580.
use daemon_runtime::daemon;

#[daemon]
fn main(args: Vec<String>) {}
