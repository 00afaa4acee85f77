//! The service manager's protocol, sd_notify(3): sending to
//! `$NOTIFY_SOCKET` ([`send`]), receiving a program's own `READY=1` on a
//! private socket ([`receive`], in a file for `exec_notify`: [`private`]), the daemon's readiness ([`ready`]: the launcher told, and in an
//! upgrade's new process the old one), and
//! whether a manager already supervises this process ([`supervised`]).

pub(crate) mod private;
pub(crate) mod ready;
pub(crate) mod receive;
pub(crate) mod send;
pub(crate) mod supervised;
