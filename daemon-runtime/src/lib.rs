//! Turn `fn main` into a correct Unix daemon.
#![deny(missing_docs, unsafe_op_in_unsafe_fn)]

mod builder;
mod error;
mod fds;
mod pidfile;
mod report;
mod signals;
mod start;
mod steps;
pub mod sysexits;

pub use builder::{Daemon, Running};
pub use daemon_macro::daemon;
pub use error::{Error, Refusal, Step};
pub use fds::{close_inherited_fds, close_listed_fds};
pub use pidfile::PidFile;
pub use signals::reset_signals;
pub use steps::{ensure_single_threaded, redirect_stdio};

#[doc(hidden)]
pub mod __private {
    //! What `#[daemon]` expands to calls. Not a public API.
    use crate::{Daemon, Running};

    /// Starts the daemon; in the launcher, or on an error before forking,
    /// prints the error and exits.
    pub fn start(daemon: Daemon) -> Running {
        daemon.start().unwrap_or_else(|error| error.exit())
    }
}
