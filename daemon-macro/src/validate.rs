//! Checking what each key accepts and the keys against each other; building
//! the [`Config`] that `expand` writes out.
//!
//! A value is checked here, at compile time, whenever it is a literal: a
//! mistake in it would otherwise surface only when the daemon starts, on a
//! server, as a launcher error. Every message names the accepted form.

use proc_macro2::Ident;
use quote::ToTokens;
use syn::{Expr, ExprLit, ExprPath, ExprUnary, Lit, LitBool, LitInt, LitStr, UnOp};

use crate::args::{Arg, Args, example};
use crate::entry::Errors;

/// A checked key: its value, and the key itself, which spans the builder
/// call generated for it.
pub(crate) struct Setting<T> {
    pub(crate) key: Ident,
    pub(crate) value: T,
}

/// The keys that were given, checked. Left-out keys are `None`: the runtime
/// owns the defaults, so the expansion says nothing about them.
pub(crate) struct Config {
    pub(crate) krate: syn::Path,
    pub(crate) umask: Option<Setting<LitInt>>,
    pub(crate) chdir: Option<Setting<LitStr>>,
    pub(crate) double_fork: Option<Setting<LitBool>>,
    /// A checked string literal, or any expression, left to the type checker.
    pub(crate) pid_file: Option<Setting<Expr>>,
    pub(crate) close_fds: Option<Setting<LitBool>>,
    pub(crate) keep_fds: Option<Setting<Vec<LitInt>>>,
    /// A checked name (`LitStr`) or id (`LitInt`, suffixed `u32` so that it
    /// picks `From<u32>` of the runtime's `Account`).
    pub(crate) user: Option<Setting<Lit>>,
    pub(crate) group: Option<Setting<Lit>>,
    pub(crate) chroot: Option<Setting<LitStr>>,
    pub(crate) core_dumps: Option<Setting<LitBool>>,
    pub(crate) stdout: Option<Setting<LitStr>>,
    pub(crate) stderr: Option<Setting<LitStr>>,
    /// The variant of the runtime's `Ready`, `Auto` or `Manual`, spanned on
    /// the string literal it comes from.
    pub(crate) ready: Option<Setting<Ident>>,
    /// Milliseconds, a `u64` literal spanned on the duration string.
    pub(crate) ready_timeout: Option<Setting<LitInt>>,
    /// Any expression, left to the type checker (`bool`).
    pub(crate) foreground: Option<Setting<Expr>>,
    /// A path, left to the type checker (`fn() -> Result<T, E>`, `E: Debug`).
    pub(crate) init: Option<Setting<syn::Path>>,
}

/// Checks every value and the keys against each other.
pub(crate) fn config(args: Args, errors: &mut Errors) -> Config {
    // The cross-key check looks at the keys themselves, so that a bad
    // `keep_fds` value does not hide it.
    let keep_fds_key = args.keep_fds.as_ref().map(|arg| (arg.key.span(), arg.position));
    let double_fork_key = args.double_fork.as_ref().map(|arg| (arg.key.span(), arg.position));
    // Only the literal `true` is known here; an expression is decided when
    // the daemon starts.
    let in_foreground = args.foreground.as_ref().is_some_and(|arg| {
        let mut value = &arg.value;
        while let Expr::Group(group) = value {
            value = &group.expr;
        }
        matches!(value, Expr::Lit(ExprLit { lit: Lit::Bool(LitBool { value: true, .. }), .. }))
    });

    let umask = check(args.umask, errors, umask);
    let chdir = check(args.chdir, errors, |expr| absolute_path("chdir", expr));
    let double_fork = check(args.double_fork, errors, |expr| boolean("double_fork", expr));
    let pid_file = check(args.pid_file, errors, pid_file);
    let close_fds = check(args.close_fds, errors, |expr| boolean("close_fds", expr));
    let keep_fds = check(args.keep_fds, errors, keep_fds);
    let user = check(args.user, errors, |expr| account("user", expr));
    let group = check(args.group, errors, |expr| account("group", expr));
    let chroot = check(args.chroot, errors, |expr| absolute_path("chroot", expr));
    let core_dumps = check(args.core_dumps, errors, |expr| boolean("core_dumps", expr));
    let stdout = check(args.stdout, errors, |expr| file_path("stdout", expr));
    let stderr = check(args.stderr, errors, |expr| file_path("stderr", expr));
    let ready = check(args.ready, errors, ready);
    let ready_timeout = check(args.ready_timeout, errors, ready_timeout);
    let foreground = check(args.foreground, errors, |expr| Ok(ungroup(expr)));
    let init = check(args.init, errors, init);
    let krate = check(args.krate, errors, krate).map(|setting| setting.value);

    if let (Some((span, position)), Some(close)) = (keep_fds_key, &close_fds)
        && !close.value.value
    {
        let message = "`keep_fds` has no effect with `close_fds = false`, \
                       which keeps every descriptor open";
        errors.push_at(position, syn::Error::new(span, message));
    }
    if let Some((span, position)) = double_fork_key
        && in_foreground
    {
        let message = "`double_fork` has no effect with `foreground = true`, which does not fork";
        errors.push_at(position, syn::Error::new(span, message));
    }

    Config {
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::daemon_runtime)),
        umask,
        chdir,
        double_fork,
        pid_file,
        close_fds,
        keep_fds,
        user,
        group,
        chroot,
        core_dumps,
        stdout,
        stderr,
        ready,
        ready_timeout,
        foreground,
        init,
    }
}

