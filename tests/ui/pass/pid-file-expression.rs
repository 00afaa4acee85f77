// `pid_file` takes any `AsRef<Path>` expression, evaluated before detaching.
// Not run: see no-arguments.rs.
mod service {
    use daemon_runtime::daemon;

    #[daemon(pid_file = std::env::temp_dir().join("x.pid"))]
    pub fn main() {}
}

fn main() {
    let _: fn() = service::main;
}
