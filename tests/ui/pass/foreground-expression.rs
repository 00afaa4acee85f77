// `foreground` takes any `bool` expression, evaluated before detaching.
// Not run: see no-arguments.rs.
mod service {
    use daemon_runtime::daemon;

    #[daemon(foreground = std::env::args().any(|a| a == "--foreground"))]
    pub fn main() {}
}

fn main() {
    let _: fn() = service::main;
}
