//! A socket-activated `#[daemon]`: the pid file from `$PROBE_PID_FILE`; the
//! body answers on the passed socket (see `daemon_tests::listen::answer_forever`).

use daemon_runtime::daemon;

#[daemon(pid_file = std::env::var_os("PROBE_PID_FILE").expect("PROBE_PID_FILE"))]
fn main() {
    daemon_tests::listen::answer_forever()
}
