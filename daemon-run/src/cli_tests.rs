//! The command line's spellings borrowed from start-stop-daemon and libslack
//! `daemon`, parsed and resolved as `main` does (no process is started).

use std::ffi::OsString;
use std::time::Duration;

use clap::Parser;
use nix::sys::signal::Signal;

use crate::{Cli, Output, Schedule};

/// `argv` parsed and resolved, or the usage error's text.
fn parse(argv: &[&str]) -> Result<Cli, String> {
    let cli = Cli::try_parse_from(std::iter::once("daemon-run").chain(argv.iter().copied()))
        .map_err(|error| error.to_string())?;
    cli.resolve().map_err(str::to_string)
}

fn strings(items: &[&str]) -> Vec<OsString> {
    items.iter().map(OsString::from).collect()
}

#[test]
fn chuid_is_user() {
    let cli = parse(&["--chuid", "nobody", "true"]).unwrap();
    assert_eq!((cli.user.as_deref(), cli.group.as_deref()), (Some("nobody"), None));
}

#[test]
fn user_colon_group_sets_both_as_start_stop_daemon_does() {
    for flag in ["-u", "--user", "--chuid"] {
        let cli = parse(&[flag, "nobody:nogroup", "true"]).unwrap();
        assert_eq!((cli.user.as_deref(), cli.group.as_deref()), (Some("nobody"), Some("nogroup")), "{flag}");
    }
    let cli = parse(&["-u", "65534:65534", "true"]).unwrap();
    assert_eq!((cli.user.as_deref(), cli.group.as_deref()), (Some("65534"), Some("65534")));
}

#[test]
fn user_colon_group_is_refused_when_malformed_or_with_group() {
    for user in ["nobody:", ":nogroup", "a:b:c", ":"] {
        let error = parse(&["-u", user, "true"]).unwrap_err();
        assert!(error.contains("expected USER or USER:GROUP"), "{user}: {error}");
    }
    let error = parse(&["-u", "nobody:nogroup", "-g", "daemon", "true"]).unwrap_err();
    assert!(error.contains("names the group already"), "{error}");
}

#[test]
fn output_is_both_streams() {
    let cli = parse(&["--output", "/var/log/x.log", "true"]).unwrap();
    assert_eq!(cli.stdout, Some(Output::File("/var/log/x.log".into())));
    assert_eq!(cli.stderr, Some(Output::File("/var/log/x.log".into())));
    assert_eq!(cli.output, None, "resolved into --stdout and --stderr");
    for other in ["--stdout", "--stderr"] {
        let error = parse(&["--output", "/a", other, "/b", "true"]).unwrap_err();
        assert!(error.contains("cannot be used with"), "{other}: {error}");
    }
}

#[test]
fn output_to_syslog_sets_both_streams_with_or_without_respawn() {
    for respawn in [&[][..], &["-r"][..]] {
        let cli = parse(&[respawn, &["--output", "syslog:daemon.info", "true"]].concat()).unwrap();
        assert!(matches!(cli.syslog(), Some((Some(_), Some(_)))));
    }
}

#[test]
fn exec_and_startas_name_program() {
    for flag in ["--exec", "--startas"] {
        let cli = parse(&[flag, "/bin/sleep", "--", "30", "--stdout"]).unwrap();
        assert_eq!(cli.program(), "/bin/sleep", "{flag}");
        assert_eq!(cli.args(), strings(&["30", "--stdout"]), "{flag}");
        assert_eq!(cli.stdout, None);
    }
    let cli = parse(&["--exec", "/bin/true"]).unwrap();
    assert_eq!((cli.program(), cli.args()), ("/bin/true".as_ref(), &[][..]));
}

#[test]
fn exec_is_no_verb_argument() {
    let error = parse(&["-p", "/run/x.pid", "--stop", "--exec", "/bin/sleep"]).unwrap_err();
    assert!(error.contains("cannot be used with"), "{error}");
    assert!(parse(&["--exec", "/bin/sleep", "--startas", "/bin/true"]).is_err());
}

#[test]
fn background_and_make_pidfile_are_accepted_as_what_daemon_run_always_does() {
    let cli = parse(&["--background", "--make-pidfile", "-p", "/run/x.pid", "true"]).unwrap();
    assert!(!cli.foreground);
    assert_eq!(cli.pid_file.as_deref(), Some("/run/x.pid".as_ref()));
    let error = parse(&["--background", "--foreground", "true"]).unwrap_err();
    assert!(error.contains("cannot be used with"), "{error}");
    let error = parse(&["--make-pidfile", "true"]).unwrap_err();
    assert!(error.contains("--pid-file"), "{error}");
}

#[test]
fn oknodo_is_accepted_with_a_start_and_the_verbs() {
    assert!(parse(&["--oknodo", "-p", "/run/x.pid", "true"]).unwrap().oknodo);
    assert!(parse(&["--oknodo", "-p", "/run/x.pid", "--stop"]).unwrap().oknodo);
    assert!(parse(&["--oknodo", "-p", "/run/x.pid", "--signal", "HUP"]).unwrap().oknodo);
}

#[test]
fn retry_forever_repeats_the_pairs_after_it() {
    let cli = parse(&["-p", "/run/x.pid", "--stop", "--retry", "TERM/30/forever/KILL/5"]).unwrap();
    let schedule = cli.schedule();
    let (term, kill) =
        ((Signal::SIGTERM, Duration::from_secs(30)), (Signal::SIGKILL, Duration::from_secs(5)));
    assert_eq!(schedule.steps(), [term, kill]);
    assert_eq!(schedule.repeated(), Some(&[kill][..]));
    let schedule = Schedule::parse("forever/HUP/1/TERM/2").unwrap();
    assert_eq!(schedule.repeated().map(<[_]>::len), Some(2));
    for bad in ["TERM/5/forever", "TERM/forever/5", "forever/TERM/5/forever/KILL/5", "forever", "forever/5"] {
        assert!(Schedule::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn actions_after_program_are_programs_and_are_found_for_the_note() {
    let cli =
        parse(&["-p", "/run/x.pid", "prog", "--restart", "--stopper", "--signal=HUP", "--status"]).unwrap();
    assert!(!cli.restart && cli.signal.is_none() && !cli.status, "parsing stops at PROGRAM");
    assert_eq!(cli.misplaced_actions(), ["--restart", "--signal=HUP", "--status"]);
}
