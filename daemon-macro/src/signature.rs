//! Checking the function the attribute is on: a plain `fn main`.
//!
//! The compiler checks the real entry point too, but only the crate root's
//! `main`; these checks also hold for a `main` elsewhere, and they explain
//! the rule in the attribute's terms (for `async`, how to write it instead).

use quote::{ToTokens, quote};
use syn::Safety;

use crate::entry::Errors;
use crate::item::MainFn;

/// Checks that the function is a plain `fn main`: one error per problem, on
/// the token that causes it.
pub(crate) fn signature(main: &MainFn, errors: &mut Errors) {
    let sig = &main.sig;
    let mut error = |tokens: &dyn ToTokens, message: &str| {
        errors.push(syn::Error::new_spanned(tokens, message));
    };
    if let Some(attr) = main.attrs.iter().find(|attr| {
        let segments = &attr.path().segments;
        segments.last().is_some_and(|last| last.ident == "daemon")
    }) {
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
    if !sig.inputs.is_empty() || sig.variadic.is_some() {
        let (inputs, variadic) = (&sig.inputs, &sig.variadic);
        error(
            &quote!(#inputs #variadic),
            "`#[daemon]` cannot be used on `fn main` with arguments; \
             read them with `std::env::args()`",
        );
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
    use crate::item;

    fn signature_errors(tokens: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        signature(&item::parse(tokens).unwrap(), &mut errors);
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
                "`#[daemon]` cannot be used on `fn main` with arguments; \
                 read them with `std::env::args()`",
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
}