fn check<T>(
    arg: Option<Arg>,
    errors: &mut Errors,
    f: impl FnOnce(Expr) -> syn::Result<T>,
) -> Option<Setting<T>> {
    let Arg { key, value, position } = arg?;
    f(value).map(|value| Setting { key, value }).map_err(|error| errors.push_at(position, error)).ok()
}

fn umask(expr: Expr) -> syn::Result<LitInt> {
    let whole = expr.to_token_stream();
    let out_of_range = || error(&whole, "`umask` must be an octal integer in 0..=0o777");
    let (negative, lit) = integer("umask", "u32", expr)?;
    if negative {
        return Err(out_of_range());
    }
    // C writes octal as `022`; Rust reads that as decimal 22 (0o26), which
    // would silently leave group write permission on every file created.
    let repr = lit.token().to_string();
    let repr = repr.strip_suffix(lit.suffix()).unwrap_or(&repr);
    if let Some(digits) = repr.strip_prefix('0')
        && digits.starts_with(|c: char| c.is_ascii_digit())
    {
        let octal = u32::from_str_radix(&digits.replace('_', ""), 8);
        let message = match octal {
            Ok(value) if value <= 0o777 => {
                format!("`{repr}` is a decimal number in Rust; write `0o{digits}` for octal")
            }
            _ => format!("`{repr}` is a decimal number in Rust; write the umask in octal, like `0o027`"),
        };
        return Err(error(&lit, &message));
    }
    match lit.base10_parse::<u32>() {
        Ok(value) if value <= 0o777 => Ok(lit),
        _ => Err(out_of_range()),
    }
}

fn absolute_path(key: &str, expr: Expr) -> syn::Result<LitStr> {
    let lit = match ungroup(expr) {
        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => lit,
        expr => {
            let message = format!("`{key}` expects a string literal, like {}", example(key));
            return Err(error(&expr, &message));
        }
    };
    let path = lit.value();
    let message = if path.contains('\0') {
        format!("`{key}` must not contain a NUL byte")
    } else if path.is_empty() {
        format!("`{key}` must be an absolute path, not an empty string")
    } else if !path.starts_with('/') {
        format!("`{key}` must be an absolute path, starting with `/`")
    } else {
        return Ok(lit);
    };
    Err(error(&lit, &message))
}

fn boolean(key: &str, expr: Expr) -> syn::Result<LitBool> {
    match ungroup(expr) {
        Expr::Lit(ExprLit { lit: Lit::Bool(lit), .. }) => Ok(lit),
        expr => Err(error(&expr, &format!("`{key}` expects `true` or `false`"))),
    }
}

/// A string literal is checked; any other expression is passed through, and
/// the compiler checks that its type is `AsRef<Path>`.
fn pid_file(expr: Expr) -> syn::Result<Expr> {
    let expr = ungroup(expr);
    if !matches!(expr, Expr::Lit(ExprLit { lit: Lit::Str(_), .. })) {
        return Ok(expr);
    }
    Ok(Expr::Lit(ExprLit { attrs: Vec::new(), lit: Lit::Str(file_path("pid_file", expr)?) }))
}

/// An absolute path that names a file: the pid file, the log files.
fn file_path(key: &str, expr: Expr) -> syn::Result<LitStr> {
    let lit = absolute_path(key, expr)?;
    let path = lit.value();
    let last = path.rsplit('/').next().unwrap_or_default();
    if path.ends_with('/') || last == "." || last == ".." {
        let message = format!("`{key}` must name a file, not a directory");
        return Err(error(&lit, &message));
    }
    Ok(lit)
}

