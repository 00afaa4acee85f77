//! `daemonize` 0.5, as its README shows it: the pid file, working directory
//! and umask set through its builder; an error is printed and exits 1.

fn main() {
    let pid_file = std::env::var_os("BENCH_PID_FILE").expect("BENCH_PID_FILE is set");
    let chdir = std::env::var_os("BENCH_CHDIR").unwrap_or_else(|| "/".into());
    let daemon = daemonize::Daemonize::new().pid_file(pid_file).working_directory(chdir).umask(0o027);
    if let Err(error) = daemon.start() {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
