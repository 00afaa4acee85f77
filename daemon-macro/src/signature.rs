//! Checking the function the attribute is on: a plain `fn main`.
//!
//! The compiler checks the real entry point too, but only the crate root's
//! `main`; these checks also hold for a `main` elsewhere, and they explain
//! the rule in the attribute's terms (for `async`, how to write it instead).

use quote::{ToTokens, quote};
use syn::{FnArg, Safety};

use crate::errors::Errors;
use crate::item::{self, MainFn};

/// Checks that the function is a plain `fn main`: one error per problem, on
/// the token that causes it. With `init` (the key was given, even with a bad
/// value), `main` may take one argument: the value `init` produces.
pub(crate) fn signature(main: &MainFn, init: bool, errors: &mut Errors) {
    if let Some(runtime) = main.runtime_expansion() {
        // What is left is the runtime's rewrite, not the user's signature:
        // this is the one mistake.
        let message = "`#[daemon]` must be written above `#[tokio::main]`: the process must detach \
                       before the runtime starts its threads";
        errors.push(syn::Error::new(runtime, message));
        return;
    }
    let sig = &main.sig;
    let mut error = |tokens: &dyn ToTokens, message: &str| {
        errors.push(syn::Error::new_spanned(tokens, message));
    };
    if let Some(attr) = main.attrs.iter().find(|attr| item::is_daemon(attr)) {
        error(attr, "`#[daemon]` is applied more than once");
    }
    if let Some(constness) = &sig.constness {
        error(constness, "`#[daemon]` cannot be used on `const fn main`");
    }
    if let Some(asyncness) = &sig.asyncness
        && main.runtime_attr().is_none()
    {
        // Forking keeps only the calling thread: a runtime's worker threads
        // would vanish in the daemon, with whatever locks they held.
        let message = "`#[daemon]` cannot be used on `async fn main`: a process must not \
                       have threads when it forks; write `#[daemon(...)]` above `#[tokio::main]`";
        error(asyncness, message);
    }
    if let Safety::Unsafe(unsafety) = &sig.safety {
        error(unsafety, "`#[daemon]` cannot be used on `unsafe fn main`");
    }
    if let Some(abi) = &sig.abi {
        let abi_text = abi.to_token_stream().to_string();
        error(abi, &format!("`#[daemon]` cannot be used on `{abi_text} fn main`"));
    }
    if sig.ident != "main" {
        error(&sig.ident, "`#[daemon]` can only be used on `fn main`");
    }
    if !sig.generics.params.is_empty() {
        error(&sig.generics, "`#[daemon]` cannot be used on a generic `fn main`");
    }
    let (inputs, variadic) = (&sig.inputs, &sig.variadic);
    if !init && (!inputs.is_empty() || variadic.is_some()) {
        error(
            &quote!(#inputs #variadic),
            "`fn main` takes an argument only with `init = ...`, which produces it",
        );
    } else if init {
        if let Some(FnArg::Receiver(receiver)) = inputs.first() {
            error(receiver, "`fn main` cannot take `self`; its argument is the value `init` produces");
        }
        let rest = inputs.pairs().skip(1);
        if inputs.len() > 1 || variadic.is_some() {
            error(
                &quote!(#(#rest)* #variadic),
                "`fn main` takes one argument at most: the value `init` produces",
            );
        }
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        error(where_clause, "`#[daemon]` cannot be used on `fn main` with a `where` clause");
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::*;

    fn signature_errors(tokens: TokenStream) -> Vec<String> {
        errors_with(false, tokens)
    }

    fn errors_with(init: bool, tokens: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        signature(&item::parse(tokens).unwrap(), init, &mut errors);
        match errors.into_result() {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_plain_main_is_accepted() {
        assert!(
            signature_errors(quote!(
                fn main() {}
            ))
            .is_empty()
        );
        assert!(
            signature_errors(quote!(
                pub fn main() -> ExitCode {
                    f()
                }
            ))
            .is_empty()
        );
        assert!(
            signature_errors(quote!(
                #[tokio::main]
                async fn main() {}
            ))
            .is_empty()
        );
    }

    #[test]
    fn signature_problems() {
        let cases = [
            (
                quote!(
                    fn run() {}
                ),
                "`#[daemon]` can only be used on `fn main`",
            ),
            (
                quote!(
                    const fn main() {}
                ),
                "`#[daemon]` cannot be used on `const fn main`",
            ),
            (
                quote!(
                    unsafe fn main() {}
                ),
                "`#[daemon]` cannot be used on `unsafe fn main`",
            ),
            (
                quote!(
                    extern "C" fn main() {}
                ),
                "`#[daemon]` cannot be used on `extern \"C\" fn main`",
            ),
            (
                quote!(
                    fn main<T>() {}
                ),
                "`#[daemon]` cannot be used on a generic `fn main`",
            ),
            (
                quote!(
                    fn main()
                    where
                        u8: Copy,
                    {
                    }
                ),
                "`#[daemon]` cannot be used on `fn main` with a `where` clause",
            ),
            (
                quote!(
                    fn main(argc: i32) {}
                ),
                "`fn main` takes an argument only with `init = ...`, which produces it",
            ),
            (
                quote!(
                    async fn main() {}
                ),
                "`#[daemon]` cannot be used on `async fn main`: a process must not have \
                 threads when it forks; write `#[daemon(...)]` above `#[tokio::main]`",
            ),
            (
                quote!(
                    #[daemon_runtime::daemon]
                    fn main() {}
                ),
                "`#[daemon]` is applied more than once",
            ),
        ];
        for (item, message) in cases {
            assert_eq!(signature_errors(item.clone()), [message], "{item}");
        }
    }

    #[test]
    fn a_main_that_tokio_rewrote_first_is_one_error_about_the_order() {
        // What `#[tokio::main] #[daemon] async fn main(x: u8) {}` hands on.
        let rewritten = quote!(
            fn main(x: u8) {
                let body = async {};
                Builder::new_multi_thread().enable_all().build().unwrap().block_on(body)
            }
        );
        let message = "`#[daemon]` must be written above `#[tokio::main]`: the process must \
                       detach before the runtime starts its threads";
        assert_eq!(signature_errors(rewritten.clone()), [message]);
        assert_eq!(errors_with(true, rewritten), [message]);
        // Written by hand in an async `main`, it is the user's own code.
        assert!(
            signature_errors(quote!(
                #[tokio::main]
                async fn main() {
                    let body = async {};
                    body.await
                }
            ))
            .is_empty()
        );
    }

    #[test]
    fn with_init_main_takes_one_argument() {
        let one_at_most = "`fn main` takes one argument at most: the value `init` produces";
        let cases = [
            (
                quote!(
                    fn main() {}
                ),
                None,
            ),
            (
                quote!(
                    fn main(listener: TcpListener) {}
                ),
                None,
            ),
            (
                quote!(
                    fn main(mut x: u8) {}
                ),
                None,
            ),
            (
                quote!(
                    #[tokio::main]
                    async fn main((a, b): (u8, u8)) {}
                ),
                None,
            ),
            (
                quote!(
                    fn main(a: u8, b: u8) {}
                ),
                Some(one_at_most),
            ),
            (
                quote!(
                    fn main(a: u8, b: u8, c: u8) {}
                ),
                Some(one_at_most),
            ),
            (
                quote!(
                    fn main(self) {}
                ),
                Some("`fn main` cannot take `self`; its argument is the value `init` produces"),
            ),
        ];
        for (item, message) in cases {
            assert_eq!(errors_with(true, item.clone()), Vec::from_iter(message), "{item}");
        }
    }
}
