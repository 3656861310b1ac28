//! The authorization server over axum.
//!
//! [`ServerConfig`] is the single source from which routes are mounted and
//! discovery metadata is advertised. Endpoints are thin adapters over the
//! protocol core: parse the HTTP request into typed input, call the core,
//! render the typed outcome.

pub mod config;
pub mod metadata;

pub use config::{
    ConfigError, DpopSettings, EndpointPaths, GrantType, NoncePolicy, ServerConfig,
    ServerConfigBuilder,
};
