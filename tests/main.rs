//! The root package's integration tests, one binary (a module per file:
//! test names read `hostile::…`), so that a change to the shared harness
//! compiles and links one test crate, not fourteen. Two files stay test
//! binaries of their own, which cargo runs one after another, never beside
//! other tests: launcher.rs limits and counts `nobody`'s processes (a
//! daemon of another test dropping to `nobody` would be counted), and
//! faults.rs runs some 400 traced starts against a time budget, `nobody`'s
//! among them, sized for a machine doing nothing else.

mod common;

mod activation;
mod attribute;
mod behaviours;
mod detach;
mod examples;
mod hostile;
mod init;
mod notify;
mod operating;
mod owned_fds;
mod pid_file;
mod security;
mod service;
mod ui;
mod upgrade;
mod upgrade_faults;
mod upgrade_request;
