//! The authorization server over axum.
//!
//! [`ServerConfig`] is the single source from which routes are mounted and
//! discovery metadata is advertised. Endpoints are thin adapters over the
//! protocol core: parse the HTTP request into typed input, call the core,
//! render the typed outcome. Errors become HTTP in exactly one place
//! (`impl IntoResponse for OAuthError`).
//!
//! # A host without the macro
//!
//! `#[authorization_server]` is sugar: a host can implement every [`Host`]
//! part by hand and build the [`ServerConfig`] itself. This is the same
//! server as the macro's example, written out:
//!
//! ```
//! use std::borrow::Cow;
//! use std::sync::Arc;
//! use attesto::host::{
//!     Authentication, ClientLookup, ClientRegistry, LoginOutcome, OAuthClient, Principal,
//!     PrincipalStore, ScopePolicy,
//! };
//! use attesto::jose::{Algorithm, SigningKey, StaticKeystore};
//! use attesto::server::{
//!     AuthorizationServer, AuthorizeContext, ClientRegistration, Interaction, ResourcePolicy,
//!     ServerConfig,
//! };
//! use axum::response::Response;
//!
//! struct Client(String);
//! impl OAuthClient for Client {
//!     fn client_id(&self) -> Cow<'_, str> { Cow::Borrowed(&self.0) }
//! }
//! struct User(String);
//! impl Principal for User {
//!     fn subject_id(&self) -> Cow<'_, str> { Cow::Borrowed(&self.0) }
//! }
//!
//! struct App;
//! impl ClientRegistry for App {
//!     type Client = Client;
//!     type Error = std::convert::Infallible;
//!     async fn find_client(&self, id: &str) -> Result<ClientLookup<Client>, Self::Error> {
//!         Ok(ClientLookup::Found(Client(id.to_owned())))
//!     }
//! }
//! impl PrincipalStore for App {
//!     type Principal = User;
//!     type Error = std::convert::Infallible;
//!     async fn find_principal(&self, id: &str) -> Result<Option<User>, Self::Error> {
//!         Ok(Some(User(id.to_owned())))
//!     }
//! }
//! impl Interaction for App {
//!     async fn login(&self, _ctx: &AuthorizeContext<'_>) -> LoginOutcome<Response> {
//!         LoginOutcome::Authenticated(Authentication::new("alice"))
//!     }
//! }
//! // the trait defaults: catalog-and-client scope decision, only the default
//! // resource, no registration
//! impl ScopePolicy for App {}
//! impl ResourcePolicy for App {}
//! impl ClientRegistration for App {}
//!
//! let cfg = ServerConfig::builder("https://id.example")
//!     .scopes(["openid", "profile"])
//!     .build()
//!     .unwrap();
//! let keys = Arc::new(
//!     StaticKeystore::builder()
//!         .key(SigningKey::generate(Algorithm::ES256).unwrap())
//!         .key(SigningKey::generate(Algorithm::RS256).unwrap())
//!         .build()
//!         .unwrap(),
//! );
//! let server = AuthorizationServer::builder(cfg, App, attesto::store::memory::MemoryStores::new(), keys)
//!     .server_secret(attesto::secret::Secret::new("a long random server secret, shared by every node"))
//!     .build()
//!     .unwrap();
//! let router: axum::Router = server.router();
//! ```

mod authorize;
mod client;
pub mod config;
mod dpop;
pub mod interaction;
mod introspect;
pub mod metadata;
mod register;
pub mod resource;
mod response;
mod revoke;
mod token;
mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use config::{
    ConfigError, DEFAULT_INTROSPECTION_CACHE, DpopSettings, EndpointPaths, GrantType, NoncePolicy,
    ServerConfig, ServerConfigBuilder,
};
pub use interaction::{AuthorizeContext, Interaction, ResourcePolicy};
pub use introspect::{IntrospectedKind, IntrospectedToken};
pub use register::{
    CLIENT_ID_BYTES, ClientMetadata, ClientRegistration, MAX_CLIENT_NAME_LEN, MAX_REDIRECT_URI_LEN,
    MAX_REDIRECT_URIS, MetadataError, NewClient, REGISTRATION_ACCESS_TOKEN_BYTES,
    RegistrationError, parse_client_metadata,
};
pub use resource::{Authenticated, ResourceGuard};

