//! Which signals end a process by default, on each kernel this crate
//! supports, as plain data compiled on every target: so that Linux's unit
//! tests check the macOS and FreeBSD tables too.
//!
//! Two transcriptions per kernel, checked against each other by the tests
//! below: the default action of each of the 31 classic signals, copied
//! from the kernel's own table ([`LINUX`], [`XNU`], [`FREEBSD`]), and the
//! list the pid file's termination handler (`steps/termination.rs`)
//! covers ([`LINUX_TERMINATING`], [`XNU_TERMINATING`],
//! [`FREEBSD_TERMINATING`]): every signal whose default action ends the
//! process (terminate, or terminate with a core), less `SIGKILL`, which
//! cannot be caught, and less [`FAULTS`]. A signal whose default is to be
//! ignored must never be listed: the handler would remove the pid file,
//! restore the default and raise the signal again, the kernel would drop
//! it, and the daemon would run on without its pid file, so that a second
//! start runs a second copy (`SIGIO` on macOS and FreeBSD, issue 22).
//!
//! Names, not numbers: each kernel's module (`linux.rs`, `macos.rs`,
//! `freebsd.rs`) numbers them with libc's constants ([`numbering!`]),
//! checks at compile time that its table names every signal the platform
//! has ([`covers`]), and turns its list into numbers ([`numbers`]).
//!
//! Signals above 31 are left out everywhere: Linux's real-time signals
//! (`SIGRTMIN()..=SIGRTMAX()`) and FreeBSD's 32 to 128 (`sigprop()` in
//! `sys/kern/kern_sig.c` gives them property 0, which `issignal()` treats
//! as "terminate") end a process too, but they carry no meaning of their
//! own: a program that uses one installs its handler, and one that dies by
//! one unhandled leaves a pid file that the next start proves stale by its
//! lock. Arming them would cost two system calls each at every start.

// Each target builds with its own kernel's table; the others are read by the tests.
#![cfg_attr(not(test), allow(dead_code))]

use libc::c_int;

/// What the kernel does with a signal whose handler is `SIG_DFL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// The process ends.
    Terminate,
    /// The process ends, dumping core.
    Core,
    /// Nothing (`SIGCONT` continues a stopped process and is otherwise ignored).
    Ignore,
    /// The process stops.
    Stop,
}

use Action::{Core, Ignore, Stop, Terminate};

