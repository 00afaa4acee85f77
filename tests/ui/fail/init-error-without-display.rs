// `init`'s error is printed with `Display`: a type with only `Debug` is
// refused, on `init`.
use daemon_runtime::daemon;

#[derive(Debug)]
struct KeyError;

fn open_key() -> Result<std::fs::File, KeyError> {
    Err(KeyError)
}

#[daemon(init = open_key)]
fn main(key: std::fs::File) {
    drop(key);
}
