//! The authorization server over axum.
//!
//! [`ServerConfig`] is the single source from which routes are mounted and
//! discovery metadata is advertised. Endpoints are thin adapters over the
//! protocol core: parse the HTTP request into typed input, call the core,
//! render the typed outcome. Errors become HTTP in exactly one place
//! (`impl IntoResponse for OAuthError`).

pub mod config;
pub mod interaction;
pub mod metadata;
mod response;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use config::{
    ConfigError, DpopSettings, EndpointPaths, GrantType, NoncePolicy, ServerConfig,
    ServerConfigBuilder,
};
pub use interaction::{AuthorizeContext, Interaction, ResourcePolicy};

use crate::clock::{Clock, SystemClock};
use crate::error::OAuthError;
use crate::host::{ClientRegistry, EventSink, NoopSink, PrincipalStore};
use crate::jose::Keystore;
use crate::secret::{OsRandom, RandomSource};
use crate::store::Stores;

/// Everything a host supplies: its client registry, principals, login and
/// consent, and resource policy. Implemented automatically for any type that
/// implements the parts.
pub trait Host: ClientRegistry + PrincipalStore + Interaction + ResourcePolicy {}

impl<T: ClientRegistry + PrincipalStore + Interaction + ResourcePolicy> Host for T {}

pub(crate) struct Inner<H, S> {
    pub(crate) cfg: ServerConfig,
    pub(crate) host: H,
    pub(crate) stores: S,
    pub(crate) keys: Arc<dyn Keystore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn RandomSource>,
    pub(crate) events: Arc<dyn EventSink>,
    discovery: Bytes,
    protected_resource: Bytes,
}

/// A configured authorization server. Cheap to clone.
pub struct AuthorizationServer<H, S> {
    inner: Arc<Inner<H, S>>,
}

impl<H, S> Clone for AuthorizationServer<H, S> {
    fn clone(&self) -> Self {
        AuthorizationServer {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// Builder for [`AuthorizationServer`].
pub struct AuthorizationServerBuilder<H, S> {
    cfg: ServerConfig,
    host: H,
    stores: S,
    keys: Arc<dyn Keystore>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn RandomSource>,
    events: Arc<dyn EventSink>,
}

impl<H: Host, S: Stores> AuthorizationServer<H, S> {
    /// Start building a server from its configuration, the host, the stores and the keys.
    pub fn builder(
        cfg: ServerConfig,
        host: H,
        stores: S,
        keys: Arc<dyn Keystore>,
    ) -> AuthorizationServerBuilder<H, S> {
        AuthorizationServerBuilder {
            cfg,
            host,
            stores,
            keys,
            clock: Arc::new(SystemClock),
            rng: Arc::new(OsRandom),
            events: Arc::new(NoopSink),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ServerConfig {
        &self.inner.cfg
    }

    /// The host.
    #[must_use]
    pub fn host(&self) -> &H {
        &self.inner.host
    }

    /// Every endpoint, discovery and JWKS, as a router hosts `.merge()` into
    /// their app. The `.well-known` documents are at the root (RFC 8615);
    /// the endpoints are under the configured prefix.
    pub fn router<St: Clone + Send + Sync + 'static>(&self) -> Router<St> {
        let cfg = &self.inner.cfg;
        let router: Router<Arc<Inner<H, S>>> = Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                get(discovery::<H, S>),
            )
            .route("/.well-known/openid-configuration", get(discovery::<H, S>))
            .route("/.well-known/jwks.json", get(jwks::<H, S>))
            .route(
                "/.well-known/oauth-protected-resource",
                get(protected_resource::<H, S>),
            );
        router
            .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
            .with_state(Arc::clone(&self.inner))
    }
}

impl<H: Host, S: Stores> AuthorizationServerBuilder<H, S> {
    /// Use another clock (tests).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Use another random source (tests).
    #[must_use]
    pub fn random(mut self, rng: Arc<dyn RandomSource>) -> Self {
        self.rng = rng;
        self
    }

    /// Send audit events to `sink`.
    #[must_use]
    pub fn events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = sink;
        self
    }

    /// Build the server. Metadata documents are serialized once, here.
    #[must_use]
    pub fn build(self) -> AuthorizationServer<H, S> {
        let discovery = serde_json::to_vec(&metadata::authorization_server_metadata(&self.cfg))
            .unwrap_or_default();
        let protected_resource =
            serde_json::to_vec(&metadata::protected_resource_metadata(&self.cfg))
                .unwrap_or_default();
        AuthorizationServer {
            inner: Arc::new(Inner {
                cfg: self.cfg,
                host: self.host,
                stores: self.stores,
                keys: self.keys,
                clock: self.clock,
                rng: self.rng,
                events: self.events,
                discovery: Bytes::from(discovery),
                protected_resource: Bytes::from(protected_resource),
            }),
        }
    }
}

async fn discovery<H: Host, S: Stores>(State(s): State<Arc<Inner<H, S>>>) -> Response {
    response::public_json(s.discovery.clone(), "application/json")
}

async fn protected_resource<H: Host, S: Stores>(State(s): State<Arc<Inner<H, S>>>) -> Response {
    response::public_json(s.protected_resource.clone(), "application/json")
}

async fn jwks<H: Host, S: Stores>(State(s): State<Arc<Inner<H, S>>>) -> Response {
    let doc = s.keys.jwks();
    response::public_json(
        Bytes::from(doc.json().to_owned()),
        "application/jwk-set+json",
    )
}

/// A backend failure: 503 with an OAuth error body; the cause goes to the log only.
pub(crate) fn unavailable(err: &dyn std::error::Error) -> Response {
    tracing::error!(target: "attesto::server", error = %err, "backend unavailable");
    OAuthError::new(crate::error::ErrorCode::TemporarilyUnavailable)
        .with_description("the server is temporarily unavailable")
        .into_response()
}
