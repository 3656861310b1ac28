//! # attesto
//!
//! attesto turns an application's own types into a complete,
//! standards-conformant OAuth 2.0 / OpenID Connect authorization server.
//!
//! This crate is the protocol core: pure functions over typed inputs, with
//! time ([`clock`]) and randomness ([`secret::RandomSource`]) injected so that
//! every check is exact under test. It does no I/O of its own; the HTTP
//! endpoints and persistence build on it.
//!
//! | module | what it covers |
//! |---|---|
//! | [`jose`] | algorithms, JWKs, keystores with rotation, JWS sign/verify with an allow-list |
//! | [`token`] | RFC 9068 access tokens and OpenID Connect ID tokens |
//! | [`pkce`] | RFC 7636 (S256 only) |
//! | [`scope`] | scope sets, catalogs with wildcards, narrowing |
//! | [`dpop`] | RFC 9449 proofs, nonces and replay |
//! | [`mtls`] | RFC 8705 certificate-bound tokens |
//! | [`client_auth`] | RFC 6749 §2.3 client authentication, RFC 7523 assertions |
//! | [`error`] | RFC 6749 §5.2 / RFC 6750 §3 / RFC 9449 errors and how to render them |
//! | [`store`] | store traits with atomic contracts, in-memory implementations |
//! | [`host`] | the traits a host implements (clients, principals, policy) |
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod clock;
pub mod config;
pub mod form;
pub mod secret;

pub mod jose;

pub mod client_auth;
pub mod dpop;
pub mod error;
pub mod host;
pub mod mtls;
pub mod pkce;
pub mod scope;
#[cfg(feature = "axum")]
pub mod server;
pub mod store;
pub mod token;

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;

#[cfg(feature = "macros")]
#[doc = include_str!("docs/derive_oauth_client.md")]
pub use attesto_macros::OAuthClient;
#[cfg(feature = "macros")]
#[doc = include_str!("docs/derive_principal.md")]
pub use attesto_macros::Principal;
#[cfg(all(feature = "macros", feature = "axum"))]
#[doc = include_str!("docs/authorization_server.md")]
pub use attesto_macros::authorization_server;
