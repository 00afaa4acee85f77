//! Writing the new `main`.
//!
//! Spans: the runtime paths use the attribute's span
//! (`call_site`), each builder method the span of its key (so a type error in
//! `pid_file = 42` underlines both the key and the value, and an IDE shows the
//! setter's docs on the key), and the user's tokens keep their own.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::{AttrStyle, FnArg, PatType, token};

use crate::item::MainFn;
use crate::validate::{Config, Setting};

/// `main` with the daemon started first.
///
/// ```text
/// #[attrs] vis fn main() -> R {
///     #![inner_attrs]
///     let __daemon_running = ::daemon_runtime::__private::start(
///         ::daemon_runtime::Daemon::new().umask(0o027)...
///     );
///     body
/// }
/// ```
///
/// `__daemon_running` is a named binding, not `_`, so it lives to the end of
/// `main`: dropping it removes the pid file. Its `mixed_site` span hides it
/// from the body, which can neither name it nor shadow it.
///
/// With `init`, `start_with` runs it in the daemon and returns its value,
/// which becomes `main`'s argument, bound with the user's own pattern and
/// type (so a mismatch is reported on them):
///
/// ```text
/// fn main() -> R {
///     let __daemon_init_fn: fn() -> Result<_, _> = path::to::init;
///     let (__daemon_running, __daemon_init) =
///         ::daemon_runtime::__private::start_with(<builder>, __daemon_init_fn);
///     let listener: TcpListener = __daemon_init;
///     body
/// }
/// ```
///
/// A `main` without an argument gets `let () = __daemon_init;` instead: a
/// value `init` produces must not be dropped unseen.
///
/// An `async fn main` with a runtime attribute becomes a synchronous `main`
/// that starts the daemon and then calls the body as an inner `async fn`
/// carrying that attribute, so the runtime and its threads are created in the
/// daemon, after the forks; `init`'s value is passed to it:
///
/// ```text
/// #[attrs before the runtime's] vis fn main() -> R {
///     let __daemon_running = ...;
///     #[tokio::main] #[attrs after it] #[inner_attrs, made outer]
///     async fn __daemon_main(listener: TcpListener) -> R { body }
///     __daemon_main(__daemon_init)
/// }
/// ```
pub(crate) fn main(config: &Config, main: MainFn) -> TokenStream {
    let runtime_attr = main.runtime_attr();
    let MainFn { mut attrs, vis, mut sig, brace, mut inner_attrs, body } = main;
    // The expanded `main` takes nothing; the argument, if any, is bound to
    // `init`'s value (`signature` allows one, and only with `init`).
    let inputs = std::mem::take(&mut sig.inputs);
    let init = config.init.as_ref().map(|Setting { value: path, .. }| {
        // Hidden from the body like `__daemon_running`, but located at the
        // function's name: a type error about its value points there.
        let last = path.segments.last().map_or_else(Span::call_site, |segment| segment.ident.span());
        (path, Ident::new("__daemon_init", Span::mixed_site().located_at(last)))
    });
    let start = start(config, init.as_ref());

    let Some(index) = runtime_attr.filter(|_| sig.asyncness.is_some()) else {
        let take = match (&init, inputs.first()) {
            (Some((_, value)), Some(FnArg::Typed(PatType { attrs, pat, colon_token, ty }))) => {
                quote!(#(#attrs)* let #pat #colon_token #ty = #value;)
            }
            (Some((_, value)), _) => unit(value),
            (None, _) => TokenStream::new(),
        };
        let mut block = TokenStream::new();
        brace.surround(&mut block, |block| {
            block.extend(quote!(#(#inner_attrs)* #start #take #body));
        });
        return quote!(#(#attrs)* #vis #sig #block);
    };

    // The attributes from the runtime's on were written to apply to the
    // async function (a later `#[tracing::instrument]` wraps the body, not
    // the start); those before it, such as docs, stay on `main`.
    let runtime_attrs = attrs.split_off(index);
    // Runtime macros wrap the body in an `async` block, where inner
    // attributes are not allowed; lifted onto the function they mean the
    // same. (`tokio::main` lifts them too; others may not.)
    for attr in &mut inner_attrs {
        attr.style = AttrStyle::Outer;
    }
    let asyncness = sig.asyncness.take();
    let output = &sig.output;
    // Located at the user's `main`: "function defined here" points there.
    let inner = Ident::new("__daemon_main", Span::mixed_site().located_at(sig.ident.span()));
    // `init`'s value is passed to the inner function, which keeps the
    // user's argument as written.
    let (take, argument) = match &init {
        Some((_, value)) if inputs.is_empty() => (unit(value), None),
        Some((_, value)) => (TokenStream::new(), Some(value)),
        None => (TokenStream::new(), None),
    };
    // The user's braces go around the user's body: an error about what the
    // body returns points at it, not at the attribute.
    let mut inner_block = TokenStream::new();
    brace.surround(&mut inner_block, |block| block.extend(body));
    quote! {
        #(#attrs)* #vis #sig {
            #start
            #take
            #(#runtime_attrs)* #(#inner_attrs)*
            #asyncness fn #inner(#inputs) #output #inner_block
            #inner(#argument)
        }
    }
}

/// `let () = __daemon_init;`, the parentheses located at `init`'s name, so
/// that a value `main` does not take is an error there.
fn unit(value: &Ident) -> TokenStream {
    let mut unit = TokenStream::new();
    token::Paren(value.span()).surround(&mut unit, |_| {});
    quote!(let #unit = #value;)
}

/// `let __daemon_running = <crate>::__private::start(<builder>);`, or with
/// `init`, `let __daemon_init_fn: fn() -> Result<_, _> = <init>;` and
/// `let (__daemon_running, __daemon_init) =
/// <crate>::__private::start_with(<builder>, __daemon_init_fn);`
fn start(config: &Config, init: Option<&(&syn::Path, Ident)>) -> TokenStream {
    let krate = &config.krate;
    let mut builder = quote!(#krate::Daemon::new());
    // One call per key given, in the order of `args::KEYS`.
    setter(&mut builder, &config.umask);
    setter(&mut builder, &config.chdir);
    setter(&mut builder, &config.double_fork);
    setter(&mut builder, &config.pid_file);
    setter(&mut builder, &config.close_fds);
    setter(&mut builder, &config.keep_fds);
    setter(&mut builder, &config.user);
    setter(&mut builder, &config.group);
    setter(&mut builder, &config.chroot);
    setter(&mut builder, &config.core_dumps);
    setter(&mut builder, &config.stdout);
    setter(&mut builder, &config.stderr);
    if let Some(Setting { key, value: signal }) = &config.reopen_logs_on {
        builder.extend(quote!(.#key(#krate::Signal::#signal)));
    }
    if let Some(Setting { key, value: variant }) = &config.ready {
        builder.extend(quote!(.#key(#krate::Ready::#variant)));
    }
    if let Some(Setting { key, value: millis }) = &config.ready_timeout {
        builder.extend(quote!(.#key(::core::time::Duration::from_millis(#millis))));
    }
    setter(&mut builder, &config.foreground);
    let running = Ident::new("__daemon_running", Span::mixed_site());
    let Some((path, value)) = init else {
        return quote!(let #running = #krate::__private::start(#builder););
    };
    // `init` is first coerced to a function pointer, so that one returning
    // something else is a type error on the user's path ("expected fn
    // pointer `fn() -> Result<_, _>`"), the type underlined at the `init`
    // key, rather than on a bound inside the runtime. The pointer is then
    // the argument: an error type without `Display` is reported on it too.
    let function = Ident::new("__daemon_init_fn", Span::mixed_site().located_at(value.span()));
    let key = config.init.as_ref().map_or_else(Span::call_site, |init| init.key.span());
    let pointer = quote_spanned!(key=> fn() -> ::core::result::Result<_, _>);
    // The bound `E: Display` is reported on the whole call, so the call is
    // located at `init`'s path too.
    let mut start_with = located_at(quote!(#krate::__private::start_with), value.span());
    let mut arguments = Group::new(Delimiter::Parenthesis, quote!(#builder, #function));
    arguments.set_span(value.span());
    start_with.extend([TokenTree::Group(arguments)]);
    quote! {
        let #function: #pointer = #path;
        let (#running, #value) = #start_with;
    }
}

/// `tokens` shown at `location` in errors, resolved as before.
fn located_at(tokens: TokenStream, location: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            token.set_span(token.span().located_at(location));
            token
        })
        .collect()
}

fn setter<T: ToTokens>(builder: &mut TokenStream, setting: &Option<Setting<T>>) {
    if let Some(Setting { key, value }) = setting {
        builder.extend(quote!(.#key(#value)));
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use crate::errors::Errors;
    use crate::{args, item, signature, validate};

    fn expand(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
        let mut errors = Errors::default();
        let args = args::parse(args, &mut errors);
        let config = validate::config(args, &mut errors);
        let main = item::parse(item).unwrap();
        signature::signature(&main, config.init.is_some(), &mut errors);
        errors.into_result().unwrap();
        super::main(&config, main).to_string()
    }

    #[test]
    fn no_keys_start_with_the_defaults() {
        let expanded = expand(
            quote!(),
            quote!(
                fn main() {
                    work();
                }
            ),
        );
        let expected = quote! {
            fn main() {
                let __daemon_running = ::daemon_runtime::__private::start(
                    ::daemon_runtime::Daemon::new()
                );
                work();
            }
        };
        assert_eq!(expanded, expected.to_string());
    }

    #[test]
    fn every_key_becomes_a_call_in_a_fixed_order() {
        let expanded = expand(
            quote!(
                foreground = std::env::args().any(|arg| arg == "-f"),
                ready_timeout = "2s",
                ready = "manual",
                reopen_logs_on = "SIGHUP",
                stderr = "/var/log/myd.err",
                stdout = "/var/log/myd.out",
                core_dumps = false,
                chroot = "/srv/jail",
                group = "nogroup",
                user = 65534,
                keep_fds = [3, 4],
                close_fds = true,
                pid_file = std::env::temp_dir().join("x.pid"),
                double_fork = false,
                chdir = "/var/lib/myd",
                umask = 0o027,
            ),
            quote!(
                /// Docs.
                pub(crate) fn main() -> Result<(), String> {
                    #![allow(unused)]
                    Ok(())
                }
            ),
        );
        let expected = quote! {
            /// Docs.
            pub(crate) fn main() -> Result<(), String> {
                #![allow(unused)]
                let __daemon_running = ::daemon_runtime::__private::start(
                    ::daemon_runtime::Daemon::new()
                        .umask(0o027)
                        .chdir("/var/lib/myd")
                        .double_fork(false)
                        .pid_file(std::env::temp_dir().join("x.pid"))
                        .close_fds(true)
                        .keep_fds([3, 4])
                        .user(65534u32)
                        .group("nogroup")
                        .chroot("/srv/jail")
                        .core_dumps(false)
                        .stdout("/var/log/myd.out")
                        .stderr("/var/log/myd.err")
                        .reopen_logs_on(::daemon_runtime::Signal::SIGHUP)
                        .ready(::daemon_runtime::Ready::Manual)
                        .ready_timeout(::core::time::Duration::from_millis(2000u64))
                        .foreground(std::env::args().any(|arg| arg == "-f"))
                );
                Ok(())
            }
        };
        assert_eq!(expanded, expected.to_string());
    }

    #[test]
    fn crate_replaces_every_runtime_path() {
        let expanded = expand(
            quote!(crate = "my::rt", pid_file = "/run/x.pid", ready = "auto"),
            quote!(
                fn main() {}
            ),
        );
        let expected = quote! {
            fn main() {
                let __daemon_running = my::rt::__private::start(
                    my::rt::Daemon::new().pid_file("/run/x.pid").ready(my::rt::Ready::Auto)
                );
            }
        };
        assert_eq!(expanded, expected.to_string());
    }

    #[test]
    fn async_main_runs_its_runtime_after_the_start() {
        let expanded = expand(
            quote!(umask = 0o022),
            quote!(
                /// Docs.
                #[tokio::main(flavor = "current_thread")]
                #[allow(unused)]
                async fn main() -> std::process::ExitCode {
                    #![allow(dead_code)]
                    work().await
                }
            ),
        );
        let expected = quote! {
            /// Docs.
            fn main() -> std::process::ExitCode {
                let __daemon_running = ::daemon_runtime::__private::start(
                    ::daemon_runtime::Daemon::new().umask(0o022)
                );
                #[tokio::main(flavor = "current_thread")]
                #[allow(unused)]
                #[allow(dead_code)]
                async fn __daemon_main() -> std::process::ExitCode {
                    work().await
                }
                __daemon_main()
            }
        };
        assert_eq!(expanded, expected.to_string());
    }

    #[test]
    fn a_runtime_attribute_on_a_sync_main_is_left_alone() {
        let expanded = expand(
            quote!(),
            quote!(
                #[tokio::main]
                fn main() {}
            ),
        );
        let expected = quote! {
            #[tokio::main]
            fn main() {
                let __daemon_running = ::daemon_runtime::__private::start(
                    ::daemon_runtime::Daemon::new()
                );
            }
        };
        assert_eq!(expanded, expected.to_string());
    }

    #[test]
    fn init_value_becomes_the_argument() {
        let expanded = expand(
            quote!(init = net::bind, user = "nobody"),
            quote!(
                fn main(#[allow(unused_mut)] mut listener: std::net::TcpListener) -> std::io::Result<()> {
                    #![allow(unused)]
                    serve(listener)
                }
            ),
        );
        let expected = quote! {
            fn main() -> std::io::Result<()> {
                #![allow(unused)]
                let __daemon_init_fn: fn() -> ::core::result::Result<_, _> = net::bind;
                let (__daemon_running, __daemon_init) = ::daemon_runtime::__private::start_with(
                    ::daemon_runtime::Daemon::new().user("nobody"),
                    __daemon_init_fn
                );
                #[allow(unused_mut)]
                let mut listener: std::net::TcpListener = __daemon_init;
                serve(listener)
            }
        };
        assert_eq!(expanded, expected.to_string());
    }

    #[test]
    fn init_without_an_argument_must_produce_unit() {
        let expanded = expand(
            quote!(init = setup),
            quote!(
                fn main() {}
            ),
        );
        let expected = quote! {
            fn main() {
                let __daemon_init_fn: fn() -> ::core::result::Result<_, _> = setup;
                let (__daemon_running, __daemon_init) = ::daemon_runtime::__private::start_with(
                    ::daemon_runtime::Daemon::new(),
                    __daemon_init_fn
                );
                let () = __daemon_init;
            }
        };
        assert_eq!(expanded, expected.to_string());
    }

    #[test]
    fn async_main_gets_the_init_value_as_its_argument() {
        let expanded = expand(
            quote!(init = bind),
            quote!(
                #[tokio::main]
                async fn main(listener: std::net::TcpListener) {
                    serve(listener).await
                }
            ),
        );
        let expected = quote! {
            fn main() {
                let __daemon_init_fn: fn() -> ::core::result::Result<_, _> = bind;
                let (__daemon_running, __daemon_init) = ::daemon_runtime::__private::start_with(
                    ::daemon_runtime::Daemon::new(),
                    __daemon_init_fn
                );
                #[tokio::main]
                async fn __daemon_main(listener: std::net::TcpListener) {
                    serve(listener).await
                }
                __daemon_main(__daemon_init)
            }
        };
        assert_eq!(expanded, expected.to_string());

        let expanded = expand(
            quote!(init = setup),
            quote!(
                #[tokio::main]
                async fn main() {}
            ),
        );
        let expected = quote! {
            fn main() {
                let __daemon_init_fn: fn() -> ::core::result::Result<_, _> = setup;
                let (__daemon_running, __daemon_init) = ::daemon_runtime::__private::start_with(
                    ::daemon_runtime::Daemon::new(),
                    __daemon_init_fn
                );
                let () = __daemon_init;
                #[tokio::main]
                async fn __daemon_main() {}
                __daemon_main()
            }
        };
        assert_eq!(expanded, expected.to_string());
    }
}
