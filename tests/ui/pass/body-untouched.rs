// Inner attributes stay first in the body, and the body may declare its own
// `__daemon_running` without clashing with the attribute's binding.
// Not run: see no-arguments.rs.
mod service {
    use std::process::ExitCode;

    use daemon_runtime::daemon;

    #[daemon]
    pub fn main() -> ExitCode {
        #![allow(unused_variables)]
        let unused = 1;
        let __daemon_running = 7_u8;
        ExitCode::from(__daemon_running)
    }
}

fn main() {
    let _: fn() -> std::process::ExitCode = service::main;
}
