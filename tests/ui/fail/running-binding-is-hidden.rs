// The attribute's binding cannot be reached from the body: dropping it early
// would remove the pid file while the daemon runs.
use daemon_runtime::daemon;

#[daemon]
fn main() {
    drop(__daemon_running);
}