/// A user or group: a name, or a numeric id that needs no passwd entry.
fn account(key: &str, expr: Expr) -> syn::Result<Lit> {
    let whole = expr.to_token_stream();
    let expected = || {
        let message = format!("`{key}` expects a name or a numeric id, like {}", example(key));
        error(&whole, &message)
    };
    let (negative, lit) = match ungroup(expr) {
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), expr, .. }) => (true, ungroup(*expr)),
        expr => (false, expr),
    };
    let lit = match lit {
        Expr::Lit(ExprLit { lit, .. }) => lit,
        _ => return Err(expected()),
    };
    match lit {
        Lit::Str(name) if !negative => {
            let text = name.value();
            let message = if text.is_empty() {
                format!("`{key}` must be a name or an id, not an empty string")
            } else if text.contains('\0') {
                format!("`{key}` must not contain a NUL byte")
            } else if text.contains(':') {
                // `chown`'s `user:group`.
                let other = if key == "user" { "group" } else { "user" };
                format!(
                    "`{key}` must not contain `:`; give the {other} with its own key, like {}",
                    example(other)
                )
            } else if text.contains('/') {
                format!("`{key}` must not contain `/`")
            } else if text.contains(char::is_whitespace) {
                format!("`{key}` must not contain whitespace")
            } else {
                return Ok(Lit::Str(name));
            };
            Err(error(&name, &message))
        }
        Lit::Int(id) => {
            if !id.suffix().is_empty() && id.suffix() != "u32" {
                let message = format!("`{key}` takes `u32` values: remove the `{}` suffix", id.suffix());
                return Err(error(&id, &message));
            }
            match id.base10_parse::<u32>() {
                Ok(value) if !negative => Ok(Lit::Int(LitInt::new(&format!("{value}u32"), id.span()))),
                _ => Err(error(&whole, &format!("`{key}` ids must fit in a `u32`"))),
            }
        }
        _ => Err(expected()),
    }
}

/// `"auto"` or `"manual"`, as the runtime's `Ready` variant.
fn ready(expr: Expr) -> syn::Result<Ident> {
    let expr = ungroup(expr);
    if let Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) = &expr {
        match lit.value().as_str() {
            "auto" => return Ok(Ident::new("Auto", lit.span())),
            "manual" => return Ok(Ident::new("Manual", lit.span())),
            _ => {}
        }
    }
    Err(error(&expr, "`ready` must be `\"auto\"` or `\"manual\"`"))
}

/// A duration string: a whole number followed by `ms`, `s` or `m`, as a
/// `u64` literal of milliseconds.
fn ready_timeout(expr: Expr) -> syn::Result<LitInt> {
    let lit = match ungroup(expr) {
        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => lit,
        expr => {
            let message = "`ready_timeout` expects a duration string, like \
                           `ready_timeout = \"30s\"`, `\"500ms\"` or `\"2m\"`";
            return Err(error(&expr, message));
        }
    };
    let millis = duration_millis(&lit.value()).map_err(|message| error(&lit, &message))?;
    Ok(LitInt::new(&format!("{millis}u64"), lit.span()))
}

fn duration_millis(text: &str) -> Result<u64, String> {
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, unit) = text.split_at(digits);
    let per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        _ if number.is_empty() => {
            return Err("`ready_timeout` must be a whole number followed by `ms`, `s` or `m`, \
                        like `\"30s\"`"
                .to_string());
        }
        "" => {
            return Err(format!(
                "`ready_timeout` needs a unit: `\"{number}ms\"`, `\"{number}s\"` or `\"{number}m\"`"
            ));
        }
        _ if unit.starts_with('.') => {
            return Err(
                "`ready_timeout` takes a whole number: write `\"1500ms\"`, not `\"1.5s\"`".to_string()
            );
        }
        _ => {
            return Err(format!("`ready_timeout` has an unknown unit `{unit}`; expected `ms`, `s` or `m`"));
        }
    };
    if number.is_empty() {
        return Err(format!("`ready_timeout` needs a number before the unit, like `\"30{unit}\"`"));
    }
    let too_long = || "`ready_timeout` is too long: it must fit in a `u64` of milliseconds".to_string();
    let millis = number.parse::<u64>().map_err(|_| too_long())?.checked_mul(per_unit).ok_or_else(too_long)?;
    if millis == 0 {
        return Err("`ready_timeout` must be greater than zero".to_string());
    }
    Ok(millis)
}

fn keep_fds(expr: Expr) -> syn::Result<Vec<LitInt>> {
    let array = match ungroup(expr) {
        Expr::Array(array) => array,
        expr => {
            let message = "`keep_fds` expects an array of integer literals, like `keep_fds = [3, 4]`";
            return Err(error(&expr, message));
        }
    };
    let mut errors = Errors::default();
    let mut fds: Vec<(i32, LitInt)> = Vec::new();
    for elem in array.elems {
        match fd(elem) {
            Ok((fd, lit)) if fds.iter().any(|&(seen, _)| seen == fd) => {
                let message = format!("`keep_fds` lists descriptor {fd} more than once");
                errors.push(error(&lit, &message));
            }
            Ok(fd) => fds.push(fd),
            Err(e) => errors.push(e),
        }
    }
    errors.into_result()?;
    Ok(fds.into_iter().map(|(_, lit)| lit).collect())
}