/// One kernel's signals 1 to 31, in number order: name and default action.
pub(crate) type Table = [(&'static str, Action); 31];

/// The signals that report a fault of the process itself: left at their
/// default, so that a core dump shows the state untouched.
pub(crate) const FAULTS: [&str; 7] =
    ["SIGILL", "SIGTRAP", "SIGABRT", "SIGFPE", "SIGBUS", "SIGSEGV", "SIGSYS"];

/// Linux with the generic numbering (x86, Arm, RISC-V, PowerPC; MIPS,
/// SPARC, Alpha and PA-RISC number differently, and only they have
/// `SIGEMT`). torvalds/linux `include/linux/signal.h` (read at
/// 0102498083d58d8b17759642c602b525215e1a54): `SIG_KERNEL_IGNORE_MASK` is
/// CONT, CHLD, WINCH, URG; `SIG_KERNEL_STOP_MASK` STOP, TSTP, TTIN, TTOU;
/// `SIG_KERNEL_COREDUMP_MASK` QUIT, ILL, TRAP, ABRT, FPE, SEGV, BUS, SYS,
/// XCPU, XFSZ; every other signal terminates (`sig_fatal`). Also run:
/// `linux.rs`'s tests raise each signal in a child of the running kernel.
pub(crate) const LINUX: Table = [
    ("SIGHUP", Terminate),
    ("SIGINT", Terminate),
    ("SIGQUIT", Core),
    ("SIGILL", Core),
    ("SIGTRAP", Core),
    ("SIGABRT", Core),
    ("SIGBUS", Core),
    ("SIGFPE", Core),
    ("SIGKILL", Terminate),
    ("SIGUSR1", Terminate),
    ("SIGSEGV", Core),
    ("SIGUSR2", Terminate),
    ("SIGPIPE", Terminate),
    ("SIGALRM", Terminate),
    ("SIGTERM", Terminate),
    ("SIGSTKFLT", Terminate),
    ("SIGCHLD", Ignore),
    ("SIGCONT", Ignore),
    ("SIGSTOP", Stop),
    ("SIGTSTP", Stop),
    ("SIGTTIN", Stop),
    ("SIGTTOU", Stop),
    ("SIGURG", Ignore),
    ("SIGXCPU", Core),
    ("SIGXFSZ", Core),
    ("SIGVTALRM", Terminate),
    ("SIGPROF", Terminate),
    ("SIGWINCH", Ignore),
    ("SIGIO", Terminate), // = SIGPOLL
    ("SIGPWR", Terminate),
    ("SIGSYS", Core),
];

/// macOS. apple-oss-distributions/xnu `bsd/sys/signalvar.h`, `sigprop[NSIG]`
/// (xnu-11417.101.15, e3723e1f17661b24996789d8afc084c0c3303b26, lines
/// 129-162; line 130 is signal 0, each signal N at line 130 + N). `SA_KILL`
/// terminates, `SA_KILL | SA_CORE` with a core, `SA_IGNORE` is dropped:
/// `bsd/kern/kern_sig.c` `issignal_locked`, the `SIG_DFL` case. `NSIG` is
/// 32 (`bsd/sys/signal.h` line 76): there is no signal above 31.
pub(crate) const XNU: Table = [
    ("SIGHUP", Terminate),    // 131 SA_KILL
    ("SIGINT", Terminate),    // 132 SA_KILL
    ("SIGQUIT", Core),        // 133 SA_KILL | SA_CORE
    ("SIGILL", Core),         // 134
    ("SIGTRAP", Core),        // 135
    ("SIGABRT", Core),        // 136
    ("SIGEMT", Core),         // 137 SA_KILL | SA_CORE
    ("SIGFPE", Core),         // 138
    ("SIGKILL", Terminate),   // 139
    ("SIGBUS", Core),         // 140
    ("SIGSEGV", Core),        // 141
    ("SIGSYS", Core),         // 142
    ("SIGPIPE", Terminate),   // 143 SA_KILL
    ("SIGALRM", Terminate),   // 144
    ("SIGTERM", Terminate),   // 145
    ("SIGURG", Ignore),       // 146 SA_IGNORE
    ("SIGSTOP", Stop),        // 147 SA_STOP
    ("SIGTSTP", Stop),        // 148 SA_STOP | SA_TTYSTOP
    ("SIGCONT", Ignore),      // 149 SA_IGNORE | SA_CONT
    ("SIGCHLD", Ignore),      // 150 SA_IGNORE
    ("SIGTTIN", Stop),        // 151
    ("SIGTTOU", Stop),        // 152
    ("SIGIO", Ignore),        // 153 SA_IGNORE
    ("SIGXCPU", Terminate),   // 154 SA_KILL: no core on macOS
    ("SIGXFSZ", Terminate),   // 155 SA_KILL
    ("SIGVTALRM", Terminate), // 156
    ("SIGPROF", Terminate),   // 157
    ("SIGWINCH", Ignore),     // 158 SA_IGNORE
    ("SIGINFO", Ignore),      // 159 SA_IGNORE
    ("SIGUSR1", Terminate),   // 160 SA_KILL
    ("SIGUSR2", Terminate),   // 161 SA_KILL
];

/// FreeBSD. freebsd/freebsd-src `sys/kern/kern_sig.c`, `sigproptbl[NSIG]`
/// (read at 00ebd80972388cea11d0cf3af1494005f2e99e62), designated
/// initialisers: `SIGPROP_KILL` terminates, `| SIGPROP_CORE` with a core,
/// `SIGPROP_IGNORE` is dropped (`issignal()`, the `SIG_DFL` case; and
/// `kern_sigaction` deletes a pending one). `NSIG` is 32; signals 32
/// (`SIGTHR`) to 128 are outside the table (see the module's text).
pub(crate) const FREEBSD: Table = [
    ("SIGHUP", Terminate),    // SIGPROP_KILL
    ("SIGINT", Terminate),    // SIGPROP_KILL
    ("SIGQUIT", Core),        // SIGPROP_KILL | SIGPROP_CORE
    ("SIGILL", Core),         //
    ("SIGTRAP", Core),        //
    ("SIGABRT", Core),        //
    ("SIGEMT", Core),         // SIGPROP_KILL | SIGPROP_CORE
    ("SIGFPE", Core),         //
    ("SIGKILL", Terminate),   //
    ("SIGBUS", Core),         //
    ("SIGSEGV", Core),        //
    ("SIGSYS", Core),         //
    ("SIGPIPE", Terminate),   // SIGPROP_KILL
    ("SIGALRM", Terminate),   //
    ("SIGTERM", Terminate),   //
    ("SIGURG", Ignore),       // SIGPROP_IGNORE
    ("SIGSTOP", Stop),        // SIGPROP_STOP
    ("SIGTSTP", Stop),        // SIGPROP_STOP | SIGPROP_TTYSTOP
    ("SIGCONT", Ignore),      // SIGPROP_IGNORE | SIGPROP_CONT
    ("SIGCHLD", Ignore),      // SIGPROP_IGNORE
    ("SIGTTIN", Stop),        //
    ("SIGTTOU", Stop),        //
    ("SIGIO", Ignore),        // SIGPROP_IGNORE
    ("SIGXCPU", Terminate),   // SIGPROP_KILL: no core on FreeBSD
    ("SIGXFSZ", Terminate),   // SIGPROP_KILL
    ("SIGVTALRM", Terminate), //
    ("SIGPROF", Terminate),   //
    ("SIGWINCH", Ignore),     // SIGPROP_IGNORE
    ("SIGINFO", Ignore),      // SIGPROP_IGNORE
    ("SIGUSR1", Terminate),   // SIGPROP_KILL
    ("SIGUSR2", Terminate),   // SIGPROP_KILL
];

/// Linux: `SIGIO` (= `SIGPOLL`), `SIGPWR` and `SIGSTKFLT` terminate there.
pub(crate) const LINUX_TERMINATING: [&str; 15] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGUSR1",
    "SIGUSR2",
    "SIGSTKFLT",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGIO",
    "SIGPWR",
];

/// macOS: no `SIGIO`, ignored by default. `SIGEMT` is counted: xnu raises
/// it for no fault of the process on its own account (`bsd/uxkern/
/// ux_exception.c` `ux_exception` maps `EXC_EMULATION` to it, and nothing
/// in `osfmk/` raises `EXC_EMULATION` at xnu-11417.101.15), so it comes
/// from `kill(2)`, like `SIGQUIT`.
pub(crate) const XNU_TERMINATING: [&str; 13] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGEMT",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGUSR1",
    "SIGUSR2",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
];

