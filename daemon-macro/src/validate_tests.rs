//! Unit tests of `validate.rs`: each check on token streams, no compiler.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::*;
use crate::args;

fn config(tokens: TokenStream) -> syn::Result<Config> {
    let mut errors = Errors::default();
    let config = super::config(args::parse(tokens, &mut errors), &mut errors);
    errors.into_result().map(|()| config)
}

fn errors(tokens: TokenStream) -> Vec<String> {
    let errors = config(tokens).err().into_iter().flatten();
    errors.map(|error| error.to_string()).collect()
}

#[test]
fn accepted_values() {
    let config = config(quote!(
        umask = 0o777,
        chdir = "/",
        double_fork = true,
        pid_file = "/run/myd.pid",
        close_fds = true,
        keep_fds = [3, 2147483647i32],
        crate = "crate::rt",
    ))
    .unwrap();
    assert_eq!(config.umask.unwrap().value.base10_digits(), "511");
    assert_eq!(config.chdir.unwrap().value.value(), "/");
    assert!(config.double_fork.unwrap().value.value);
    let pid_file = config.pid_file.unwrap().value.into_token_stream();
    assert_eq!(pid_file.to_string(), "\"/run/myd.pid\"");
    let keep_fds = config.keep_fds.unwrap().value.into_token_stream();
    assert_eq!(keep_fds.to_string(), "[3 , 2147483647i32]");
    assert_eq!(config.krate.into_token_stream().to_string(), "crate :: rt");
    let default = super::config(args::Args::default(), &mut Errors::default()).krate;
    let default = default.into_token_stream();
    assert_eq!(default.to_string(), ":: daemon_runtime");
    for umask in [quote!(0), quote!(0o022), quote!(18), quote!(0o027u32)] {
        assert!(errors(quote!(umask = #umask)).is_empty(), "{umask}");
    }
    assert!(errors(quote!(keep_fds = [], close_fds = true)).is_empty());
}

#[test]
fn accepted_values_of_the_service_keys() {
    let config = config(quote!(
        user = "nobody",
        group = 65534,
        chroot = "/srv/jail",
        core_dumps = false,
        stdout = "/var/log/myd.out",
        stderr = "/var/log/myd.err",
        ready = "manual",
        ready_timeout = "2m",
        foreground = std::env::var_os("FG").is_some(),
    ))
    .unwrap();
    let tokens = |value: &dyn ToTokens| value.to_token_stream().to_string();
    assert_eq!(tokens(&config.user.unwrap().value), "\"nobody\"");
    // An id gets the suffix that selects `From<u32>`.
    assert_eq!(tokens(&config.group.unwrap().value), "65534u32");
    assert_eq!(config.chroot.unwrap().value.value(), "/srv/jail");
    assert!(!config.core_dumps.unwrap().value.value);
    assert_eq!(config.stdout.unwrap().value.value(), "/var/log/myd.out");
    assert_eq!(config.stderr.unwrap().value.value(), "/var/log/myd.err");
    assert_eq!(config.ready.unwrap().value, "Manual");
    assert_eq!(tokens(&config.ready_timeout.unwrap().value), "120000u64");
    let foreground = tokens(&config.foreground.unwrap().value);
    assert_eq!(foreground, "std :: env :: var_os (\"FG\") . is_some ()");

    let account = |value: TokenStream| tokens(&config_of(quote!(user = #value)).user.unwrap().value);
    assert_eq!(account(quote!(0)), "0u32");
    assert_eq!(account(quote!(4294967295u32)), "4294967295u32");
    assert_eq!(account(quote!("65534")), "\"65534\"");
    assert_eq!(account(quote!("_apt-2.x")), "\"_apt-2.x\"");
    assert_eq!(config_of(quote!(ready = "auto")).ready.unwrap().value, "Auto");
    let millis = |value: &str| {
        let lit = LitStr::new(value, proc_macro2::Span::call_site());
        config_of(quote!(ready_timeout = #lit)).ready_timeout.unwrap().value.base10_digits().to_owned()
    };
    assert_eq!(millis("500ms"), "500");
    assert_eq!(millis("30s"), "30000");
    assert_eq!(millis("1ms"), "1");
    assert_eq!(millis("18446744073709551615ms"), "18446744073709551615");
    // A bool expression, or any other, is left to the type checker.
    for expr in [quote!(false), quote!(3), quote!(cli.foreground)] {
        let value = config_of(quote!(foreground = #expr)).foreground.unwrap().value;
        assert_eq!(tokens(&value), expr.to_string());
    }
}

fn config_of(tokens: TokenStream) -> Config {
    config(tokens).unwrap_or_else(|error| panic!("unexpected error: {error}"))
}

#[test]
fn refused_values_of_the_service_keys() {
    let no_number = "`ready_timeout` must be a whole number followed by `ms`, `s` or `m`, like `\"30s\"`";
    let too_long = "`ready_timeout` is too long: it must fit in a `u64` of milliseconds";
    let cases = [
        (quote!(user = ""), "`user` must be a name or an id, not an empty string"),
        (quote!(user = "a\0b"), "`user` must not contain a NUL byte"),
        (
            quote!(user = "www:www"),
            "`user` must not contain `:`; give the group with its own key, \
             like `group = \"nogroup\"` or `group = 65534`",
        ),
        (
            quote!(group = "www:www"),
            "`group` must not contain `:`; give the user with its own key, \
             like `user = \"nobody\"` or `user = 65534`",
        ),
        (quote!(group = "/etc/group"), "`group` must not contain `/`"),
        (quote!(user = "no body"), "`user` must not contain whitespace"),
        (quote!(user = "nobody\n"), "`user` must not contain whitespace"),
        (
            quote!(user = true),
            "`user` expects a name or a numeric id, like `user = \"nobody\"` or `user = 65534`",
        ),
        (
            quote!(group = nogroup),
            "`group` expects a name or a numeric id, like `group = \"nogroup\"` or `group = 65534`",
        ),
        (quote!(user = -1), "`user` ids must fit in a `u32`"),
        (quote!(user = 4294967296), "`user` ids must fit in a `u32`"),
        (quote!(group = 100i32), "`group` takes `u32` values: remove the `i32` suffix"),
        (quote!(chroot = "jail"), "`chroot` must be an absolute path, starting with `/`"),
        (quote!(chroot = 1), "`chroot` expects a string literal, like `chroot = \"/srv/jail\"`"),
        (quote!(core_dumps = "no"), "`core_dumps` expects `true` or `false`"),
        (quote!(stdout = "out.log"), "`stdout` must be an absolute path, starting with `/`"),
        (quote!(stderr = "/var/log/"), "`stderr` must name a file, not a directory"),
        (
            quote!(stdout = std::env::temp_dir()),
            "`stdout` expects a string literal, like `stdout = \"/var/log/myd.out\"`",
        ),
        (quote!(ready = "sometimes"), "`ready` must be `\"auto\"` or `\"manual\"`"),
        (quote!(ready = manual), "`ready` must be `\"auto\"` or `\"manual\"`"),
        (quote!(ready = "Manual"), "`ready` must be `\"auto\"` or `\"manual\"`"),
        (quote!(ready_timeout = "30h"), "`ready_timeout` has an unknown unit `h`; expected `ms`, `s` or `m`"),
        (
            quote!(ready_timeout = "30 s"),
            "`ready_timeout` has an unknown unit ` s`; expected `ms`, `s` or `m`",
        ),
        (quote!(ready_timeout = "30"), "`ready_timeout` needs a unit: `\"30ms\"`, `\"30s\"` or `\"30m\"`"),
        (quote!(ready_timeout = "0s"), "`ready_timeout` must be greater than zero"),
        (quote!(ready_timeout = "000ms"), "`ready_timeout` must be greater than zero"),
        (quote!(ready_timeout = "s"), "`ready_timeout` needs a number before the unit, like `\"30s\"`"),
        (quote!(ready_timeout = ""), no_number),
        (quote!(ready_timeout = "-5s"), no_number),
        (quote!(ready_timeout = "forever"), no_number),
        (
            quote!(ready_timeout = "1.5s"),
            "`ready_timeout` takes a whole number: write `\"1500ms\"`, not `\"1.5s\"`",
        ),
        (quote!(ready_timeout = "18446744073709551616ms"), too_long),
        (quote!(ready_timeout = "18446744073709552s"), too_long),
        (
            quote!(ready_timeout = 30),
            "`ready_timeout` expects a duration string, like `ready_timeout = \"30s\"`, \
             `\"500ms\"` or `\"2m\"`",
        ),
    ];
    for (args, message) in cases {
        assert_eq!(errors(args.clone()), [message], "{args}");
    }
}

#[test]
fn double_fork_has_no_effect_in_the_foreground() {
    let message = "`double_fork` has no effect with `foreground = true`, which does not fork";
    assert_eq!(errors(quote!(double_fork = false, foreground = true)), [message]);
    assert_eq!(errors(quote!(foreground = true, double_fork = true)), [message]);
    // Reported even when the value is wrong too.
    assert_eq!(errors(quote!(foreground = true, double_fork = 1)).len(), 2);
    // Only the literal is known at compile time.
    assert!(errors(quote!(double_fork = false, foreground = false)).is_empty());
    assert!(errors(quote!(double_fork = false, foreground = cli.foreground)).is_empty());
    assert!(errors(quote!(foreground = true)).is_empty());
}

#[test]
fn pid_file_expressions_are_left_to_the_compiler() {
    for expr in [quote!(42), quote!(dir.join("x")), quote!(b"/x")] {
        let value = config(quote!(pid_file = #expr)).unwrap().pid_file.unwrap().value;
        assert_eq!(value.into_token_stream().to_string(), expr.to_string());
    }
}

#[test]
fn keep_fds_expressions_are_left_to_the_compiler() {
    for expr in [quote!(listen_fds()), quote!(FDS), quote!(vec![3, 4]), quote!([LISTEN, 4]), quote!(3..5)] {
        let value = config(quote!(keep_fds = #expr)).unwrap().keep_fds.unwrap().value;
        assert_eq!(value.into_token_stream().to_string(), expr.to_string());
    }
    // The literal entries of an array are still checked.
    let fd_range = "`keep_fds` entries must be >= 3: descriptors 0, 1 and 2 are always redirected";
    assert_eq!(errors(quote!(keep_fds = [LISTEN, 2])), [fd_range]);
    // Whatever the form, the key needs `close_fds`.
    let message = "`keep_fds` has no effect with `close_fds = false`, which keeps every descriptor open";
    assert_eq!(errors(quote!(keep_fds = listen_fds(), close_fds = false)), [message]);
}

#[test]
fn init_takes_a_path() {
    for path in
        [quote!(bind), quote!(net::bind), quote!(crate::net::bind), quote!(::x::y), quote!(make::<u8>)]
    {
        let value = config(quote!(init = #path)).unwrap().init.unwrap().value;
        assert_eq!(value.into_token_stream().to_string(), path.to_string());
    }
    let message = "`init` expects a path to a function, like `init = bind_listener`";
    for value in
        [quote!("bind"), quote!(bind()), quote!(|| bind()), quote!(<T as U>::f), quote!(1), quote!([bind])]
    {
        assert_eq!(errors(quote!(init = #value)), [message], "{value}");
    }
}

#[test]
fn refused_values() {
    let umask_range = "`umask` must be an octal integer in 0..=0o777";
    let fd_range = "`keep_fds` entries must be >= 3: descriptors 0, 1 and 2 are always redirected";
    let not_a_path = "`crate` must be a path, like `crate = \"::daemon_runtime\"`";
    let cases = [
        (quote!(umask = 0o1000), umask_range),
        (quote!(umask = -1), umask_range),
        (quote!(umask = 99999999999), umask_range),
        (quote!(umask = "022"), "`umask` expects an integer literal, like `umask = 0o027`"),
        (quote!(umask = 022), "`022` is a decimal number in Rust; write `0o22` for octal"),
        (quote!(umask = 089), "`089` is a decimal number in Rust; write the umask in octal, like `0o027`"),
        (quote!(umask = 0o22u8), "`umask` takes `u32` values: remove the `u8` suffix"),
        (quote!(chdir = "var"), "`chdir` must be an absolute path, starting with `/`"),
        (quote!(chdir = ""), "`chdir` must be an absolute path, not an empty string"),
        (quote!(chdir = "/a\0b"), "`chdir` must not contain a NUL byte"),
        (quote!(chdir = 5), "`chdir` expects a string literal, like `chdir = \"/var/lib/myd\"`"),
        (quote!(pid_file = "x.pid"), "`pid_file` must be an absolute path, starting with `/`"),
        (quote!(pid_file = "/run/"), "`pid_file` must name a file, not a directory"),
        (quote!(pid_file = "/"), "`pid_file` must name a file, not a directory"),
        (quote!(pid_file = "/run/.."), "`pid_file` must name a file, not a directory"),
        (quote!(double_fork = 1), "`double_fork` expects `true` or `false`"),
        (quote!(close_fds = "yes"), "`close_fds` expects `true` or `false`"),
        (quote!(keep_fds = [1]), fd_range),
        (quote!(keep_fds = [-4]), fd_range),
        (
            quote!(keep_fds = 3),
            "`keep_fds` expects an array, like `keep_fds = [3, 4]`, or an expression whose type is \
             `IntoIterator<Item = RawFd>`",
        ),
        (quote!(keep_fds = ["3"]), "`keep_fds` expects integer literals, like `keep_fds = [3, 4]`"),
        (quote!(keep_fds = [2147483648]), "`keep_fds` entries must fit in an `i32`"),
        (quote!(keep_fds = [3, 4, 3]), "`keep_fds` lists descriptor 3 more than once"),
        (quote!(crate = "not a path!"), not_a_path),
        (quote!(crate = "a::<T>"), not_a_path),
        (
            quote!(crate = ::daemon_runtime),
            "`crate` expects a string literal, like `crate = \"::daemon_runtime\"`",
        ),
    ];
    for (args, message) in cases {
        assert_eq!(errors(args.clone()), [message], "{args}");
    }
    assert_eq!(errors(quote!(keep_fds = [0, 3, 1])), [fd_range, fd_range]);
}

#[test]
fn keep_fds_needs_close_fds() {
    let message = "`keep_fds` has no effect with `close_fds = false`, \
                   which keeps every descriptor open";
    assert_eq!(errors(quote!(keep_fds = [3], close_fds = false)), [message]);
    // Reported even when the value is wrong too.
    assert_eq!(errors(quote!(close_fds = false, keep_fds = [1])).len(), 2);
}

#[test]
fn reopen_logs_on_names_a_signal_for_the_log_files() {
    let config = config(quote!(stdout = "/var/log/myd.log", reopen_logs_on = "SIGUSR1")).unwrap();
    assert_eq!(config.reopen_logs_on.unwrap().value.to_string(), "SIGUSR1");
    assert!(config_ok(quote!(stderr = "/var/log/myd.err", reopen_logs_on = "SIGHUP")));
    assert_eq!(
        errors(quote!(stdout = "/var/log/myd.log", reopen_logs_on = SIGHUP)),
        ["`reopen_logs_on` expects a signal's name as a string, like `reopen_logs_on = \"SIGHUP\"`"]
    );
    assert_eq!(
        errors(quote!(stdout = "/var/log/myd.log", reopen_logs_on = "hup")),
        ["`reopen_logs_on` takes the signal's full name: write `\"SIGHUP\"`"]
    );
    assert_eq!(
        errors(quote!(stdout = "/var/log/myd.log", reopen_logs_on = "SIGTERM")),
        [
            "`reopen_logs_on` must be `\"SIGHUP\"`, `\"SIGUSR1\"` or `\"SIGUSR2\"`: the runtime's stop sends TERM, INT and KILL"
        ]
    );
    assert_eq!(
        errors(quote!(reopen_logs_on = "SIGHUP")),
        [
            "`reopen_logs_on` has no log file to reopen: set `stdout` or `stderr`, like `stdout = \"/var/log/myd.log\"`"
        ]
    );
    // A refused `stdout` is one mistake: no second error about the key.
    assert_eq!(errors(quote!(stdout = "log", reopen_logs_on = "SIGHUP")).len(), 1);
}

fn config_ok(tokens: TokenStream) -> bool {
    config(tokens).is_ok()
}