use crate::client_auth::{AssertionVerifier, ClientAuthenticator, SecretHasher};
use crate::clock::{Clock, SystemClock};
use crate::dpop::{DpopVerifier, NonceIssuer};
use crate::error::OAuthError;
use crate::host::{ClientRegistry, EventSink, NoopSink, Principal, PrincipalStore, ScopePolicy};
use crate::jose::Keystore;
use crate::secret::{OsRandom, RandomSource, Secret};
use crate::store::Stores;
use crate::store::adapters::StoreReplayGuard;
use crate::token::cache::VerifiedCache;
use crate::token::{AccessTokenIssuer, AccessTokenVerifier, TrustedKeys};

/// Everything a host supplies: its client registry, principals, scope
/// policy, login and consent, resource policy, and (for dynamic
/// registration) a way to persist new clients. Implemented automatically
/// for any type that implements the parts; the parts with defaults are
/// opted into with empty impls: `impl ScopePolicy for MyHost {}`,
/// `impl ResourcePolicy for MyHost {}`, `impl ClientRegistration for MyHost {}`.
pub trait Host:
    ClientRegistry + ScopePolicy + PrincipalStore + Interaction + ResourcePolicy + ClientRegistration
{
}

impl<
    T: ClientRegistry
        + ScopePolicy
        + PrincipalStore
        + Interaction
        + ResourcePolicy
        + ClientRegistration,
> Host for T
{
}

/// Run the host's [`ScopePolicy`] and hold it to "narrow, never widen":
/// the result keeps only scopes that were requested and are in the catalog
/// (each once, in request order); a non-empty request narrowed to nothing,
/// or refused by the policy, is `invalid_scope`.
// An error ends the request once; boxing it would only add an allocation.
#[allow(clippy::result_large_err)]
pub(crate) fn decide_scope<H: Host>(
    host: &H,
    catalog: &crate::scope::ScopeCatalog,
    client: &<H as ClientRegistry>::Client,
    requested: &[&str],
) -> Result<Vec<String>, OAuthError> {
    let supported =
        |s: &str| crate::scope::Scope::new(s).is_ok_and(|scope| catalog.supports(&scope));
    let granted = host
        .authorize_scope(client, requested, &supported)
        .map_err(|_| OAuthError::invalid_scope("the requested scope is not allowed"))?;
    let mut out: Vec<String> = Vec::with_capacity(granted.len().min(requested.len()));
    let mut widened = false;
    for g in granted {
        if requested.contains(&g.as_str()) && supported(&g) {
            if !out.contains(&g) {
                out.push(g);
            }
        } else {
            widened = true;
        }
    }
    if widened {
        tracing::warn!(target: "attesto::scope", "the scope policy returned scopes that were not requested or are not supported; dropped");
    }
    if out.is_empty() && !requested.is_empty() {
        return Err(OAuthError::invalid_scope(
            "none of the requested scopes can be granted",
        ));
    }
    // Keep the request's order (a policy may reorder).
    out.sort_by_key(|g| requested.iter().position(|r| r == g));
    Ok(out)
}

pub(crate) struct Inner<H, S: Stores> {
    pub(crate) cfg: ServerConfig,
    pub(crate) host: H,
    pub(crate) stores: S,
    pub(crate) keys: Arc<dyn Keystore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn RandomSource>,
    pub(crate) events: Arc<dyn EventSink>,
    /// Mints access tokens (RFC 9068).
    pub(crate) access: AccessTokenIssuer,
    /// Verifies DPoP proofs.
    pub(crate) dpop: DpopVerifier,
    /// Stateless DPoP nonces, valid on every node that shares the server secret.
    pub(crate) nonces: NonceIssuer,
    /// `jti` replay protection shared by every node through the replay store.
    pub(crate) replay: StoreReplayGuard<S::Replay>,
    /// Client authentication (secrets, private_key_jwt assertions).
    pub(crate) client_auth: ClientAuthenticator,
    /// Hashes client secrets at rest (keyed with the server secret).
    pub(crate) secrets: SecretHasher,
    /// Verifies this server's own access tokens, with their sender
    /// constraint (userinfo, host routes; `guard.verifier()` for the rest).
    pub(crate) guard: resource::ResourceGuard,
    /// Token-endpoint state (ID-token issuer, scope catalog, successor seal).
    pub(crate) token_ep: token::TokenEndpoint,
    /// Access tokens introspection has verified (see [`introspect`]).
    pub(crate) introspection_cache: VerifiedCache<introspect::OwnToken>,
    discovery: Bytes,
    protected_resource: Bytes,
}

