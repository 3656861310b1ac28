//! Support for `#[authorization_server]`: the static settings the macro
//! writes out, and the functions its generated items call.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use axum::Router;
pub use axum::response::Response;

use crate::host::ClientLookup;
use crate::jose::{Algorithm, AlgorithmSet, Keystore};
use crate::secret::Secret;
use crate::server::{
    AuthorizationServer, AuthorizationServerBuilder, ConfigError, GrantType, Host, NoncePolicy,
    ServerConfig, SetupError,
};
use crate::store::Stores;

/// The settings of one `#[authorization_server(...)]`, already checked at
/// compile time. Every field is written out by the macro.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// `prefix`, when given.
    pub prefix: Option<&'static str>,
    /// `paths(...)` overrides: endpoint name, path.
    pub paths: &'static [(&'static str, &'static str)],
    /// `scopes`, when given.
    pub scopes: Option<&'static [&'static str]>,
    /// `registration(default_scopes = [...])`.
    pub default_scopes: &'static [&'static str],
    /// `grants`, when given, by name.
    pub grants: Option<&'static [&'static str]>,
    /// Whether DPoP is on.
    pub dpop: bool,
    /// DPoP proof algorithms, when given, by name.
    pub dpop_algorithms: Option<&'static [&'static str]>,
    /// Whether a DPoP nonce is required at the token endpoint.
    pub dpop_nonce_required: bool,
    /// The ID-token signing algorithm, when given, by name.
    pub id_token_signing_alg: Option<&'static str>,
    /// Further ID-token algorithms clients may register, by name.
    pub id_token_extra_algs: &'static [&'static str],
    /// Whether open registration is mounted.
    pub registration: bool,
    /// Access-token lifetime in seconds.
    pub access_token_ttl: Option<u64>,
    /// Refresh-token lifetime in seconds.
    pub refresh_token_ttl: Option<u64>,
    /// Refresh grace window in seconds.
    pub refresh_grace: Option<u64>,
    /// Code lifetime in seconds.
    pub code_ttl: Option<u64>,
    /// The default resource: an absolute URL, or a path joined to the issuer.
    pub default_resource: Option<&'static str>,
}

/// The [`ServerConfig`] of `spec` for `issuer`. The rules were checked at
/// compile time; the builder checks them again with the issuer, which is
/// known only now.
///
/// # Errors
/// A [`ConfigError`], in practice only for the issuer.
pub fn server_config(issuer: &str, spec: &Spec) -> Result<ServerConfig, ConfigError> {
    let issuer = issuer.trim_end_matches('/');
    let mut b = ServerConfig::builder(issuer);
    if let Some(prefix) = spec.prefix {
        b = b.prefix(prefix);
    }
    if !spec.paths.is_empty() {
        let mut paths = b.current_paths();
        for (name, path) in spec.paths {
            paths.set(name, path)?;
        }
        b = b.paths(paths);
    }
    if let Some(scopes) = spec.scopes {
        b = b.scopes(scopes.iter().copied());
    }
    b = b.registration_default_scopes(spec.default_scopes.iter().copied());
    if let Some(grants) = spec.grants {
        let mut out = Vec::with_capacity(grants.len());
        for g in grants {
            out.push(GrantType::parse(g).ok_or(ConfigError::NotYetSupported("this grant type"))?);
        }
        b = b.grants(out);
    }
    let mut dpop = b.current_dpop();
    dpop.enabled = spec.dpop;
    if let Some(names) = spec.dpop_algorithms {
        let algs = algorithms(names)?;
        dpop.algorithms = AlgorithmSet::new(&algs);
    }
    dpop.nonce = if spec.dpop_nonce_required {
        NoncePolicy::Required
    } else {
        NoncePolicy::Off
    };
    b = b.dpop(dpop).registration(spec.registration);
    if let Some(n) = spec.id_token_signing_alg {
        b = b.id_token_signing_alg(algorithm(n)?);
    }
    b = b.id_token_extra_algs(algorithms(spec.id_token_extra_algs)?);
    if let Some(s) = spec.access_token_ttl {
        b = b.access_token_ttl(Duration::from_secs(s));
    }
    if let Some(s) = spec.refresh_token_ttl {
        b = b.refresh_token_ttl(Duration::from_secs(s));
    }
    if let Some(s) = spec.refresh_grace {
        b = b.refresh_grace(Duration::from_secs(s));
    }
    if let Some(s) = spec.code_ttl {
        b = b.code_ttl(Duration::from_secs(s));
    }
    if let Some(r) = spec.default_resource {
        b = b.default_resource(if r.starts_with('/') {
            format!("{issuer}{r}")
        } else {
            r.to_owned()
        });
    }
    b.build()
}

