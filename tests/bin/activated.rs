//! A socket-activated daemon started through the builder, its pid file at
//! `$PROBE_PID_FILE`, in the foreground with `--foreground`; the body
//! answers on the passed socket (see `daemon_tests::listen::answer_forever`).

fn main() {
    let foreground = std::env::args().any(|arg| arg == "--foreground");
    let _running = daemon_runtime::Daemon::new()
        .pid_file(std::env::var_os("PROBE_PID_FILE").expect("PROBE_PID_FILE"))
        .foreground(foreground)
        .start()
        .unwrap_or_else(|error| error.exit());
    daemon_tests::listen::answer_forever()
}
