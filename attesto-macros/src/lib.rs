//! Procedural macros for [attesto](https://docs.rs/attesto).
//!
//! The derives (`OAuthClient`, `Principal`) and the `#[authorization_server]`
//! attribute are tracked in the macros issue; this crate is the placeholder
//! that reserves the crate name and the workspace slot.
