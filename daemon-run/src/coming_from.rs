//! "Coming from start-stop-daemon / libslack daemon / daemon(8)": the flag
//! table `--help` ends with and the READMEs show, written once here. The
//! help text and the Markdown are both rendered from `ROWS`; tests check
//! that the READMEs hold the Markdown as it is rendered.

/// The column headings.
const HEADINGS: [&str; 4] = ["start-stop-daemon", "libslack daemon", "daemon(8)", "daemon-run"];

/// One row per thing to do: how each peer spells it, then daemon-run.
/// "–": the peer has no such flag; "(always)": it always behaves so;
/// start-stop-daemon's `--start` is daemon-run's default.
const ROWS: &[[&str; 4]] = &[
    ["--exec P -- ARGS", "daemon -- P ARGS", "daemon P ARGS", "P ARGS, or --exec P -- ARGS"],
    ["--startas P", "--command 'P ARGS'", "–", "--startas P (as --exec)"],
    ["--pidfile F", "--pidfile F", "-p F", "--pid-file F (--pidfile)"],
    ["--make-pidfile", "(always)", "(always)", "accepted; always made and locked"],
    ["--background", "(always)", "(always)", "accepted; always, but --foreground"],
    ["--chuid U[:G]", "--user U[:G]", "-u U", "--user U[:G] (--chuid)"],
    ["--group G", "–", "–", "--group G"],
    ["--chdir D", "--chdir D", "-c (to /)", "--chdir D (default /)"],
    ["--chroot D", "--chroot D", "–", "--chroot D"],
    ["--umask M", "--umask M", "–", "--umask M"],
    ["--output F", "--output F", "-o F", "--output F (--stdout, --stderr)"],
    ["–", "--output FAC.PRI", "-S -l FAC -s PRI", "--output syslog:FAC.PRI"],
    ["–", "--name N", "-T N", "--pid-file /run/N.pid, --tag N"],
    ["--no-close", "–", "–", "--keep-fd FD"],
    ["–", "--env VAR=VAL", "–", "--clear-env, --keep-env NAME"],
    ["–", "--core", "–", "(limit unchanged); --no-core-dumps"],
    ["--notify-await", "–", "–", "--ready notify"],
    ["--notify-timeout T", "–", "–", "--ready-timeout T"],
    ["–", "--foreground", "–", "--foreground"],
    ["–", "--respawn", "-r", "--respawn"],
    ["–", "--delay S", "-R S", "--respawn-delay S"],
    ["–", "--attempts N", "–", "--respawn-attempts N"],
    ["–", "(supervisor pid)", "-P F", "-r --pid-file F"],
    ["–", "(client pid)", "-p F", "-r --child-pid-file F"],
    ["–", "–", "-H", "-r: SIGHUP reopens logs"],
    ["--stop", "--stop", "–", "--stop"],
    ["--stop --retry S", "–", "–", "--stop --retry S (forever too)"],
    ["--status", "--running", "–", "--status"],
    ["--stop --signal SIG", "--signal SIG", "–", "--signal SIG"],
    ["–", "--restart", "–", "--restart"],
    ["--oknodo", "–", "–", "--oknodo"],
];

/// The width of each column but the last in the help text.
const WIDTHS: [usize; 3] = [22, 20, 18];

/// The table as `--help` prints it: aligned columns under a heading line.
///
/// ```
/// let help = daemon_run::coming_from::help();
/// assert!(help.lines().any(|line| line.contains("--chuid U[:G]") && line.ends_with("--user U[:G] (--chuid)")));
/// ```
pub fn help() -> String {
    let mut text = String::from("Coming from start-stop-daemon / libslack daemon / daemon(8):\n");
    for row in std::iter::once(&HEADINGS).chain(ROWS) {
        let mut line = String::from(" ");
        for (cell, width) in row.iter().zip(WIDTHS) {
            line.push_str(&format!(" {cell:<width$}"));
        }
        line.push_str(&format!(" {}", row[3]));
        text.push_str(&line);
        text.push('\n');
    }
    text.pop();
    text
}

/// The table as the READMEs hold it, a Markdown table.
///
/// ```
/// assert!(daemon_run::coming_from::markdown().starts_with("| start-stop-daemon | libslack daemon |"));
/// ```
pub fn markdown() -> String {
    let line = |row: &[&str; 4]| format!("| {} |\n", row.join(" | "));
    let mut text = line(&HEADINGS);
    text.push_str("|---|---|---|---|\n");
    for row in ROWS {
        text.push_str(&line(row));
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_lines_fit_the_help_width() {
        for line in super::help().lines() {
            assert!(line.chars().count() <= 100, "{line:?}");
        }
    }

    #[test]
    fn cells_fit_their_columns() {
        for row in super::ROWS {
            for (cell, width) in row.iter().zip(super::WIDTHS) {
                assert!(cell.chars().count() < width, "{cell:?} is wider than its column ({width})");
            }
            assert!(row.iter().all(|cell| !cell.contains('|')), "{row:?}: `|` breaks the Markdown table");
        }
    }

    #[test]
    fn the_readme_holds_the_table() {
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&super::markdown()),
            "README.md: paste daemon_run::coming_from::markdown():\n{}",
            super::markdown()
        );
    }
}
