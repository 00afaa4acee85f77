//! Hostile input for the whole macro: random attribute arguments on a set of
//! items, fed to [`entry::daemon`](crate::entry::daemon) as `rustc` would.
//!
//! 5,000 cases from the fixed seed [`SEED`] (a deterministic xorshift
//! generator, so a failure replays; the case number is in the message; about
//! 0.8 s in a debug build). Half the arguments are token soup; a quarter are
//! `key = value` lists with real keys and values right or wrong; a quarter
//! are a few distinct keys with values they accept, so that cases get past
//! validation into expansion. Tokens: every key, other idents, keywords and
//! raw idents, literals of every kind (huge and suffixed integers, floats,
//! escaped, raw, byte and C strings, chars), paths, arrays, the three
//! delimiters nested, invisible groups as `macro_rules!` leaves them, doc
//! comments and punctuation. Half the items are ones the attribute may
//! accept (`fn main`, `async fn main` under `#[tokio::main]`, with or
//! without an argument); the others it must refuse (generic, `const`,
//! `unsafe extern`, two arguments, `self`, a struct, an impl, ...).
//!
//! For every case: the macro does not panic; its output parses as a file;
//! an accepted item becomes a `fn main()` that takes nothing and is not
//! `async`; a refused `fn main` becomes a neutral `fn main()` holding its
//! body, any other refused item is kept unchanged, and either is followed
//! by `compile_error!` invocations only, each spanned on a token of the
//! input, never on the
//! attribute as a whole, unless the input ended where a token was expected.
//!
//! Tokens are lexed from text, so that they carry positions
//! (`proc-macro2`'s `span-locations`, enabled for this crate's tests only):
//! a call-site span is then told apart from a token's span.

use std::panic::{AssertUnwindSafe, catch_unwind};

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};

use crate::args::KEYS;
use crate::entry;

const SEED: u64 = 0x5eed_da3e_0f00_d1e5;
const CASES: usize = 5_000;

/// xorshift64*: small, fast and good enough to pick tokens.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const IDENTS: &[&str] = &[
    "umsk",
    "pidfile",
    "verbose",
    "x",
    "_",
    "self",
    "Self",
    "super",
    "crate",
    "r#ready",
    "r#umask",
    "fn",
    "let",
    "async",
    "true",
    "false",
    "main",
    "bind",
    "std",
    "dir",
    "ünïcode",
    "r#type",
    "init_",
    "Init",
];

const LITERALS: &[&str] = &[
    "0",
    "3",
    "0o027",
    "0o777",
    "0o1000",
    "022",
    "089",
    "65534",
    "4294967296",
    "99999999999999999999999999999999999999999999",
    "340282366920938463463374607431768211456u128",
    "0x_FF",
    "0b101i32",
    "1_000u32",
    "7u8",
    "2147483648",
    "1.5",
    "1e400",
    "2.0f32",
    "\"\"",
    "\"/\"",
    "\"/run/x.pid\"",
    "\"/run/\"",
    "\"relative\"",
    "\"\\0\"",
    "\"/a\\0b\"",
    "\"a\\nb\"",
    "\"\\u{10FFFF}\"",
    "\"日本語\"",
    "r#\"raw \"quoted\"\"#",
    "\"30s\"",
    "\"0ms\"",
    "\"1.5s\"",
    "\"18446744073709551616ms\"",
    "\"manual\"",
    "\"auto\"",
    "\"nobody\"",
    "\"www:www\"",
    "\"::daemon_runtime\"",
    "\"not a path!\"",
    "\"a::<T>\"",
    "b\"/x\"",
    "c\"/x\"",
    "'x'",
    "'\\''",
    "b'a'",
    "true",
    "false",
];

const PUNCTS: &[&str] = &[
    "=", "=", ",", ",", "::", ":", ";", "-", "!", "#", ".", "..", "<", ">", "&", "|", "+", "*", "/", "?",
    "@", "=>", "->", "~", "$", "%", "'a",
];

/// A value that the key accepts, so that the case reaches expansion.
fn good_value(key: &str) -> &'static str {
    match key {
        "umask" => "0o027",
        "chdir" | "chroot" => "\"/srv\"",
        "pid_file" => "std::env::temp_dir().join(\"x.pid\")",
        "keep_fds" => "[3, 4]",
        "user" => "\"nobody\"",
        "group" => "65534",
        "stdout" | "stderr" => "\"/var/log/myd.log\"",
        "ready" => "\"manual\"",
        "ready_timeout" => "\"30s\"",
        "foreground" => "cli.foreground",
        "init" => "net::bind",
        "close_fds" => "true",
        "crate" => "\"::daemon_runtime\"",
        _ => "false",
    }
}

