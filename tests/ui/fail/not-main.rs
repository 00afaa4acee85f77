use daemon_runtime::daemon;

#[daemon]
fn run() {}

fn main() {
    run();
}
