//! Writing the new `main`.
//!
//! Spans: the runtime paths use the attribute's span
//! (`call_site`), each builder method the span of its key (so a type error in
//! `pid_file = 42` underlines both the key and the value, and an IDE shows the
//! setter's docs on the key), and the user's tokens keep their own.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote};
use syn::AttrStyle;

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
/// An `async fn main` with a runtime attribute becomes a synchronous `main`
/// that starts the daemon and then calls the body as an inner `async fn`
/// carrying that attribute, so the runtime and its threads are created in the
/// daemon, after the forks:
///
/// ```text
/// #[attrs before the runtime's] vis fn main() -> R {
///     let __daemon_running = ...;
///     #[tokio::main] #[attrs after it] #[inner_attrs, made outer]
///     async fn __daemon_main() -> R { body }
///     __daemon_main()
/// }
/// ```
pub(crate) fn main(config: &Config, main: MainFn) -> TokenStream {
    let start = start(config);
    let runtime_attr = main.runtime_attr();
    let MainFn { mut attrs, vis, mut sig, brace, mut inner_attrs, body } = main;

    let Some(index) = runtime_attr.filter(|_| sig.asyncness.is_some()) else {
        let mut block = TokenStream::new();
        brace.surround(&mut block, |block| {
            block.extend(quote!(#(#inner_attrs)* #start #body));
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
    let inner = Ident::new("__daemon_main", Span::mixed_site());
    // The user's braces go around the user's body: an error about what the
    // body returns points at it, not at the attribute.
    let mut inner_block = TokenStream::new();
    brace.surround(&mut inner_block, |block| block.extend(body));
    quote! {
        #(#attrs)* #vis #sig {
            #start
            #(#runtime_attrs)* #(#inner_attrs)*
            #asyncness fn #inner() #output #inner_block
            #inner()
        }
    }
}

/// `let __daemon_running = <crate>::__private::start(<builder>);`
fn start(config: &Config) -> TokenStream {
    let krate = &config.krate;
    let mut builder = quote!(#krate::Daemon::new());
    // One call per key given, in the order of `args::KEYS`.
    setter(&mut builder, &config.umask);
    setter(&mut builder, &config.chdir);
    setter(&mut builder, &config.double_fork);
    setter(&mut builder, &config.pid_file);
    setter(&mut builder, &config.close_fds);
    if let Some(Setting { key, value: fds }) = &config.keep_fds {
        builder.extend(quote!(.#key([#(#fds),*])));
    }
    setter(&mut builder, &config.user);
    setter(&mut builder, &config.group);
    setter(&mut builder, &config.chroot);
    setter(&mut builder, &config.core_dumps);
    setter(&mut builder, &config.stdout);
    setter(&mut builder, &config.stderr);
    if let Some(Setting { key, value: variant }) = &config.ready {
        builder.extend(quote!(.#key(#krate::Ready::#variant)));
    }
    if let Some(Setting { key, value: millis }) = &config.ready_timeout {
        builder.extend(quote!(.#key(::core::time::Duration::from_millis(#millis))));
    }
    setter(&mut builder, &config.foreground);
    let running = Ident::new("__daemon_running", Span::mixed_site());
    quote!(let #running = #krate::__private::start(#builder);)
}

fn setter<T: ToTokens>(builder: &mut TokenStream, setting: &Option<Setting<T>>) {
    if let Some(Setting { key, value }) = setting {
        builder.extend(quote!(.#key(#value)));
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use crate::entry::Errors;
    use crate::{args, item, signature, validate};

    fn expand(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
        let mut errors = Errors::default();
        let args = args::parse(args, &mut errors);
        let config = validate::config(args, &mut errors);
        let main = item::parse(item).unwrap();
        signature::signature(&main, &mut errors);
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
}
