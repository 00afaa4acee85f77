//! Integration tests, examples and test daemons of the `daemon` workspace.
