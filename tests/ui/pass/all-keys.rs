// Every key at once. Not run: see no-arguments.rs.
mod service {
    use daemon_runtime::daemon;

    #[daemon(
        umask = 0o027,
        chdir = "/",
        double_fork = false,
        pid_file = "/run/myd.pid",
        close_fds = true,
        keep_fds = [3, 4],
        crate = "::daemon_runtime",
    )]
    pub fn main() {}
}

fn main() {
    let _: fn() = service::main;
}
