//! Reading the keys of `#[daemon(key = value, ...)]`.
//!
//! This phase only knows the syntax: which keys exist, that each has one
//! `= value`, and that none repeats. Values stay expressions; `validate`
//! decides what each key accepts. Errors are collected, not returned, so a
//! bad key does not hide the problems after it.

use proc_macro2::{Ident, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, Token};

use crate::errors::Errors;
use crate::suggest;

/// The keys, in the order their builder calls are generated.
pub(crate) const KEYS: &[&str] = &[
    "umask",
    "chdir",
    "double_fork",
    "pid_file",
    "close_fds",
    "keep_fds",
    "user",
    "group",
    "chroot",
    "core_dumps",
    "stdout",
    "stderr",
    "reopen_logs_on",
    "ready",
    "ready_timeout",
    "foreground",
    "init",
    "crate",
];

/// One `key = value` as written.
pub(crate) struct Arg {
    /// The key, for errors about the key itself (repeated, conflicting) and
    /// as the span of the builder call it becomes.
    pub(crate) key: Ident,
    pub(crate) value: Expr,
    /// Where the key is among the attribute's arguments (0 for the first),
    /// so that errors are reported in the order of the source.
    pub(crate) position: usize,
}

/// Every key that was given; `None` for those left out.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) umask: Option<Arg>,
    pub(crate) chdir: Option<Arg>,
    pub(crate) double_fork: Option<Arg>,
    pub(crate) pid_file: Option<Arg>,
    pub(crate) close_fds: Option<Arg>,
    pub(crate) keep_fds: Option<Arg>,
    pub(crate) user: Option<Arg>,
    pub(crate) group: Option<Arg>,
    pub(crate) chroot: Option<Arg>,
    pub(crate) core_dumps: Option<Arg>,
    pub(crate) stdout: Option<Arg>,
    pub(crate) stderr: Option<Arg>,
    pub(crate) reopen_logs_on: Option<Arg>,
    pub(crate) ready: Option<Arg>,
    pub(crate) ready_timeout: Option<Arg>,
    pub(crate) foreground: Option<Arg>,
    pub(crate) init: Option<Arg>,
    pub(crate) krate: Option<Arg>,
}

impl Args {
    fn slot(&mut self, key: &str) -> Option<&mut Option<Arg>> {
        Some(match key {
            "umask" => &mut self.umask,
            "chdir" => &mut self.chdir,
            "double_fork" => &mut self.double_fork,
            "pid_file" => &mut self.pid_file,
            "close_fds" => &mut self.close_fds,
            "keep_fds" => &mut self.keep_fds,
            "user" => &mut self.user,
            "group" => &mut self.group,
            "chroot" => &mut self.chroot,
            "core_dumps" => &mut self.core_dumps,
            "stdout" => &mut self.stdout,
            "stderr" => &mut self.stderr,
            "reopen_logs_on" => &mut self.reopen_logs_on,
            "ready" => &mut self.ready,
            "ready_timeout" => &mut self.ready_timeout,
            "foreground" => &mut self.foreground,
            "init" => &mut self.init,
            "crate" => &mut self.krate,
            _ => return None,
        })
    }
}

/// How a key is written, for messages that name the accepted form.
pub(crate) fn example(key: &str) -> &'static str {
    match key {
        "umask" => "`umask = 0o027`",
        "chdir" => "`chdir = \"/var/lib/myd\"`",
        "double_fork" => "`double_fork = true` or `double_fork = false`",
        "pid_file" => "`pid_file = \"/run/myd.pid\"`",
        "close_fds" => "`close_fds = true` or `close_fds = false`",
        "keep_fds" => "`keep_fds = [3, 4]`",
        "user" => "`user = \"nobody\"` or `user = 65534`",
        "group" => "`group = \"nogroup\"` or `group = 65534`",
        "chroot" => "`chroot = \"/srv/jail\"`",
        "core_dumps" => "`core_dumps = true` or `core_dumps = false`",
        "stdout" => "`stdout = \"/var/log/myd.out\"`",
        "stderr" => "`stderr = \"/var/log/myd.err\"`",
        "reopen_logs_on" => "`reopen_logs_on = \"SIGHUP\"`",
        "ready" => "`ready = \"auto\"` or `ready = \"manual\"`",
        "ready_timeout" => "`ready_timeout = \"30s\"`",
        "foreground" => "`foreground = true`",
        "init" => "`init = bind_listener`",
        "crate" => "`crate = \"::daemon_runtime\"`",
        _ => "",
    }
}

