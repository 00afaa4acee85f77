// Even where tokio's rewrite would compile, the order is refused: the
// runtime is built where `#[tokio::main]` says, which must be in the daemon.
use daemon_runtime::daemon;

#[tokio::main]
#[daemon]
async fn main() {}
