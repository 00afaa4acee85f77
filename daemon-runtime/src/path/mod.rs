//! Paths as root uses them on a daemon's behalf: walked one component at a
//! time by descriptor ([`walk`]), and turned into C strings before forking
//! ([`cstr`]).

pub(crate) mod cstr;
pub(crate) mod walk;
