//! A socket-activated daemon started through the builder: `--foreground`
//! and `--pid-file P` configure it; the body answers on the passed socket
//! (see `daemon_tests::listen::answer_forever`).

fn main() {
    let mut daemon = daemon_runtime::Daemon::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        daemon = match arg.as_str() {
            "--foreground" => daemon.foreground(true),
            "--pid-file" => daemon.pid_file(args.next().expect("--pid-file needs a path")),
            other => panic!("unknown option {other}"),
        };
    }
    let _running = daemon.start().unwrap_or_else(|error| error.exit());
    daemon_tests::listen::answer_forever()
}
