//! The attribute from end to end: parse, validate, expand, or fall back.

use proc_macro2::TokenStream;

use crate::{args, expand, item, signature, validate};

/// Expands `#[daemon(args)] item`.
///
/// Never fails: on any error the output is the user's item, untouched, followed
/// by one `compile_error!` per problem. Keeping the item (as `tokio-macros`
/// does) lets rust-analyzer still complete inside `main`, and spares the user
/// follow-on errors about a missing `main` or names the body cannot find.
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
        (result, _) => {
            let mut output = item;
            if let Err(error) = result {
                output.extend(error.into_compile_error());
            }
            output
        }
    }
}

/// Every error found so far, so that one build reports all of them, in the
/// order of the tokens they point at: errors about the attribute's keys
/// carry the key's position (`args::Arg::position`), and sort before the
/// errors about the function.
#[derive(Default)]
pub(crate) struct Errors(Vec<(usize, syn::Error)>);

impl Errors {
    /// An error about the function, reported after those about the keys.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.push_at(usize::MAX, error);
    }

    /// An error about the key at `position` in the attribute.
    pub(crate) fn push_at(&mut self, position: usize, error: syn::Error) {
        self.0.push((position, error));
    }

    pub(crate) fn into_result(mut self) -> syn::Result<()> {
        // Stable: errors about the same key keep the order they were found in.
        self.0.sort_by_key(|&(position, _)| position);
        let mut errors = self.0.into_iter().map(|(_, error)| error);
        let Some(mut all) = errors.next() else {
            return Ok(());
        };
        all.extend(errors);
        Err(all)
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

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