/// Parses the attribute's arguments, pushing every problem to `errors`.
pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    let mut position = 0;
    let parser = syn::meta::parser(|meta| {
        let here = position;
        position += 1;
        // `parse_meta_path` accepts keywords, so `crate` arrives as an ident.
        let key = meta.path.get_ident().map(IdentExt::unraw);
        let Some((key, slot)) = key.and_then(|key| {
            let slot = args.slot(&key.to_string())?;
            Some((key, slot))
        }) else {
            errors.push_at(here, unknown_key(&meta.path));
            return skip_value(meta.input);
        };
        let name = key.to_string();
        if !meta.input.peek(Token![=]) {
            let message = format!("`{name}` needs a value, like {}", example(&name));
            errors.push_at(here, syn::Error::new(key.span(), message));
            return skip_value(meta.input);
        }
        let value: Expr = meta.value()?.parse()?;
        if slot.is_some() {
            let message = format!("`{name}` set multiple times");
            errors.push_at(here, syn::Error::new(key.span(), message));
        } else {
            *slot = Some(Arg { key, value, position: here });
        }
        Ok(())
    });
    if let Err(error) = parser.parse2(tokens) {
        errors.push_at(position, error);
    }
    args
}

fn unknown_key(path: &syn::Path) -> syn::Error {
    let name =
        path.segments.iter().map(|segment| segment.ident.unraw().to_string()).collect::<Vec<_>>().join("::");
    let hint = match suggest::closest(&name, KEYS) {
        Some(key) => format!("did you mean `{key}`?"),
        None => format!("expected one of `{}`", KEYS.join("`, `")),
    };
    // `::umask` is shown as written, and its hint is `umask`.
    let colons = if path.leading_colon.is_some() { "::" } else { "" };
    let message = format!("unknown `#[daemon]` key `{colons}{name}`; {hint}");
    syn::Error::new_spanned(path, message)
}

