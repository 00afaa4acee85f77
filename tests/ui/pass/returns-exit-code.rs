// `main` may return an `ExitCode`, and keeps its visibility and attributes.
// Not run: see no-arguments.rs.
mod service {
    use std::process::ExitCode;

    use daemon_runtime::daemon;

    /// Documented, and the docs stay on `main`.
    #[daemon(double_fork = true)]
    #[must_use]
    pub(crate) fn main() -> ExitCode {
        ExitCode::from(3)
    }
}

fn main() {
    let _: fn() -> std::process::ExitCode = service::main;
}
