//! A daemon that speaks the whole sd_notify protocol, for the tests: after
//! the runtime's own `READY=1` (automatic readiness) its body sends, in
//! order, `STATUS=watchdog <watchdog_interval()>`, `RELOADING=1` with
//! `MONOTONIC_USEC`, `READY=1` again (the reload is done),
//! `EXTEND_TIMEOUT_USEC=1500000` and `WATCHDOG=1`; then writes its pid to
//! `$PROBE_OUT` and waits for SIGTERM. `main` returning sends `STOPPING=1`.
//! `--foreground` keeps it in the launching process.

use std::time::Duration;

fn main() {
    let foreground = std::env::args().any(|arg| arg == "--foreground");
    let running =
        daemon_runtime::Daemon::new().foreground(foreground).start().unwrap_or_else(|error| error.exit());
    daemon_runtime::notify_status(&format!("watchdog {:?}", daemon_runtime::watchdog_interval()));
    daemon_runtime::notify_reloading();
    daemon_runtime::ready();
    daemon_runtime::notify_extend_timeout(Duration::from_millis(1500));
    daemon_runtime::notify_watchdog();
    daemon_tests::report_pid_and_wait();
    drop(running);
}
