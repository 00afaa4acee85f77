//! stub
use proc_macro::TokenStream;
/// stub
#[proc_macro_attribute]
pub fn daemon(_args: TokenStream, item: TokenStream) -> TokenStream { item }
