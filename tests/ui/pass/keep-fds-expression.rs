// `keep_fds` takes any `IntoIterator<Item = RawFd>` expression, evaluated
// before detaching: a function's result, a `const`, an array naming one.
// Not run: see no-arguments.rs.
use std::os::fd::RawFd;

const LISTEN_FD: RawFd = 3;
const KEPT: [RawFd; 2] = [3, 4];

fn kept() -> Vec<RawFd> {
    vec![LISTEN_FD, 7]
}

mod from_a_function {
    #[daemon_runtime::daemon(keep_fds = super::kept())]
    pub fn main() {}
}

mod from_a_const {
    #[daemon_runtime::daemon(keep_fds = super::KEPT)]
    pub fn main() {}
}

mod from_an_array_naming_a_const {
    #[daemon_runtime::daemon(keep_fds = [super::LISTEN_FD, 4])]
    pub fn main() {}
}

fn main() {
    let _: [fn(); 3] = [from_a_function::main, from_a_const::main, from_an_array_naming_a_const::main];
}
