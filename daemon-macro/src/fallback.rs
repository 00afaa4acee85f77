//! What the attribute expands to when it reports an error: the user's body
//! inside a neutral `fn main()`, as `thiserror`'s `fallback.rs` does for a
//! derive it refuses.
//!
//! The attribute's `compile_error!` is then the only error. Left as written,
//! an `async`, generic, `const`, `extern` or argument-taking `main` would get
//! a second, rustc-made error (E0752, E0131, E0580) about the very mistake
//! already reported; dropped, the body's names would be missing. Kept in a
//! function of its own, the body still type-checks and rust-analyzer still
//! completes in it while the user fixes the attribute.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use syn::{FnArg, Safety};

use crate::item::{self, MainFn};

/// `main` with the signature rustc expects, holding the body in an inner
/// function that is never called:
///
/// ```text
/// #[attrs before the runtime's] vis fn main() {
///     #[allow(dead_code, unused_variables)]
///     #[runtime attr and those after it]
///     async unsafe fn __daemon_main<T>(listener: TcpListener) -> R where ... {
///         #![inner_attrs]
///         body
///     }
/// }
/// ```
///
/// The inner function keeps what the body depends on (its arguments,
/// generics, `async`, `unsafe`, the return type) and loses what only the
/// entry point is checked for (`const`, `extern`, a `self` or variadic
/// argument). A function not named `main` is returned as written: rustc has
/// nothing to say about its signature.
pub(crate) fn main(main: MainFn) -> TokenStream {
    let runtime_attr = main.runtime_attr();
    let MainFn { mut attrs, vis, sig, brace, inner_attrs, body } = main;
    // A second `#[daemon]` would expand again, on the neutral function.
    attrs.retain(|attr| !item::is_daemon(attr));
    if sig.ident != "main" {
        let mut block = TokenStream::new();
        brace.surround(&mut block, |block| block.extend(quote!(#(#inner_attrs)* #body)));
        return quote!(#(#attrs)* #vis #sig #block);
    }
    // As in the expansion, the runtime's attribute and those after it apply
    // to the async function; a runtime attribute on a sync `main` stays on
    // `main`, where the runtime reports it.
    let inner_attrs_outer = match runtime_attr.filter(|_| sig.asyncness.is_some()) {
        Some(index) => attrs.split_off(index),
        None => Vec::new(),
    };
    let inputs = sig.inputs.iter().filter(|input| matches!(input, FnArg::Typed(_)));
    let unsafety = match &sig.safety {
        Safety::Unsafe(unsafety) => Some(unsafety),
        _ => None,
    };
    let (asyncness, generics, output) = (&sig.asyncness, &sig.generics, &sig.output);
    let where_clause = &generics.where_clause;
    let inner = Ident::new("__daemon_main", Span::mixed_site().located_at(sig.ident.span()));
    let mut inner_block = TokenStream::new();
    brace.surround(&mut inner_block, |block| block.extend(quote!(#(#inner_attrs)* #body)));
    let fn_token = &sig.fn_token;
    let name = &sig.ident;
    quote! {
        #(#attrs)* #vis #fn_token #name() {
            #[allow(dead_code, unused_variables)]
            #(#inner_attrs_outer)*
            #asyncness #unsafety fn #inner #generics (#(#inputs),*) #output #where_clause #inner_block
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::{item, main};

    fn fallback(tokens: proc_macro2::TokenStream) -> String {
        main(item::parse(tokens).unwrap()).to_string()
    }

    #[test]
    fn the_body_moves_into_a_function_that_keeps_what_it_needs() {
        let expanded = fallback(quote!(
            /// Docs.
            #[daemon]
            pub const unsafe extern "C" fn main<T: Copy>(self, listener: TcpListener, ...) -> u8
            where
                T: Send,
            {
                #![allow(unused)]
                work(listener)
            }
        ));
        let expected = quote! {
            /// Docs.
            pub fn main() {
                #[allow(dead_code, unused_variables)]
                unsafe fn __daemon_main<T: Copy>(listener: TcpListener) -> u8
                where
                    T: Send,
                {
                    #![allow(unused)]
                    work(listener)
                }
            }
        };
        assert_eq!(expanded, expected.to_string());
    }

    #[test]
    fn an_async_main_keeps_its_runtime_on_the_inner_function() {
        let expanded = fallback(quote!(
            #[doc = "x"]
            #[tokio::main]
            #[tracing::instrument]
            async fn main(port: u16) {
                serve(port).await
            }
        ));
        let expected = quote! {
            #[doc = "x"]
            fn main() {
                #[allow(dead_code, unused_variables)]
                #[tokio::main]
                #[tracing::instrument]
                async fn __daemon_main(port: u16) {
                    serve(port).await
                }
            }
        };
        assert_eq!(expanded, expected.to_string());
    }

    #[test]
    fn the_inner_function_is_valid_rust() {
        let expanded = main(
            item::parse(quote!(
                async unsafe fn main<T>(x: T) {}
            ))
            .unwrap(),
        );
        let file: syn::File = syn::parse2(expanded.clone()).unwrap();
        let syn::Item::Fn(outer) = &file.items[0] else { panic!("{expanded}") };
        let [syn::Stmt::Item(syn::Item::Fn(inner))] = &outer.block.stmts[..] else { panic!("{expanded}") };
        assert!(inner.sig.asyncness.is_some() && matches!(inner.sig.safety, syn::Safety::Unsafe(_)));
    }

    #[test]
    fn a_function_not_named_main_is_kept() {
        let item = quote!(
            fn run(x: u8) -> u8 {
                x
            }
        );
        assert_eq!(fallback(item.clone()), item.to_string());
    }
}