/// FreeBSD: no `SIGIO`, ignored by default. `SIGEMT` is counted: on amd64,
/// `trap()` (`sys/amd64/amd64/trap.c`, read at
/// 00b96a777845d9b558b2303cbef03ba5197b593a) turns no fault into it, so it
/// comes from `kill(2)`.
pub(crate) const FREEBSD_TERMINATING: [&str; 13] = XNU_TERMINATING;

/// `[(libc::SIGHUP, "SIGHUP"), …]`: the platform's numbers of the signals
/// named, from libc.
macro_rules! numbering {
    ($($name:ident),* $(,)?) => {
        [$((libc::$name, stringify!($name))),*]
    };
}
// Linux numbers its own names (`linux.rs`); the BSDs share the list below.
#[cfg(linux)]
pub(crate) use numbering;

/// macOS's and FreeBSD's numbers of their 31 classic signals, from libc:
/// both kernels name the same 31 (4.4BSD's), in the same order.
#[cfg(any(macos, freebsd))]
pub(super) const BSD_NUMBERING: [(c_int, &str); 31] = numbering!(
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGEMT, SIGFPE, SIGKILL, SIGBUS, SIGSEGV, SIGSYS,
    SIGPIPE, SIGALRM, SIGTERM, SIGURG, SIGSTOP, SIGTSTP, SIGCONT, SIGCHLD, SIGTTIN, SIGTTOU, SIGIO, SIGXCPU,
    SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGINFO, SIGUSR1, SIGUSR2,
);

