//! Compile-time behaviour of `#[daemon]`: what it accepts, and the error
//! each misuse gets, pinned by the `.stderr` files beside each failing case.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