/// Skips what follows a rejected key, up to the next `,`, so that the keys
/// after it are still read and checked.
fn skip_value(input: ParseStream) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use quote::{ToTokens, quote};

    use super::*;

    fn parse_ok(tokens: TokenStream) -> Args {
        let mut errors = Errors::default();
        let args = parse(tokens, &mut errors);
        if let Err(error) = errors.into_result() {
            panic!("unexpected error: {error}");
        }
        args
    }

    fn parse_err(tokens: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse(tokens, &mut errors);
        let error = errors.into_result().expect_err("expected an error");
        error.into_iter().map(|e| e.to_string()).collect()
    }

    fn value(arg: &Option<Arg>) -> String {
        arg.as_ref().unwrap().value.to_token_stream().to_string()
    }

    #[test]
    fn empty_arguments_are_valid() {
        let args = parse_ok(quote!());
        assert!(args.umask.is_none() && args.krate.is_none());
    }

    #[test]
    fn every_key_is_read() {
        let args = parse_ok(quote!(
            umask = 0o027,
            chdir = "/",
            double_fork = false,
            pid_file = dir.join("x.pid"),
            close_fds = true,
            keep_fds = [3, 4],
            user = "nobody",
            group = 65534,
            chroot = "/srv/jail",
            core_dumps = false,
            stdout = "/var/log/myd.out",
            stderr = "/var/log/myd.err",
            ready = "manual",
            ready_timeout = "30s",
            foreground = std::env::args().any(|arg| arg == "-f"),
            init = net::bind,
            crate = "::daemon_runtime",
        ));
        assert_eq!(value(&args.umask), "0o027");
        assert_eq!(value(&args.chdir), "\"/\"");
        assert_eq!(value(&args.double_fork), "false");
        assert_eq!(value(&args.pid_file), "dir . join (\"x.pid\")");
        assert_eq!(value(&args.close_fds), "true");
        assert_eq!(value(&args.keep_fds), "[3 , 4]");
        assert_eq!(value(&args.user), "\"nobody\"");
        assert_eq!(value(&args.group), "65534");
        assert_eq!(value(&args.chroot), "\"/srv/jail\"");
        assert_eq!(value(&args.core_dumps), "false");
        assert_eq!(value(&args.stdout), "\"/var/log/myd.out\"");
        assert_eq!(value(&args.stderr), "\"/var/log/myd.err\"");
        assert_eq!(value(&args.ready), "\"manual\"");
        assert_eq!(value(&args.ready_timeout), "\"30s\"");
        assert_eq!(value(&args.foreground), "std :: env :: args () . any (| arg | arg == \"-f\")");
        assert_eq!(value(&args.init), "net :: bind");
        assert_eq!(value(&args.krate), "\"::daemon_runtime\"");
        assert_eq!(args.krate.unwrap().key, "crate");
    }

    #[test]
    fn every_listed_key_has_a_slot_and_an_example() {
        let mut args = Args::default();
        for key in KEYS {
            assert!(args.slot(key).is_some(), "{key}");
            assert!(example(key).contains(key), "{key}");
        }
    }

    #[test]
    fn unknown_key_suggests_a_close_one() {
        assert_eq!(
            parse_err(quote!(umsk = 0o022)),
            ["unknown `#[daemon]` key `umsk`; did you mean `umask`?"]
        );
    }

    #[test]
    fn a_key_with_leading_colons_is_shown_as_written() {
        assert_eq!(
            parse_err(quote!(::double_fork = true)),
            ["unknown `#[daemon]` key `::double_fork`; did you mean `double_fork`?"]
        );
    }

    #[test]
    fn unknown_key_lists_the_keys_when_nothing_is_close() {
        assert_eq!(
            parse_err(quote!(verbose = true)),
            ["unknown `#[daemon]` key `verbose`; expected one of `umask`, `chdir`, \
                 `double_fork`, `pid_file`, `close_fds`, `keep_fds`, `user`, `group`, \
                 `chroot`, `core_dumps`, `stdout`, `stderr`, `reopen_logs_on`, `ready`, `ready_timeout`, \
                 `foreground`, `init`, `crate`"]
        );
        assert_eq!(
            parse_err(quote!(a::umask = 1)),
            ["unknown `#[daemon]` key `a::umask`; expected one of `umask`, `chdir`, \
                 `double_fork`, `pid_file`, `close_fds`, `keep_fds`, `user`, `group`, \
                 `chroot`, `core_dumps`, `stdout`, `stderr`, `reopen_logs_on`, `ready`, `ready_timeout`, \
                 `foreground`, `init`, `crate`"]
        );
    }

    #[test]
    fn repeated_key_is_an_error_and_the_first_value_is_kept() {
        let mut errors = Errors::default();
        let args = parse(quote!(umask = 1, umask = 2), &mut errors);
        assert_eq!(value(&args.umask), "1");
        let error = errors.into_result().unwrap_err();
        assert_eq!(error.to_string(), "`umask` set multiple times");
    }

    #[test]
    fn key_without_value() {
        assert_eq!(
            parse_err(quote!(umask, double_fork)),
            [
                "`umask` needs a value, like `umask = 0o027`",
                "`double_fork` needs a value, like `double_fork = true` or `double_fork = false`",
            ]
        );
    }

    #[test]
    fn errors_after_a_bad_key_are_still_found() {
        assert_eq!(
            parse_err(quote!(double - fork = true, umask(1), umask = 1, umask = 2)),
            [
                "unknown `#[daemon]` key `double`; did you mean `double_fork`?",
                "`umask` needs a value, like `umask = 0o027`",
                "`umask` set multiple times",
            ]
        );
    }

    #[test]
    fn bad_syntax_is_reported() {
        assert_eq!(parse_err(quote!(umask = )), ["unexpected end of input, expected an expression"]);
        assert_eq!(parse_err(quote!(umask = 1 chdir = "/")), ["expected `,`"]);
    }
}
