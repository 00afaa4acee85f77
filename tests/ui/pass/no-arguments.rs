// trybuild runs every pass case, and a real `#[daemon] fn main` would detach
// from the test. So the attributed `main` lives in a module, where it is
// compiled (the attribute checks only the name) but never called.
mod service {
    use daemon_runtime::daemon;

    #[daemon]
    pub fn main() {}
}

fn main() {
    let _: fn() = service::main;
}
