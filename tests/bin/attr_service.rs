//! The service keys of `#[daemon]`, for the tests: manual readiness with a
//! 2 s timeout, no core dumps, and foreground mode when `$PROBE_FOREGROUND`
//! is set. The body reports ready (after `$PROBE_READY_DELAY_MS`
//! milliseconds, if set: longer than 2000 makes the launcher time out), then
//! writes its pid to `$PROBE_OUT` and waits for SIGTERM.

use std::time::Duration;

use daemon_runtime::daemon;

#[daemon(
    pid_file = std::env::var_os("PROBE_PID_FILE").expect("PROBE_PID_FILE"),
    core_dumps = false,
    ready = "manual",
    ready_timeout = "2s",
    foreground = std::env::var_os("PROBE_FOREGROUND").is_some(),
)]
fn main() {
    if let Some(delay) = std::env::var("PROBE_READY_DELAY_MS").ok().and_then(|ms| ms.parse().ok()) {
        std::thread::sleep(Duration::from_millis(delay));
    }
    daemon_runtime::ready();
    daemon_tests::report_pid_and_wait();
}
