//! Paths as root uses them on a daemon's behalf: walked one component at a
//! time by descriptor ([`walk`]), a file in a walked directory opened and
//! removed under the pid file's rules ([`at`]), and turned into C strings
//! before forking ([`cstr`]).

pub(crate) mod at;
pub(crate) mod cstr;
pub(crate) mod walk;