/// Random tokens as text, separated by spaces so that they lex as written;
/// groups are balanced.
fn soup(rng: &mut Rng, text: &mut String, len: usize, depth: usize) {
    for _ in 0..len {
        match rng.below(10) {
            0..=2 => text.push_str(rng.pick(KEYS)),
            3 => text.push_str(rng.pick(IDENTS)),
            4 | 5 => text.push_str(rng.pick(LITERALS)),
            6 | 7 => text.push_str(rng.pick(PUNCTS)),
            8 if depth < 3 => {
                let (open, close) = [("(", ")"), ("[", "]"), ("{", "}")][rng.below(3)];
                text.push_str(open);
                let inner = rng.below(4);
                soup(rng, text, inner, depth + 1);
                text.push_str(close);
            }
            _ => text.push_str(["a::b", "::std::x", "crate::x", "<T as U>::f", "/// doc\n"][rng.below(5)]),
        }
        text.push(' ');
    }
}

/// A value for a key: one the key accepts, a plausible wrong one, or soup.
fn value(rng: &mut Rng, key: &str, text: &mut String) {
    match rng.below(6) {
        0..=2 => text.push_str(good_value(key)),
        3 => text.push_str(rng.pick(LITERALS)),
        4 => {
            let (before, after) = [("-", ""), ("[", "]"), ("[3,", "]"), ("!", ""), ("&", "")][rng.below(5)];
            text.push_str(&format!("{before} {} {after}", rng.pick(LITERALS)));
        }
        _ => {
            let len = 1 + rng.below(4);
            soup(rng, text, len, 1);
        }
    }
    text.push(' ');
}

/// Random tokens, `key = value, ...` with real keys and any values, or a
/// few distinct keys with values they accept.
fn arguments(rng: &mut Rng) -> String {
    let mut text = String::new();
    match rng.below(4) {
        0 | 1 => {
            let len = rng.below(13);
            soup(rng, &mut text, len, 0);
        }
        2 => {
            for _ in 0..rng.below(6) {
                let key = if rng.chance(85) { rng.pick(KEYS) } else { rng.pick(IDENTS) };
                text.push_str(key);
                text.push(' ');
                match rng.below(10) {
                    0 => {}
                    1 => text.push_str("( 1 ) "),
                    _ => {
                        text.push_str("= ");
                        value(rng, key, &mut text);
                    }
                }
                text.push_str(["", ", , ", ", ", ", ", ", "][rng.below(5)]);
            }
        }
        _ => {
            let mut keys = Vec::new();
            for _ in 0..rng.below(5) {
                let key = rng.pick(KEYS);
                if !keys.contains(&key) {
                    keys.push(key);
                    text.push_str(&format!("{key} = {}, ", good_value(key)));
                }
            }
        }
    }
    text
}

/// Wraps some `= value`s in invisible groups, as a `$value:expr` of
/// `macro_rules!` arrives.
fn regroup(rng: &mut Rng, tokens: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        let is_eq = matches!(&token, TokenTree::Punct(p) if p.as_char() == '=');
        out.push(token);
        if is_eq && rng.chance(20) {
            let Some(first) = tokens.next() else { break };
            let span = first.span();
            let mut inner = vec![first];
            while let Some(next) = tokens.next_if(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
            {
                inner.push(next);
            }
            let mut group = Group::new(Delimiter::None, inner.into_iter().collect());
            group.set_span(span);
            out.push(TokenTree::Group(group));
        }
    }
    out.into_iter().collect()
}

/// Whether the attribute may accept the item.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Accepts {
    Always,
    WithInit,
    Never,
}

