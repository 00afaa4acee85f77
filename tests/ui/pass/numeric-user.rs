// A user or group is a name or a numeric id; an unsuffixed id is a `u32`.
// Not run: see no-arguments.rs.
mod service {
    use daemon_runtime::daemon;

    #[daemon(user = 65534, group = "nogroup")]
    pub fn main() {}
}

fn main() {
    let _: fn() = service::main;
}
