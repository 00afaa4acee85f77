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
use crate::errors::Errors;

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
    /// An array whose literal entries are checked, or any expression, left
    /// to the type checker (`IntoIterator<Item = RawFd>`).
    pub(crate) keep_fds: Option<Setting<Expr>>,
    /// A checked name (`LitStr`) or id (`LitInt`, suffixed `u32` so that it
    /// picks `From<u32>` of the runtime's `Account`).
    pub(crate) user: Option<Setting<Lit>>,
    pub(crate) group: Option<Setting<Lit>>,
    pub(crate) chroot: Option<Setting<LitStr>>,
    pub(crate) core_dumps: Option<Setting<LitBool>>,
    pub(crate) stdout: Option<Setting<LitStr>>,
    pub(crate) stderr: Option<Setting<LitStr>>,
    /// The runtime's `Signal` variant (`SIGHUP`), spanned on the string.
    pub(crate) reopen_logs_on: Option<Setting<Ident>>,
    /// The variant of the runtime's `Ready`, `Auto` or `Manual`, spanned on
    /// the string literal it comes from.
    pub(crate) ready: Option<Setting<Ident>>,
    /// Milliseconds, a `u64` literal spanned on the duration string.
    pub(crate) ready_timeout: Option<Setting<LitInt>>,
    /// Any expression, left to the type checker (`bool`).
    pub(crate) foreground: Option<Setting<Expr>>,
    /// A path, left to the type checker (`fn() -> Result<T, E>`, `E: Display`).
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
    // Given, whether or not their values are right: one mistake, one error.
    let logs_given = args.stdout.is_some() || args.stderr.is_some();
    let stdout = check(args.stdout, errors, |expr| file_path("stdout", expr));
    let stderr = check(args.stderr, errors, |expr| file_path("stderr", expr));
    let reopen_key = args.reopen_logs_on.as_ref().map(|arg| (arg.key.span(), arg.position));
    let reopen_logs_on = check(args.reopen_logs_on, errors, reopen_signal);
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
    if let Some((span, position)) = reopen_key
        && !logs_given
    {
        let message = "`reopen_logs_on` has no log file to reopen: set `stdout` or `stderr`, \
                       like `stdout = \"/var/log/myd.log\"`";
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
        reopen_logs_on,
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

/// The signals logs can be reopened on: the ones meant for a running
/// daemon's own use, that the runtime's stop (TERM, INT, KILL) does not send.
const REOPEN_SIGNALS: [&str; 3] = ["SIGHUP", "SIGUSR1", "SIGUSR2"];

/// `"SIGHUP"`, `"SIGUSR1"` or `"SIGUSR2"`, as the runtime's `Signal` variant.
fn reopen_signal(expr: Expr) -> syn::Result<Ident> {
    let lit = match ungroup(expr) {
        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => lit,
        expr => {
            let message =
                "`reopen_logs_on` expects a signal's name as a string, like `reopen_logs_on = \"SIGHUP\"`";
            return Err(error(&expr, message));
        }
    };
    let name = lit.value();
    if REOPEN_SIGNALS.contains(&name.as_str()) {
        return Ok(Ident::new(&name, lit.span()));
    }
    let message = match REOPEN_SIGNALS
        .iter()
        .find(|signal| signal.strip_prefix("SIG") == Some(name.to_ascii_uppercase().as_str()))
    {
        Some(signal) => format!("`reopen_logs_on` takes the signal's full name: write `\"{signal}\"`"),
        None => "`reopen_logs_on` must be `\"SIGHUP\"`, `\"SIGUSR1\"` or `\"SIGUSR2\"`: \
                 the runtime's stop sends TERM, INT and KILL"
            .to_string(),
    };
    Err(error(&lit, &message))
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

/// The duration grammar (`500ms`, `30s`, `2m`), also written out in
/// `daemon_run::parse_duration`. Both stay: this one runs in the compiler
/// and explains each mistake as a compile error, that one is clap's value
/// parser; sharing one would need a third, non-macro crate (a proc-macro
/// crate exports only macros, and `daemon-runtime` depends on this one), for
/// six lines. Keep the two accepting the same strings.
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

/// An array is checked entry by entry where an entry is a literal; any
/// other expression (`keep_fds = listen_fds()`, a `const`) is passed
/// through, evaluated once before detaching, and the compiler checks that
/// its type is `IntoIterator<Item = RawFd>`.
fn keep_fds(expr: Expr) -> syn::Result<Expr> {
    let mut array = match ungroup(expr) {
        Expr::Array(array) => array,
        // A lone literal is no list of descriptors, whatever its type.
        expr @ Expr::Lit(_) => {
            let message = "`keep_fds` expects an array, like `keep_fds = [3, 4]`, or an expression \
                           whose type is `IntoIterator<Item = RawFd>`";
            return Err(error(&expr, message));
        }
        expr => return Ok(expr),
    };
    let mut errors = Errors::default();
    let mut fds: Vec<i32> = Vec::new();
    for elem in std::mem::take(&mut array.elems) {
        if !is_literal(&elem) {
            array.elems.push(elem);
            continue;
        }
        match fd(elem) {
            Ok((fd, lit)) if fds.contains(&fd) => {
                let message = format!("`keep_fds` lists descriptor {fd} more than once");
                errors.push(error(&lit, &message));
            }
            Ok((fd, lit)) => {
                fds.push(fd);
                array.elems.push(Expr::Lit(ExprLit { attrs: Vec::new(), lit: Lit::Int(lit) }));
            }
            Err(e) => errors.push(e),
        }
    }
    errors.into_result()?;
    Ok(Expr::Array(array))
}

/// A literal, negated or not: what `keep_fds` can check before the program runs.
fn is_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Group(group) => is_literal(&group.expr),
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), expr, .. }) => is_literal(expr),
        expr => matches!(expr, Expr::Lit(_)),
    }
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
#[path = "validate_tests.rs"]
mod tests;