const ITEMS: &[(&str, Accepts)] = &[
    ("fn main() {}", Accepts::Always),
    ("/// Docs.\npub fn main() -> Result<(), String> { #![allow(unused)] Ok(()) }", Accepts::Always),
    ("#[tokio::main] async fn main() -> std::io::Result<()> { Ok(()) }", Accepts::Always),
    ("fn main(listener: std::net::TcpListener) { drop(listener); }", Accepts::WithInit),
    ("#[tokio::main] async fn main(mut x: u8) { x += 1; }", Accepts::WithInit),
    ("fn main(a: u8, b: u16) {}", Accepts::Never),
    ("fn main(self) {}", Accepts::Never),
    ("async fn main() {}", Accepts::Never),
    ("fn main<T>() {}", Accepts::Never),
    ("fn main() where u8: Copy {}", Accepts::Never),
    ("const fn main() {}", Accepts::Never),
    ("unsafe extern \"C\" fn main() {}", Accepts::Never),
    ("fn run() {}", Accepts::Never),
    ("#[daemon] fn main() {}", Accepts::Never),
    ("struct S;", Accepts::Never),
    ("pub struct Config { a: u8 }", Accepts::Never),
    ("impl X { fn main() {} }", Accepts::Never),
    ("async unsafe fn main<T>(x: T) -> u8 where T: Copy { 0 }", Accepts::Never),
    // What `#[tokio::main]` written above `#[daemon]` hands on.
    ("fn main(x: u8) { let body = async { x }; block_on(body) }", Accepts::Never),
];

#[test]
fn random_arguments_never_panic_and_every_error_is_spanned() {
    let mut rng = Rng(SEED);
    for case in 0..CASES {
        let text = arguments(&mut rng);
        let args: TokenStream = text.parse().unwrap_or_else(|e| panic!("case {case}: {text:?}: {e}"));
        let args = regroup(&mut rng, args);
        // Half the time one of the items that may be accepted, listed first.
        let choices = if rng.chance(50) { 5 } else { ITEMS.len() };
        let (item_text, accepts) = ITEMS[rng.below(choices)];
        let item: TokenStream = item_text.parse().unwrap();
        let context = format!("case {case}: #[daemon({text})] {item_text}");

        let output = catch_unwind(AssertUnwindSafe(|| entry::daemon(args.clone(), item.clone())))
            .unwrap_or_else(|_| panic!("{context}: the macro panicked"));
        let file: syn::File = syn::parse2(output.clone())
            .unwrap_or_else(|e| panic!("{context}: output does not parse ({e}): {output}"));
        let (errors, items): (Vec<_>, Vec<_>) = file.items.into_iter().partition(|item| {
            matches!(item, syn::Item::Macro(m) if m.mac.path.segments.last().unwrap().ident == "compile_error")
        });

        if errors.is_empty() {
            let init =
                args.to_string().split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == "init");
            let allowed = accepts == Accepts::Always || (accepts == Accepts::WithInit && init);
            assert!(allowed, "{context}: accepted: {output}");
            let [syn::Item::Fn(main)] = &items[..] else { panic!("{context}: not one fn: {output}") };
            assert_eq!(main.sig.ident, "main", "{context}");
            assert!(main.sig.inputs.is_empty() && main.sig.asyncness.is_none(), "{context}: {output}");
            continue;
        }
        assert_eq!(items.len(), 1, "{context}: {output}");
        match syn::parse2::<syn::ItemFn>(item.clone()) {
            // A refused `main`: the neutral one, holding the body.
            Ok(refused) if refused.sig.ident == "main" => {
                let syn::Item::Fn(main) = &items[0] else { panic!("{context}: not a fn: {output}") };
                let sig = quote::ToTokens::to_token_stream(&main.sig).to_string();
                assert_eq!(sig, "fn main ()", "{context}: {output}");
                let body =
                    refused.block.stmts.iter().map(|stmt| quote::ToTokens::to_token_stream(stmt).to_string());
                for stmt in body {
                    assert!(output.to_string().contains(&stmt), "{context}: the body is lost: {output}");
                }
            }
            _ => assert!(
                output.to_string().starts_with(&item.to_string()),
                "{context}: the item is not kept: {output}"
            ),
        }
        for error in errors {
            let syn::Item::Macro(mac) = error else { unreachable!() };
            let message = mac.mac.parse_body::<syn::LitStr>().unwrap_or_else(|e| panic!("{context}: {e}"));
            let message = message.value();
            assert!(!message.is_empty(), "{context}");
            let span = mac.mac.path.segments.last().unwrap().ident.span();
            assert!(
                span.byte_range() != (0..0) || message.starts_with("unexpected end of input"),
                "{context}: error at the call site: {message}"
            );
        }
    }
}
