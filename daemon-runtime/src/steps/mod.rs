//! The steps of a start, one a file, in the order the crate docs give
//! them. Each is also callable on its own (the public ones are re-exported
//! at the crate root); `start/` runs them.

pub(crate) mod activation;
pub(crate) mod env_pids;
pub(crate) mod fds;
pub(crate) mod lock_handover;
pub(crate) mod pidfile;
pub(crate) mod preflight;
pub(crate) mod privileges;
pub(crate) mod reopen;
pub(crate) mod signals;
pub(crate) mod stdio;
pub(crate) mod termination;
