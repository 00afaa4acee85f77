//! Tests that cannot run here say so.

/// True when the tests run as root; otherwise prints, past the test
/// harness's capture, that `test` is skipped and why, and returns false.
pub fn root_or_skip(test: &str, needs: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: needs root to {needs}");
    false
}