/// The numbers of the signals `names`, in the platform's `numbering`.
/// Evaluated at compile time: a name the platform does not number fails
/// the build.
pub(crate) const fn numbers<const N: usize>(names: &[&str; N], numbering: &[(c_int, &str)]) -> [c_int; N] {
    let mut found = [0; N];
    let mut i = 0;
    while i < N {
        let mut j = 0;
        while !same(numbering[j].1, names[i]) {
            j += 1; // out of bounds, so a compile error, for an unknown name
        }
        found[i] = numbering[j].0;
        i += 1;
    }
    found
}

/// Whether `table` names each signal of the platform's `numbering`, and
/// no other: checked at compile time by each kernel's module.
pub(crate) const fn covers(table: &Table, numbering: &[(c_int, &str)]) -> bool {
    if numbering.len() != table.len() {
        return false;
    }
    let mut i = 0;
    while i < numbering.len() {
        let mut j = 0;
        while j < table.len() && !same(table[j].0, numbering[i].1) {
            j += 1;
        }
        if j == table.len() {
            return false;
        }
        i += 1;
    }
    true
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// What the handler must cover, from a kernel's table of defaults.
    fn ending(table: &Table) -> BTreeSet<&'static str> {
        table
            .iter()
            .filter(|(_, action)| matches!(action, Terminate | Core))
            .map(|&(name, _)| name)
            .filter(|name| *name != "SIGKILL" && !FAULTS.contains(name))
            .collect()
    }

    #[test]
    fn each_list_is_every_catchable_signal_its_kernel_ends_a_process_on_but_faults() {
        for (kernel, table, list) in [
            ("linux", &LINUX, &LINUX_TERMINATING[..]),
            ("xnu", &XNU, &XNU_TERMINATING[..]),
            ("freebsd", &FREEBSD, &FREEBSD_TERMINATING[..]),
        ] {
            let listed: BTreeSet<&str> = list.iter().copied().collect();
            assert_eq!(listed.len(), list.len(), "{kernel}: a signal listed twice");
            assert_eq!(listed, ending(table), "{kernel}");
        }
    }

    #[test]
    fn sigio_ends_a_process_on_linux_only_and_sigemt_on_the_bsds() {
        assert!(LINUX_TERMINATING.contains(&"SIGIO"));
        for list in [&XNU_TERMINATING, &FREEBSD_TERMINATING] {
            assert!(!list.contains(&"SIGIO"), "ignored by default there: the daemon would run on");
            assert!(list.contains(&"SIGEMT"));
        }
    }

    #[test]
    fn each_table_names_31_distinct_signals_and_numbering_finds_them() {
        for table in [&LINUX, &XNU, &FREEBSD] {
            let names: BTreeSet<&str> = table.iter().map(|&(name, _)| name).collect();
            assert_eq!(names.len(), 31);
            // Numbered in the table's order, as 1..=31.
            let numbering: Vec<(c_int, &str)> = (1..).zip(table.iter().map(|&(name, _)| name)).collect();
            assert!(covers(table, &numbering));
            assert_eq!(numbers(&["SIGHUP", "SIGUSR2"], &numbering)[0], 1);
            assert!(!covers(table, &numbering[1..]), "a signal the table lacks");
        }
    }
}
