//! Checking what each key accepts and the keys against each other; building
//! the [`Config`] that `expand` writes out.
//!
//! A value is checked here, at compile time, whenever it is a literal: a
//! mistake in it would otherwise surface only when the daemon starts, on a
//! server, as a launcher error. Every message names the accepted form.

use proc_macro2::Ident;
use quote::ToTokens;
use syn::{Expr, ExprLit, ExprUnary, Lit, LitBool, LitInt, LitStr, UnOp};

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
}

/// Checks every value and the keys against each other.
pub(crate) fn config(args: Args, errors: &mut Errors) -> Config {
    // The cross-key check looks at the keys themselves, so that a bad
    // `keep_fds` value does not hide it.
    let keep_fds_key = args
        .keep_fds
        .as_ref()
        .map(|arg| (arg.key.span(), arg.position));

    let umask = check(args.umask, errors, umask);
    let chdir = check(args.chdir, errors, |expr| absolute_path("chdir", expr));
    let double_fork = check(args.double_fork, errors, |expr| {
        boolean("double_fork", expr)
    });
    let pid_file = check(args.pid_file, errors, pid_file);
    let close_fds = check(args.close_fds, errors, |expr| boolean("close_fds", expr));
    let keep_fds = check(args.keep_fds, errors, keep_fds);
    let krate = check(args.krate, errors, krate).map(|setting| setting.value);

    if let (Some((span, position)), Some(close)) = (keep_fds_key, &close_fds)
        && !close.value.value
    {
        let message = "`keep_fds` has no effect with `close_fds = false`, \
                       which keeps every descriptor open";
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
    }
}

fn check<T>(
    arg: Option<Arg>,
    errors: &mut Errors,
    f: impl FnOnce(Expr) -> syn::Result<T>,
) -> Option<Setting<T>> {
    let Arg {
        key,
        value,
        position,
    } = arg?;
    f(value)
        .map(|value| Setting { key, value })
        .map_err(|error| errors.push_at(position, error))
        .ok()
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
            _ => format!(
                "`{repr}` is a decimal number in Rust; write the umask in octal, like `0o027`"
            ),
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
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit,
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
        Expr::Lit(ExprLit {
            lit: Lit::Bool(lit),
            ..
        }) => Ok(lit),
        expr => Err(error(&expr, &format!("`{key}` expects `true` or `false`"))),
    }
}

/// A string literal is checked; any other expression is passed through, and
/// the compiler checks that its type is `AsRef<Path>`.
fn pid_file(expr: Expr) -> syn::Result<Expr> {
    let expr = ungroup(expr);
    if !matches!(
        expr,
        Expr::Lit(ExprLit {
            lit: Lit::Str(_),
            ..
        })
    ) {
        return Ok(expr);
    }
    let lit = absolute_path("pid_file", expr)?;
    let path = lit.value();
    let last = path.rsplit('/').next().unwrap_or_default();
    if path.ends_with('/') || last == "." || last == ".." {
        return Err(error(&lit, "`pid_file` must name a file, not a directory"));
    }
    Ok(Expr::Lit(ExprLit {
        attrs: Vec::new(),
        lit: Lit::Str(lit),
    }))
}

