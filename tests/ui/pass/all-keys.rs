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
        user = "nobody",
        group = 65534,
        chroot = "/srv/jail",
        core_dumps = false,
        stdout = "/var/log/myd.out",
        stderr = "/var/log/myd.err",
        reopen_logs_on = "SIGHUP",
        ready = "manual",
        ready_timeout = "500ms",
        foreground = false,
        crate = "::daemon_runtime",
    )]
    pub fn main() {}
}

fn main() {
    let _: fn() = service::main;
}
