//! Prints what `daemon_runtime::supervised()` says about this process.

fn main() {
    println!("{}", daemon_runtime::supervised());
}
