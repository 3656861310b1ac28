//! Support for `#[derive(OAuthClient)]` and `#[derive(Principal)]`.
