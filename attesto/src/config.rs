//! Configuration rules shared by the runtime builder and the
//! `#[authorization_server]` macro. They live in the `attesto-rules` crate so
//! the macro can run exactly the same checks at compile time; this module
//! re-exports them.

pub use attesto_rules::{IssuerError, PathError, is_loopback_host, validate_issuer, validate_path};