fn fd(expr: Expr) -> syn::Result<(i32, LitInt)> {
    let whole = expr.to_token_stream();
    let too_small = || {
        let message = "`keep_fds` entries must be >= 3: descriptors 0, 1 and 2 are always redirected";
        error(&whole, message)
    };
    let (negative, lit) = integer("keep_fds", "i32", expr)?;
    match lit.base10_parse::<i32>() {
        Ok(fd) if fd >= 3 && !negative => Ok((fd, lit)),
        Err(_) if !negative => Err(error(&lit, "`keep_fds` entries must fit in an `i32`")),
        _ => Err(too_small()),
    }
}

/// A path to the function; what it returns is left to the type checker.
fn init(expr: Expr) -> syn::Result<syn::Path> {
    match ungroup(expr) {
        Expr::Path(ExprPath { attrs, qself: None, path }) if attrs.is_empty() => Ok(path),
        expr => {
            let message = format!("`init` expects a path to a function, like {}", example("init"));
            Err(error(&expr, &message))
        }
    }
}

fn krate(expr: Expr) -> syn::Result<syn::Path> {
    let lit = match ungroup(expr) {
        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => lit,
        expr => {
            let message = "`crate` expects a string literal, like `crate = \"::daemon_runtime\"`";
            return Err(error(&expr, message));
        }
    };
    let not_a_path = || error(&lit, "`crate` must be a path, like `crate = \"::daemon_runtime\"`");
    let path: syn::Path = lit.parse().map_err(|_| not_a_path())?;
    if path.segments.iter().any(|segment| !segment.arguments.is_none()) {
        return Err(not_a_path());
    }
    Ok(path)
}

/// An integer literal with no suffix or the given one, and whether it was
/// negated (the callers report that as out of their range).
fn integer(key: &str, suffix: &str, expr: Expr) -> syn::Result<(bool, LitInt)> {
    let (negative, expr) = match ungroup(expr) {
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), expr, .. }) => (true, ungroup(*expr)),
        expr => (false, expr),
    };
    let lit = match expr {
        Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) => lit,
        expr => {
            let what = if key == "umask" { "an integer literal" } else { "integer literals" };
            let message = format!("`{key}` expects {what}, like {}", example(key));
            return Err(error(&expr, &message));
        }
    };
    if !lit.suffix().is_empty() && lit.suffix() != suffix {
        let message = format!("`{key}` takes `{suffix}` values: remove the `{}` suffix", lit.suffix());
        return Err(error(&lit, &message));
    }
    Ok((negative, lit))
}

/// Looks through the invisible groups a `macro_rules!` `$value:expr` leaves.
fn ungroup(expr: Expr) -> Expr {
    match expr {
        Expr::Group(group) => ungroup(*group.expr),
        expr => expr,
    }
}

fn error(tokens: &dyn ToTokens, message: &str) -> syn::Error {
    syn::Error::new_spanned(tokens, message)
}

#[cfg(test)]
mod tests {
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
        assert_eq!(config.keep_fds.unwrap().value.len(), 2);
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
            (
                quote!(ready_timeout = "30h"),
                "`ready_timeout` has an unknown unit `h`; expected `ms`, `s` or `m`",
            ),
            (
                quote!(ready_timeout = "30 s"),
                "`ready_timeout` has an unknown unit ` s`; expected `ms`, `s` or `m`",
            ),
            (
                quote!(ready_timeout = "30"),
                "`ready_timeout` needs a unit: `\"30ms\"`, `\"30s\"` or `\"30m\"`",
            ),
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
    fn init_takes_a_path() {
        for path in
            [quote!(bind), quote!(net::bind), quote!(crate::net::bind), quote!(::x::y), quote!(make::<u8>)]
        {
            let value = config(quote!(init = #path)).unwrap().init.unwrap().value;
            assert_eq!(value.into_token_stream().to_string(), path.to_string());
        }
        let message = "`init` expects a path to a function, like `init = bind_listener`";
        for value in [
            quote!("bind"),
            quote!(bind()),
            quote!(|| bind()),
            quote!(<T as U>::f),
            quote!(1),
            quote!([bind]),
        ] {
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
            (
                quote!(umask = 089),
                "`089` is a decimal number in Rust; write the umask in octal, like `0o027`",
            ),
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
                "`keep_fds` expects an array of integer literals, like `keep_fds = [3, 4]`",
            ),
            (quote!(keep_fds = [x]), "`keep_fds` expects integer literals, like `keep_fds = [3, 4]`"),
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
}
