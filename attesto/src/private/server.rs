//! Support for `#[authorization_server]`.
