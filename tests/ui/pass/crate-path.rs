// `crate` names the runtime by another path, here a renamed import.
// Not run: see no-arguments.rs.
use daemon_runtime as rt;

mod service {
    use daemon_runtime::daemon;

    #[daemon(crate = "crate::rt", umask = 0o077)]
    pub fn main() {}
}

mod explicit_default {
    use daemon_runtime::daemon;

    #[daemon(crate = "::daemon_runtime")]
    pub fn main() {}
}

fn main() {
    let _: fn() = service::main;
    let _: fn() = explicit_default::main;
}
