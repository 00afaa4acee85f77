// `main` may return a `Result`; `?` and the tail expression are untouched.
// Not run: see no-arguments.rs.
mod service {
    use daemon_runtime::daemon;

    #[daemon(umask = 0o022)]
    pub fn main() -> Result<(), std::io::Error> {
        std::fs::metadata("/")?;
        Ok(())
    }
}

fn main() {
    let _: fn() -> Result<(), std::io::Error> = service::main;
}
