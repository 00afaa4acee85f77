// An `init` that only prepares (here: checks a file root can read) returns
// `Result<(), E>`, and `main` takes no argument. Not run: see no-arguments.rs.
mod service {
    use daemon_runtime::daemon;

    fn check_key() -> Result<(), String> {
        std::fs::metadata("/etc/myd.key").map(drop).map_err(|error| format!("/etc/myd.key: {error}"))
    }

    #[daemon(init = self::check_key, user = "nobody")]
    pub fn main() {}
}

fn main() {
    let _: fn() = service::main;
}