/// An algorithm named in the settings (checked at compile time already).
fn algorithm(name: &str) -> Result<Algorithm, ConfigError> {
    name.parse::<Algorithm>()
        .map_err(|_| ConfigError::UnknownAlgorithm(name.to_owned()))
}

fn algorithms(names: &[&str]) -> Result<Vec<Algorithm>, ConfigError> {
    names.iter().map(|n| algorithm(n)).collect()
}

/// The discovery document (RFC 8414 + OIDC) of `spec` for `issuer`.
///
/// # Errors
/// As [`server_config`].
pub fn discovery_metadata(issuer: &str, spec: &Spec) -> Result<serde_json::Value, ConfigError> {
    let cfg = server_config(issuer, spec)?;
    Ok(serde_json::Value::Object(
        crate::server::metadata::authorization_server_metadata(&cfg),
    ))
}

/// A server builder for `host`.
///
/// # Errors
/// As [`server_config`].
pub fn server_builder<H: Host, S: Stores>(
    host: H,
    issuer: &str,
    spec: &Spec,
    stores: S,
    keys: Arc<dyn Keystore>,
) -> Result<AuthorizationServerBuilder<H, S>, ConfigError> {
    Ok(AuthorizationServer::builder(
        server_config(issuer, spec)?,
        host,
        stores,
        keys,
    ))
}

/// The whole router for `host`.
///
/// # Errors
/// A [`SetupError`] for the configuration or the server build.
pub fn router<H: Host, S: Stores, St: Clone + Send + Sync + 'static>(
    host: H,
    issuer: &str,
    spec: &Spec,
    stores: S,
    keys: Arc<dyn Keystore>,
    secret: Secret,
) -> Result<Router<St>, SetupError> {
    let server = server_builder(host, issuer, spec, stores, keys)?
        .server_secret(secret)
        .build()?;
    Ok(server.router())
}

/// What a host's `find_client` may return inside its `Result`.
#[diagnostic::on_unimplemented(
    message = "`find_client` must return `Result<Option<Client>, E>` or `Result<ClientLookup<Client>, E>`",
    label = "this is not an `Option<Client>` or a `ClientLookup<Client>`"
)]
pub trait IntoClientLookup<C> {
    /// Convert.
    fn into_lookup(self) -> ClientLookup<C>;
}

impl<C> IntoClientLookup<C> for Option<C> {
    fn into_lookup(self) -> ClientLookup<C> {
        match self {
            Some(c) => ClientLookup::Found(c),
            None => ClientLookup::NotFound,
        }
    }
}

impl<C> IntoClientLookup<C> for ClientLookup<C> {
    fn into_lookup(self) -> ClientLookup<C> {
        self
    }
}

/// Await a host's `find_client` and convert its answer.
pub async fn client_lookup<C, E, T: IntoClientLookup<C>>(
    fut: impl Future<Output = Result<T, E>>,
) -> Result<ClientLookup<C>, E> {
    fut.await.map(IntoClientLookup::into_lookup)
}

/// Lift a synchronous answer into the async trait method.
pub fn ready<T>(value: T) -> std::future::Ready<T> {
    std::future::ready(value)
}