fn keep_fds(expr: Expr) -> syn::Result<Vec<LitInt>> {
    let array = match ungroup(expr) {
        Expr::Array(array) => array,
        expr => {
            let message =
                "`keep_fds` expects an array of integer literals, like `keep_fds = [3, 4]`";
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
        let message =
            "`keep_fds` entries must be >= 3: descriptors 0, 1 and 2 are always redirected";
        error(&whole, message)
    };
    let (negative, lit) = integer("keep_fds", "i32", expr)?;
    match lit.base10_parse::<i32>() {
        Ok(fd) if fd >= 3 && !negative => Ok((fd, lit)),
        Err(_) if !negative => Err(error(&lit, "`keep_fds` entries must fit in an `i32`")),
        _ => Err(too_small()),
    }
}

fn krate(expr: Expr) -> syn::Result<syn::Path> {
    let lit = match ungroup(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit,
        expr => {
            let message = "`crate` expects a string literal, like `crate = \"::daemon_runtime\"`";
            return Err(error(&expr, message));
        }
    };
    let not_a_path = || {
        error(
            &lit,
            "`crate` must be a path, like `crate = \"::daemon_runtime\"`",
        )
    };
    let path: syn::Path = lit.parse().map_err(|_| not_a_path())?;
    if path
        .segments
        .iter()
        .any(|segment| !segment.arguments.is_none())
    {
        return Err(not_a_path());
    }
    Ok(path)
}

/// An integer literal with no suffix or the given one, and whether it was
/// negated (the callers report that as out of their range).
fn integer(key: &str, suffix: &str, expr: Expr) -> syn::Result<(bool, LitInt)> {
    let (negative, expr) = match ungroup(expr) {
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => (true, ungroup(*expr)),
        expr => (false, expr),
    };
    let lit = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit,
        expr => {
            let what = if key == "umask" {
                "an integer literal"
            } else {
                "integer literals"
            };
            let message = format!("`{key}` expects {what}, like {}", example(key));
            return Err(error(&expr, &message));
        }
    };
    if !lit.suffix().is_empty() && lit.suffix() != suffix {
        let message = format!(
            "`{key}` takes `{suffix}` values: remove the `{}` suffix",
            lit.suffix()
        );
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
    fn pid_file_expressions_are_left_to_the_compiler() {
        for expr in [quote!(42), quote!(dir.join("x")), quote!(b"/x")] {
            let value = config(quote!(pid_file = #expr))
                .unwrap()
                .pid_file
                .unwrap()
                .value;
            assert_eq!(value.into_token_stream().to_string(), expr.to_string());
        }
    }

    #[test]
    fn refused_values() {
        let umask_range = "`umask` must be an octal integer in 0..=0o777";
        let fd_range =
            "`keep_fds` entries must be >= 3: descriptors 0, 1 and 2 are always redirected";
        let not_a_path = "`crate` must be a path, like `crate = \"::daemon_runtime\"`";
        let cases = [
            (quote!(umask = 0o1000), umask_range),
            (quote!(umask = -1), umask_range),
            (quote!(umask = 99999999999), umask_range),
            (
                quote!(umask = "022"),
                "`umask` expects an integer literal, like `umask = 0o027`",
            ),
            (
                quote!(umask = 022),
                "`022` is a decimal number in Rust; write `0o22` for octal",
            ),
            (
                quote!(umask = 089),
                "`089` is a decimal number in Rust; write the umask in octal, like `0o027`",
            ),
            (
                quote!(umask = 0o22u8),
                "`umask` takes `u32` values: remove the `u8` suffix",
            ),
            (
                quote!(chdir = "var"),
                "`chdir` must be an absolute path, starting with `/`",
            ),
            (
                quote!(chdir = ""),
                "`chdir` must be an absolute path, not an empty string",
            ),
            (
                quote!(chdir = "/a\0b"),
                "`chdir` must not contain a NUL byte",
            ),
            (
                quote!(chdir = 5),
                "`chdir` expects a string literal, like `chdir = \"/var/lib/myd\"`",
            ),
            (
                quote!(pid_file = "x.pid"),
                "`pid_file` must be an absolute path, starting with `/`",
            ),
            (
                quote!(pid_file = "/run/"),
                "`pid_file` must name a file, not a directory",
            ),
            (
                quote!(pid_file = "/"),
                "`pid_file` must name a file, not a directory",
            ),
            (
                quote!(pid_file = "/run/.."),
                "`pid_file` must name a file, not a directory",
            ),
            (
                quote!(double_fork = 1),
                "`double_fork` expects `true` or `false`",
            ),
            (
                quote!(close_fds = "yes"),
                "`close_fds` expects `true` or `false`",
            ),
            (quote!(keep_fds = [1]), fd_range),
            (quote!(keep_fds = [-4]), fd_range),
            (
                quote!(keep_fds = 3),
                "`keep_fds` expects an array of integer literals, like `keep_fds = [3, 4]`",
            ),
            (
                quote!(keep_fds = [x]),
                "`keep_fds` expects integer literals, like `keep_fds = [3, 4]`",
            ),
            (
                quote!(keep_fds = [2147483648]),
                "`keep_fds` entries must fit in an `i32`",
            ),
            (
                quote!(keep_fds = [3, 4, 3]),
                "`keep_fds` lists descriptor 3 more than once",
            ),
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
