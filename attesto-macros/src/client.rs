//! `#[derive(...)]` for the client contract (in progress).

use proc_macro2::TokenStream;

pub(crate) fn expand(input: syn::DeriveInput) -> TokenStream {
    syn::Error::new_spanned(&input.ident, "this derive is being written").into_compile_error()
}
