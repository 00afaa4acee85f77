// Values passed through `macro_rules!` fragments arrive wrapped in invisible
// groups; they are checked like literals written in place.
// Not run: see no-arguments.rs.
macro_rules! service {
    ($umask:expr, $fds:expr) => {
        mod service {
            use daemon_runtime::daemon;

            #[daemon(umask = $umask, keep_fds = $fds)]
            pub fn main() {}
        }
    };
}

service!(0o027, [3, 4]);

fn main() {
    let _: fn() = service::main;
}
