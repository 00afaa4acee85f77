//! `daemon-run`'s integration tests, one binary (a module per file: test
//! names read `respawn::…`), so that a change to the shared harness
//! compiles and links one test crate, not six.

mod common;

mod daemon_run;
mod listen;
mod log_reopen;
mod notify_socket;
mod respawn;
mod root_steering;
mod security;
mod syslog;
mod unknown_holder;
mod upgrade;
mod verbs;
