//! `#[authorization_server(...)]` (in progress).

use proc_macro2::TokenStream;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let _ = args;
    let mut out = syn::Error::new(
        proc_macro2::Span::call_site(),
        "this attribute is being written",
    )
    .into_compile_error();
    out.extend(item);
    out
}
