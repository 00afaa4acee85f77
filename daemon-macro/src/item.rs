//! Reading the function the attribute is on.
//!
//! Only the signature is parsed. The body stays tokens, as in `tokio-macros`:
//! it is passed through untouched, it may use syntax this version of `syn`
//! does not know, and while the user types it need not be valid yet.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Attribute, Signature, Token, Visibility, braced, token};

/// A function: `#[attrs] vis sig { #![inner_attrs] body }`.
pub(crate) struct MainFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) brace: token::Brace,
    /// Inner attributes must stay first in the body, before the statement
    /// the expansion inserts, so they are kept apart from it.
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) body: TokenStream,
}

impl Parse for MainFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let content;
        let brace = braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let body = content.parse()?;
        Ok(MainFn { attrs, vis, sig, brace, inner_attrs, body })
    }
}

impl MainFn {
    /// The index of the async runtime's attribute (`#[tokio::main]`, or any
    /// path whose last segment is `main`), if the function has one.
    pub(crate) fn runtime_attr(&self) -> Option<usize> {
        self.attrs.iter().position(|attr| {
            let segments = &attr.path().segments;
            segments.last().is_some_and(|last| last.ident == "main")
        })
    }

    /// Where `#[tokio::main]` was written, when it was written above
    /// `#[daemon]` and has already rewritten `main`.
    ///
    /// The attribute then sees a synchronous `main` whose body tokio made:
    /// `let body = async { ... }; ... block_on(body)`, its tokens spanned on
    /// `#[tokio::main]`. (A `main` with an argument has also had tokio's own
    /// "the main function cannot accept arguments", without the reason.)
    pub(crate) fn runtime_expansion(&self) -> Option<Span> {
        if self.sig.asyncness.is_some() {
            return None;
        }
        let start: Vec<TokenTree> = self.body.clone().into_iter().take(4).collect();
        match &start[..] {
            [
                TokenTree::Ident(tokio_let),
                TokenTree::Ident(body),
                TokenTree::Punct(eq),
                TokenTree::Ident(async_),
            ] if tokio_let == "let" && body == "body" && eq.as_char() == '=' && async_ == "async" => {
                Some(tokio_let.span())
            }
            _ => None,
        }
    }
}

/// Whether the attribute is `#[daemon]`, under any path (`#[daemon_runtime::daemon]`).
pub(crate) fn is_daemon(attr: &Attribute) -> bool {
    attr.path().segments.last().is_some_and(|last| last.ident == "daemon")
}

/// Parses the item, or explains why it is not a function.
pub(crate) fn parse(item: TokenStream) -> syn::Result<MainFn> {
    syn::parse2(item.clone()).map_err(|error| match header.parse2(item) {
        // A function syn cannot read: its own error is the useful one.
        Ok(header) if !is_fn(&header) => {
            syn::Error::new_spanned(header, "`#[daemon]` can only be used on `fn main`")
        }
        _ => error,
    })
}

/// The item's tokens after its attributes, up to its body or `;`: what the
/// error on a non-function underlines (`pub struct Config`, not every field).
fn header(input: ParseStream) -> syn::Result<TokenStream> {
    input.call(Attribute::parse_outer)?;
    let mut header = TokenStream::new();
    while !input.is_empty() && !input.peek(token::Brace) && !input.peek(Token![;]) {
        header.extend([input.parse::<TokenTree>()?]);
    }
    if header.is_empty() {
        // `;` alone, or a bare block: underline that instead of nothing.
        header = input.parse()?;
    } else {
        input.parse::<TokenStream>()?;
    }
    Ok(header)
}

fn is_fn(header: &TokenStream) -> bool {
    header.clone().into_iter().any(|token| matches!(token, TokenTree::Ident(ident) if ident == "fn"))
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    #[test]
    fn splits_a_function() {
        let main = parse(quote!(
            /// Docs.
            #[tokio::main]
            pub async fn main() -> std::process::ExitCode {
                #![allow(unused)]
                let x = 1;
                work(x)
            }
        ))
        .unwrap();
        assert_eq!(main.attrs.len(), 2);
        assert_eq!(main.runtime_attr(), Some(1));
        assert!(matches!(main.vis, Visibility::Public(_)));
        assert_eq!(main.sig.ident, "main");
        assert!(main.sig.asyncness.is_some());
        assert_eq!(main.inner_attrs.len(), 1);
        assert_eq!(main.body.to_string(), "let x = 1 ; work (x)");
    }

    #[test]
    fn the_body_is_not_parsed() {
        let main = parse(quote!(
            fn main() {
                let = ;
            }
        ))
        .unwrap();
        assert_eq!(main.body.to_string(), "let = ;");
        assert_eq!(main.runtime_attr(), None);
    }

    #[test]
    fn non_functions_are_refused_on_their_header() {
        let error = parse(quote!(
            #[derive(Debug)]
            pub struct Config {
                a: u8,
            }
        ))
        .err()
        .unwrap();
        assert_eq!(error.to_string(), "`#[daemon]` can only be used on `fn main`");
        let error = parse(quote!(
            const X: u8 = 1;
        ))
        .err()
        .unwrap();
        assert_eq!(error.to_string(), "`#[daemon]` can only be used on `fn main`");
    }

    #[test]
    fn broken_functions_keep_syn_error() {
        let error = parse(quote!(
            fn main();
        ))
        .err()
        .unwrap();
        assert_eq!(error.to_string(), "expected curly braces");
    }
}