/// A configured authorization server. Cheap to clone.
pub struct AuthorizationServer<H, S: Stores> {
    inner: Arc<Inner<H, S>>,
}

impl<H, S: Stores> Clone for AuthorizationServer<H, S> {
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
    secret: Option<Secret>,
}

/// Why a server could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The token issuer or verifier rejected the configuration.
    #[error("token configuration")]
    Token(#[from] crate::token::TokenConfigError),
    /// DPoP settings are invalid.
    #[error("DPoP configuration")]
    Dpop(#[from] crate::dpop::DpopConfigError),
    /// The server secret is too short or the nonce issuer is misconfigured.
    #[error("DPoP nonce configuration")]
    Nonce(#[from] crate::dpop::NonceIssuerError),
    /// The server secret is too short for the secret hasher.
    #[error("server secret")]
    Secret(#[from] crate::client_auth::SecretHasherError),
    /// The assertion verifier rejected the configuration.
    #[error("client assertion configuration")]
    Assertion(#[from] crate::client_auth::AssertionConfigError),
    /// The random source failed.
    #[error("random source")]
    Random(#[from] crate::secret::RandomError),
    /// The server's resource guard rejected the configuration.
    #[error("resource guard")]
    Guard(#[from] resource::ServerGuardError),
    /// `scopes_supported` holds a malformed scope.
    #[error("scope catalog")]
    Scope(#[from] crate::scope::ScopeError),
    /// Deriving a key from the server secret failed.
    #[error("key derivation")]
    Crypto,
    /// The keystore holds no active signing key for an algorithm the
    /// configuration uses.
    #[error("the keystore has no {} signing key for {purpose}", alg.as_str())]
    MissingSigningKey {
        /// The configured algorithm.
        alg: crate::jose::Algorithm,
        /// What the key would sign: `"access tokens"` or `"ID tokens"`.
        purpose: &'static str,
    },
}

/// Why a server could not be set up: its configuration, or its build.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A configuration rule is broken ([`ConfigError::help`] says how to fix it).
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// A component rejected the configuration.
    #[error("server build: {0}")]
    Build(#[from] BuildError),
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
            secret: None,
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

    /// A [`ResourceGuard`] for the host's own API routes: it verifies this
    /// server's access tokens (keys, issuer, default resource as audience,
    /// principal kinds), checks DPoP proofs against `issuer + path` with the
    /// server's replay store, and points 401 challenges at the server's
    /// `/.well-known/oauth-protected-resource`. See [`resource`] for how to
    /// install it.
    #[must_use]
    pub fn resource_guard(&self) -> ResourceGuard {
        self.inner.guard.clone()
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
            )
            .merge(authorize::routes::<H, S>(cfg))
            .merge(token::routes::<H, S>(cfg))
            .merge(revoke::routes::<H, S>(cfg))
            .merge(introspect::routes::<H, S>(cfg))
            .merge(userinfo::routes::<H, S>(cfg))
            .merge(register::routes::<H, S>(cfg));
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

    /// The server secret (at least 32 bytes): keys the client-secret hashes
    /// and the stateless DPoP nonces. Every node of a cluster must share it,
    /// and it must survive restarts, or stored client secrets stop verifying.
    /// Without one, a random secret is generated (single node, development).
    #[must_use]
    pub fn server_secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Build the server. Metadata documents are serialized once, here.
    ///
    /// # Errors
    /// A [`BuildError`] when a component rejects the configuration.
    pub fn build(mut self) -> Result<AuthorizationServer<H, S>, BuildError> {
        // A principal model that declares its kind (`#[derive(Principal)]`
        // `#[attesto(kind = …, sub_prefix = …)]`) sets the resource owners' kind.
        if let Some(kind) = <<H as PrincipalStore>::Principal as Principal>::KIND {
            self.cfg.user_kind = kind;
        }
        let cfg = &self.cfg;
        let secret = match self.secret {
            Some(s) => s,
            None => {
                tracing::warn!(target: "attesto::server", "no server secret configured: generating one (stored client secrets and DPoP nonces will not survive a restart or span nodes)");
                Secret::new(self.rng.token(32)?)
            }
        };
        if self.keys.signing_key(cfg.signing_alg).is_none() {
            return Err(BuildError::MissingSigningKey {
                alg: cfg.signing_alg,
                purpose: "access tokens",
            });
        }
        if cfg.has_grant(GrantType::AuthorizationCode) {
            // OIDC Discovery §3: every advertised ID-token algorithm must work.
            if let Some(alg) = cfg
                .id_token_algs()
                .into_iter()
                .find(|a| self.keys.signing_key(*a).is_none())
            {
                return Err(BuildError::MissingSigningKey {
                    alg,
                    purpose: "ID tokens",
                });
            }
        }
        let ttl = u32::try_from(cfg.access_token_ttl.as_secs()).unwrap_or(u32::MAX);
        let kinds = [cfg.user_kind.clone(), cfg.client_kind.clone()];
        let access = AccessTokenIssuer::builder(cfg.issuer.clone(), Arc::clone(&self.keys))
            .audience(cfg.default_resource.clone())
            .signing_alg(cfg.signing_alg)
            .ttl(ttl)
            .principal_kinds(kinds.clone())
            .clock(Arc::clone(&self.clock))
            .random(Arc::clone(&self.rng))
            .build()?;
        let verifier = AccessTokenVerifier::builder(
            cfg.issuer.clone(),
            TrustedKeys::keystore(Arc::clone(&self.keys)),
        )
        .audience(cfg.default_resource.clone())
        .principal_kinds(kinds)
        .clock(Arc::clone(&self.clock))
        .build()?;
        let dpop = DpopVerifier::builder()
            .algorithms(cfg.dpop.algorithms)
            .nonce_policy(match cfg.dpop.nonce {
                NoncePolicy::Required => crate::dpop::NoncePolicy::Required,
                NoncePolicy::Off => crate::dpop::NoncePolicy::Disabled,
            })
            .build()?;
        let nonces = NonceIssuer::new(secret.expose().as_bytes(), 60, 300)?;
        let secrets = SecretHasher::new(secret.expose().as_bytes())?;
        let client_auth = ClientAuthenticator::new(SecretHasher::new(secret.expose().as_bytes())?)
            .with_assertions(AssertionVerifier::builder(cfg.issuer.clone()).build()?);
        let replay = StoreReplayGuard::new(self.stores.replay());
        let guard = resource::ResourceGuard::for_server(
            cfg,
            verifier,
            &self.clock,
            &self.events,
            replay.clone(),
        )?;
        let token_ep = token::TokenEndpoint::new(
            cfg,
            Arc::clone(&self.keys),
            Arc::clone(&self.clock),
            secret.expose().as_bytes(),
        )?;
        // Introspection checks the key and expiry on every hit, so an entry
        // may live as long as any token can.
        let introspection_cache = VerifiedCache::new(
            self.cfg.introspection_cache,
            i64::from(crate::token::MAX_TOKEN_TTL),
        );
        let discovery = serde_json::to_vec(&metadata::authorization_server_metadata(&self.cfg))
            .unwrap_or_default();
        let protected_resource =
            serde_json::to_vec(&metadata::protected_resource_metadata(&self.cfg))
                .unwrap_or_default();
        Ok(AuthorizationServer {
            inner: Arc::new(Inner {
                cfg: self.cfg,
                host: self.host,
                stores: self.stores,
                keys: self.keys,
                clock: self.clock,
                rng: self.rng,
                events: self.events,
                access,
                dpop,
                nonces,
                replay,
                client_auth,
                secrets,
                guard,
                token_ep,
                introspection_cache,
                discovery: Bytes::from(discovery),
                protected_resource: Bytes::from(protected_resource),
            }),
        })
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
