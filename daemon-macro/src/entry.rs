//! The attribute from end to end: parse, validate, expand, or fall back.

use proc_macro2::TokenStream;

use crate::errors::Errors;
use crate::{args, expand, fallback, item, signature, validate};

/// Expands `#[daemon(args)] item`.
///
/// Never fails: on any error the output is one `compile_error!` per problem
/// and, for a function, the user's body in a neutral `fn main()`
/// ([`fallback::main`]), so that rustc adds no error of its own about the
/// same mistake, and rust-analyzer still completes inside the body. An item
/// that is not a function is kept as written.
pub(crate) fn daemon(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = args::parse(args, &mut errors);
    // Whether `main` may take an argument depends on the key being there,
    // not on its value being right: a bad `init` gets one error, on itself.
    let init = args.init.is_some();
    let config = validate::config(args, &mut errors);
    let main = match item::parse(item.clone()) {
        Ok(main) => {
            signature::signature(&main, init, &mut errors);
            Some(main)
        }
        Err(error) => {
            errors.push(error);
            None
        }
    };
    match (errors.into_result(), main) {
        (Ok(()), Some(main)) => expand::main(&config, main),
        (result, main) => {
            let mut output = main.map_or(item, fallback::main);
            if let Err(error) = result {
                output.extend(error.into_compile_error());
            }
            output
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::{ToTokens, quote};

    use super::daemon;

    fn messages(output: &proc_macro2::TokenStream) -> Vec<String> {
        let file: syn::File = syn::parse2(output.clone()).unwrap();
        file.items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Macro(m) if m.mac.path.segments.last().unwrap().ident == "compile_error" => {
                    Some(m.mac.parse_body::<syn::LitStr>().unwrap().value())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn valid_input_has_no_errors() {
        let output = daemon(
            quote!(umask = 0o027),
            quote!(
                fn main() {}
            ),
        );
        assert!(messages(&output).is_empty());
        assert!(output.to_string().contains("__daemon_running"));
    }

    #[test]
    fn errors_keep_the_item_and_report_everything() {
        let item = quote!(
            fn run(x: u8) {}
        );
        let output = daemon(quote!(umsk = 1, chdir = "tmp"), item.clone());
        assert!(output.to_string().starts_with(&item.to_string()));
        assert_eq!(
            messages(&output),
            [
                "unknown `#[daemon]` key `umsk`; did you mean `umask`?",
                "`chdir` must be an absolute path, starting with `/`",
                "`#[daemon]` can only be used on `fn main`",
                "`fn main` takes an argument only with `init = ...`, which produces it",
            ]
        );
    }

    #[test]
    fn a_refused_main_becomes_a_neutral_main_holding_the_body() {
        let output = daemon(
            quote!(),
            quote!(
                async fn main(port: u16) {
                    serve(port).await
                }
            ),
        );
        let file: syn::File = syn::parse2(output.clone()).unwrap();
        let syn::Item::Fn(main) = &file.items[0] else { panic!("{output}") };
        assert_eq!(main.sig.to_token_stream().to_string(), "fn main ()");
        assert!(output.to_string().contains("async fn __daemon_main (port : u16) { serve (port) . await }"));
        assert_eq!(messages(&output).len(), 2, "{output}");
    }

    #[test]
    fn errors_come_in_the_order_of_the_keys() {
        let output = daemon(
            quote!(umask = 0o1000, umsk = 1, keep_fds = [3], close_fds = false, umask = 1),
            quote!(
                fn main() {}
            ),
        );
        assert_eq!(
            messages(&output),
            [
                "`umask` must be an octal integer in 0..=0o777",
                "unknown `#[daemon]` key `umsk`; did you mean `umask`?",
                "`keep_fds` has no effect with `close_fds = false`, \
                 which keeps every descriptor open",
                "`umask` set multiple times",
            ]
        );
    }

    #[test]
    fn a_bad_init_value_is_one_error_not_two() {
        let output = daemon(
            quote!(init = bind()),
            quote!(
                fn main(listener: TcpListener) {}
            ),
        );
        assert_eq!(messages(&output), ["`init` expects a path to a function, like `init = bind_listener`"]);
    }

    #[test]
    fn a_struct_is_refused_and_kept() {
        let output = daemon(
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert!(output.to_string().starts_with("struct S ;"));
        assert_eq!(messages(&output), ["`#[daemon]` can only be used on `fn main`"]);
    }
}
