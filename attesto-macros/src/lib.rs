//! Procedural macros for [attesto](https://docs.rs/attesto), re-exported by
//! `attesto` (feature `macros`, on by default): use them as
//! `attesto::OAuthClient`, `attesto::Principal` and
//! `attesto::authorization_server`.
//!
//! Every macro is sugar over public traits (`attesto::host::OAuthClient`,
//! `attesto::host::Principal`, the `attesto::server::Host` parts): a host can
//! implement each by hand instead. Generated code reaches the runtime only
//! through the hidden `::attesto::__private` module.

mod client;
mod derive_util;
mod principal;
mod server;

use proc_macro::TokenStream;

/// Derive `attesto::host::OAuthClient` for a host's client model.
///
/// The full documentation, with compiling examples of every field
/// attribute, is on the re-export `attesto::OAuthClient` (a proc-macro
/// crate's doctests cannot use `attesto`).
#[proc_macro_derive(OAuthClient, attributes(attesto))]
pub fn derive_oauth_client(input: TokenStream) -> TokenStream {
    client::expand(syn::parse_macro_input!(input as syn::DeriveInput)).into()
}

/// Derive `attesto::host::Principal` for a host's user model.
///
/// The full documentation, with compiling examples, is on the re-export
/// `attesto::Principal`.
#[proc_macro_derive(Principal, attributes(attesto))]
pub fn derive_principal(input: TokenStream) -> TokenStream {
    principal::expand(syn::parse_macro_input!(input as syn::DeriveInput)).into()
}

/// Turn one impl block into an authorization server.
#[proc_macro_attribute]
pub fn authorization_server(args: TokenStream, item: TokenStream) -> TokenStream {
    server::expand(args.into(), item.into()).into()
}
