use daemon_runtime::daemon;

#[daemon]
struct Config {
    verbose: bool,
}

fn main() {}
