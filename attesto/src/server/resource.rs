//! The resource-server guard: verify access tokens on the host's own routes
//! ([RFC 6750](https://www.rfc-editor.org/rfc/rfc6750),
//! [RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4),
//! [RFC 9449 §7](https://www.rfc-editor.org/rfc/rfc9449#section-7),
//! [RFC 9728 §5](https://www.rfc-editor.org/rfc/rfc9728#section-5)).
//!
//! A [`ResourceGuard`] verifies the access token of a request locally —
//! signature, `typ`, issuer, audience, expiry, principal kind — and enforces
//! its sender constraint: a `Bearer` token must not be bound; a DPoP-bound
//! token must come with the `DPoP` scheme and a proof whose key, `ath`,
//! `htm`, `htu` and freshness check out, and whose `jti` was never seen
//! before. Failures are the RFC 6750 / RFC 9449 challenges, each carrying the
//! RFC 9728 `resource_metadata` pointer when one is configured.
//!
//! # Using it in axum
//!
//! Install the guard as a request extension with [`axum::Extension`], then
//! take [`Authenticated`] in any handler. Per-route scope requirements are a
//! `route_layer` ([`ResourceGuard::require_scopes`]) or a check in the
//! handler ([`Authenticated::require_scope`]).
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Extension, Json, Router, routing::get};
//! use attesto::jose::{Algorithm, Keystore, StaticKeystore};
//! use attesto::server::resource::{Authenticated, ResourceError, ResourceGuard};
//! use attesto::token::{AccessTokenVerifier, TrustedKeys};
//!
//! async fn me(auth: Authenticated) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "sub": auth.sub(), "client_id": auth.client_id() }))
//! }
//!
//! async fn delete_document(auth: Authenticated) -> Result<&'static str, ResourceError> {
//!     auth.require_scope("documents.delete")?;
//!     Ok("deleted")
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A separate resource server trusts the authorization server's JWK Set.
//! let keys = StaticKeystore::generate(Algorithm::ES256)?;
//! let jwks = keys.jwks();
//! let verifier = AccessTokenVerifier::builder(
//!     "https://id.example",
//!     TrustedKeys::from_jwk_set(jwks.set(), attesto::jose::AlgorithmSet::ALL)?,
//! )
//! .audience("https://api.example")
//! .build()?;
//! let guard = ResourceGuard::builder(verifier, "https://api.example")
//!     .resource_metadata("https://api.example/.well-known/oauth-protected-resource")
//!     .build()?;
//!
//! let app: Router = Router::new()
//!     .route("/api/documents", get(|| async { "documents" }))
//!     .route_layer(guard.require_scopes(["documents.read"])?)
//!     .route("/api/me", get(me))
//!     .route("/api/documents/delete", get(delete_document))
//!     .layer(Extension(guard));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! An authorization server protects its own routes with
//! [`AuthorizationServer::resource_guard`](super::AuthorizationServer::resource_guard),
//! which verifies with the server's own keys and audience, shares its replay
//! store, and points `resource_metadata` at the server's
//! `/.well-known/oauth-protected-resource`.
//!
//! # The DPoP `htu`
//!
//! A proof's `htu` is compared with the guard's resource URL followed by the
//! request path *as the guard sees it*. When the guarded routes are nested
//! under a prefix with [`Router::nest`](axum::Router::nest), the nested
//! router sees the path without the prefix: put the prefix into the resource
//! URL (`https://api.example/v1`).
//!
//! # The verification cache
//!
//! Verifying an ES256 signature costs far more than the rest of a request,
//! and a client presents one token many times. The guard keeps a bounded map
//! from the SHA-256 of a verified token to its verified claims. An entry is
//! used only while the clock is before the token's `exp` (without leeway)
//! and for at most [`DEFAULT_CACHE_MAX_AGE`] seconds after it was verified;
//! otherwise the token is verified again from scratch, so the cache never
//! accepts a token the verifier would refuse. Failures are never cached. The
//! sender constraint, the DPoP proof and the scope are checked on every
//! request.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Request, header};
use axum::response::{IntoResponse, Response};

use super::config::ServerConfig;
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::dpop::{
    DpopContext, DpopError, DpopNonceSource, DpopVerifier, JtiReplayGuard, NoNonces, ReplayKey,
    SingleNodeReplayGuard, single_proof_header,
};
use crate::error::{AuthenticationRequired, Challenge, ErrorCode, OAuthError};
use crate::host::{Event, EventName, EventSink, NoopSink, PrincipalStore, SenderConstraint};
use crate::scope::{Scope, ScopeError, ScopeSet};
use crate::secret::sha256;
use crate::token::cache::VerifiedCache;
use crate::token::{
    AccessTokenClaims, AccessTokenError, AccessTokenVerifier, PrincipalKind, SenderProof, Subject,
    TokenType,
};

/// The default number of verified tokens the guard remembers.
pub const DEFAULT_CACHE_CAPACITY: usize = 16 * 1024;

/// The default longest time, in seconds, a verified token is served from the
/// cache before its signature is checked again (bounds how long a token
/// signed by a key that was since removed keeps passing).
pub const DEFAULT_CACHE_MAX_AGE: i64 = 60;

/// The most a [`ResourceGuardBuilder::cache`] entry may live, in seconds.
pub const MAX_CACHE_MAX_AGE: i64 = 3600;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

// ---------------------------------------------------------------------------
// Type-erased backends (the guard is one concrete type whatever the store).
// ---------------------------------------------------------------------------

/// A replay guard or nonce source failed; the guard answers 503.
#[derive(Debug)]
pub struct BackendError(Box<dyn std::error::Error + Send + Sync>);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "resource guard backend: {}", self.0)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

trait ErasedReplay: Send + Sync {
    fn record(
        &self,
        key: ReplayKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> BoxFuture<'_, Result<bool, BackendError>>;
}

impl<G: JtiReplayGuard + 'static> ErasedReplay for G {
    fn record(
        &self,
        key: ReplayKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> BoxFuture<'_, Result<bool, BackendError>> {
        Box::pin(async move {
            self.check_and_record(key, expires_at, now)
                .await
                .map_err(|e| BackendError(Box::new(e)))
        })
    }
}

struct ReplayRef<'a>(&'a dyn ErasedReplay);

impl JtiReplayGuard for ReplayRef<'_> {
    type Error = BackendError;

    fn check_and_record(
        &self,
        key: ReplayKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send {
        self.0.record(key, expires_at, now)
    }
}

trait ErasedNonces: Send + Sync {
    fn issue(&self, now: UnixTime) -> BoxFuture<'_, Result<String, BackendError>>;
    fn check<'a>(
        &'a self,
        nonce: &'a str,
        now: UnixTime,
    ) -> BoxFuture<'a, Result<bool, BackendError>>;
}

impl<N: DpopNonceSource + 'static> ErasedNonces for N {
    fn issue(&self, now: UnixTime) -> BoxFuture<'_, Result<String, BackendError>> {
        Box::pin(async move {
            self.issue_nonce(now)
                .await
                .map_err(|e| BackendError(Box::new(e)))
        })
    }

    fn check<'a>(
        &'a self,
        nonce: &'a str,
        now: UnixTime,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            self.check_nonce(nonce, now)
                .await
                .map_err(|e| BackendError(Box::new(e)))
        })
    }
}

struct NoncesRef<'a>(&'a dyn ErasedNonces);

impl DpopNonceSource for NoncesRef<'_> {
    type Error = BackendError;

    fn issue_nonce(
        &self,
        now: UnixTime,
    ) -> impl Future<Output = Result<String, BackendError>> + Send {
        self.0.issue(now)
    }

    async fn check_nonce(&self, nonce: &str, now: UnixTime) -> Result<bool, BackendError> {
        self.0.check(nonce, now).await
    }
}

/// What a token verified to: shared between the verification cache and
/// every request that presents the token.
#[derive(Debug)]
struct VerifiedToken {
    claims: AccessTokenClaims,
    scopes: ScopeSet,
    subject: Option<Subject>,
}

// ---------------------------------------------------------------------------
// The guard.
// ---------------------------------------------------------------------------

struct GuardInner {
    verifier: AccessTokenVerifier,
    base_url: String,
    resource_metadata: Option<String>,
    realm: Option<String>,
    dpop: Option<DpopVerifier>,
    replay: Box<dyn ErasedReplay>,
    nonces: Option<Box<dyn ErasedNonces>>,
    cache: VerifiedCache<VerifiedToken>,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
}

/// Verifies the access token of a resource request; see the
/// [module docs](self). Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct ResourceGuard {
    inner: Arc<GuardInner>,
}

impl fmt::Debug for ResourceGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceGuard")
            .field("verifier", &self.inner.verifier)
            .field("base_url", &self.inner.base_url)
            .field("resource_metadata", &self.inner.resource_metadata)
            .field("realm", &self.inner.realm)
            .field("dpop", &self.inner.dpop.is_some())
            .field("cached_tokens", &self.inner.cache.len())
            .finish_non_exhaustive()
    }
}

/// Builder for [`ResourceGuard`].
pub struct ResourceGuardBuilder {
    verifier: AccessTokenVerifier,
    base_url: String,
    resource_metadata: Option<String>,
    realm: Option<String>,
    dpop: Option<DpopVerifier>,
    replay: Option<Box<dyn ErasedReplay>>,
    nonces: Option<Box<dyn ErasedNonces>>,
    cache_capacity: usize,
    cache_max_age: i64,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
}

impl fmt::Debug for ResourceGuardBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceGuardBuilder")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Why a [`ResourceGuard`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardConfigError {
    /// The resource URL is not an absolute `https` URL (or `http` on
    /// loopback) without query, fragment or credentials.
    #[error("the resource URL must be an absolute https URL without query or fragment")]
    ResourceUrl,
    /// The `resource_metadata` URL is not an absolute `https` URL (or `http`
    /// on loopback).
    #[error("the resource_metadata URL must be an absolute https URL")]
    ResourceMetadataUrl,
    /// The realm contains a control character or is empty.
    #[error("the realm must be non-empty printable text")]
    Realm,
    /// The cache entry lifetime is not within 1..=[`MAX_CACHE_MAX_AGE`] seconds.
    #[error("the cache max age must be between 1 and 3600 seconds")]
    CacheMaxAge,
    /// The DPoP verifier's nonce policy needs nonces but no
    /// [`nonces`](ResourceGuardBuilder::nonces) source is configured.
    #[error("the DPoP nonce policy needs a nonce source")]
    NonceSource,
}

impl ResourceGuardBuilder {
    /// Advertise the protected-resource metadata document
    /// ([RFC 9728 §5.1](https://www.rfc-editor.org/rfc/rfc9728#section-5.1))
    /// in every 401 challenge.
    #[must_use]
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.resource_metadata = Some(url.into());
        self
    }

    /// The `realm` of the challenges ([RFC 6750 §3](https://www.rfc-editor.org/rfc/rfc6750#section-3)).
    #[must_use]
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Accept DPoP-bound tokens, with proofs checked by `verifier`
    /// ([RFC 9449 §7](https://www.rfc-editor.org/rfc/rfc9449#section-7)).
    /// Without this, the `DPoP` scheme is not offered and a DPoP-bound token
    /// is always refused.
    #[must_use]
    pub fn dpop(mut self, verifier: DpopVerifier) -> Self {
        self.dpop = Some(verifier);
        self
    }

    /// Where proof `jti`s are recorded. The default is a
    /// [`SingleNodeReplayGuard`]: correct for one process only. Behind a load
    /// balancer use a shared store (e.g.
    /// [`StoreReplayGuard`](crate::store::adapters::StoreReplayGuard)), or a
    /// captured proof replays once per node.
    #[must_use]
    pub fn replay_guard<G: JtiReplayGuard + 'static>(mut self, guard: G) -> Self {
        self.replay = Some(Box::new(guard));
        self
    }

    /// The source of resource-server DPoP nonces
    /// ([RFC 9449 §9](https://www.rfc-editor.org/rfc/rfc9449#section-9)), used
    /// when the [`DpopVerifier`]'s nonce policy asks for nonces.
    #[must_use]
    pub fn nonces<N: DpopNonceSource + 'static>(mut self, nonces: N) -> Self {
        self.nonces = Some(Box::new(nonces));
        self
    }

    /// Size the verification cache: at most `capacity` tokens (0 disables
    /// it), each served for at most `max_age` seconds after verification.
    #[must_use]
    pub fn cache(mut self, capacity: usize, max_age: i64) -> Self {
        self.cache_capacity = capacity;
        self.cache_max_age = max_age;
        self
    }

    /// The clock for DPoP proofs and the cache. Use the clock the
    /// [`AccessTokenVerifier`] was built with.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Send `auth_succeeded` / `auth_denied` events to `sink`.
    #[must_use]
    pub fn events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = sink;
        self
    }

    /// Build the guard.
    ///
    /// # Errors
    /// A [`GuardConfigError`] for a malformed URL, realm or cache lifetime.
    pub fn build(self) -> Result<ResourceGuard, GuardConfigError> {
        crate::config::validate_issuer(&self.base_url)
            .map_err(|_| GuardConfigError::ResourceUrl)?;
        if let Some(rm) = &self.resource_metadata {
            crate::config::validate_issuer(rm)
                .map_err(|_| GuardConfigError::ResourceMetadataUrl)?;
        }
        if let Some(realm) = &self.realm
            && (realm.is_empty() || realm.chars().any(char::is_control))
        {
            return Err(GuardConfigError::Realm);
        }
        if !(1..=MAX_CACHE_MAX_AGE).contains(&self.cache_max_age) {
            return Err(GuardConfigError::CacheMaxAge);
        }
        if self
            .dpop
            .as_ref()
            .is_some_and(|d| d.nonce_policy() != crate::dpop::NoncePolicy::Disabled)
            && self.nonces.is_none()
        {
            return Err(GuardConfigError::NonceSource);
        }
        let replay = match self.replay {
            Some(r) => r,
            None => Box::new(SingleNodeReplayGuard::new()),
        };
        Ok(ResourceGuard {
            inner: Arc::new(GuardInner {
                verifier: self.verifier,
                base_url: self.base_url.trim_end_matches('/').to_owned(),
                resource_metadata: self.resource_metadata,
                realm: self.realm,
                dpop: self.dpop,
                replay,
                nonces: self.nonces,
                cache: VerifiedCache::new(self.cache_capacity, self.cache_max_age),
                clock: self.clock,
                events: self.events,
            }),
        })
    }
}

/// How the token was presented.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

impl ResourceGuard {
    /// Start a guard that verifies tokens with `verifier` for the resource
    /// whose canonical base URL (scheme, host, optional path prefix) is
    /// `resource_url`; DPoP proofs must name `resource_url` + request path as
    /// their `htu`.
    #[must_use]
    pub fn builder(
        verifier: AccessTokenVerifier,
        resource_url: impl Into<String>,
    ) -> ResourceGuardBuilder {
        ResourceGuardBuilder {
            verifier,
            base_url: resource_url.into(),
            resource_metadata: None,
            realm: None,
            dpop: None,
            replay: None,
            nonces: None,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            cache_max_age: DEFAULT_CACHE_MAX_AGE,
            clock: Arc::new(SystemClock),
            events: Arc::new(NoopSink),
        }
    }

    /// Authenticate a request from its head: the `Authorization` header, the
    /// `DPoP` header, method and path.
    ///
    /// # Errors
    /// A [`ResourceError`] ready to be returned as the response.
    pub async fn authenticate(&self, parts: &Parts) -> Result<Authenticated, ResourceError> {
        let htu = format!("{}{}", self.inner.base_url, parts.uri.path());
        self.authenticate_at(&parts.method, &htu, &parts.headers)
            .await
    }

    /// Authenticate a request whose target URI (the DPoP `htu`) is `htu`.
    ///
    /// # Errors
    /// A [`ResourceError`] ready to be returned as the response.
    pub async fn authenticate_at(
        &self,
        method: &Method,
        htu: &str,
        headers: &HeaderMap,
    ) -> Result<Authenticated, ResourceError> {
        let result = self.verify(method.as_str(), htu, headers).await;
        match &result {
            Ok(auth) => {
                let mut e = Event::new(EventName::AuthSucceeded);
                e.subject = Some(auth.sub().to_owned());
                e.client_id = Some(auth.client_id().to_owned());
                e.scope = Some(auth.claims().scope.clone());
                e.token_type = Some(auth.token_type.as_str());
                e.sender_constraint = Some(auth.sender_constraint());
                emit(&*self.inner.events, &e);
            }
            Err(err) => self.denied(err, None),
        }
        result
    }

    /// Scope requirements as a layer for
    /// [`Router::route_layer`](axum::Router::route_layer): the request is
    /// authenticated at the layer, refused with 403 `insufficient_scope`
    /// unless the token grants every scope (wildcard grants such as
    /// `documents.*` count), and the handler finds the [`Authenticated`] in
    /// the request extensions.
    ///
    /// The 403 challenge carries no `resource_metadata` unless
    /// [`RequireScopes::with_resource_metadata`] is called (the client got the
    /// pointer with the 401 already; RFC 9728 §5.1 makes it optional).
    ///
    /// # Errors
    /// [`ScopeError`] when a name is not a valid scope token.
    pub fn require_scopes<I, S>(&self, scopes: I) -> Result<RequireScopes, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(RequireScopes {
            guard: self.clone(),
            scopes: Arc::new(ScopeSet::from_tokens(scopes)?),
            with_metadata: false,
        })
    }

    /// The access-token verifier (signature, issuer, audience, expiry,
    /// principal kinds) without the request-level checks.
    #[must_use]
    pub fn verifier(&self) -> &AccessTokenVerifier {
        &self.inner.verifier
    }

    /// How many verified tokens the cache holds now.
    #[must_use]
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.len()
    }

    fn denied(&self, err: &ResourceError, token_type: Option<TokenType>) {
        let mut e = Event::new(EventName::AuthDenied);
        e.result = err.error_code();
        e.token_type = token_type.map(TokenType::as_str);
        emit(&*self.inner.events, &e);
        tracing::debug!(
            target: "attesto::resource",
            status = err.status(),
            error = err.error_code().unwrap_or("none"),
            "resource request refused"
        );
    }

    fn bearer_challenge(&self, with_metadata: bool) -> Challenge {
        let mut c = Challenge::bearer();
        if let Some(r) = &self.inner.realm {
            c = c.with_realm(r);
        }
        if with_metadata && let Some(rm) = &self.inner.resource_metadata {
            c = c.with_resource_metadata(rm);
        }
        c
    }

    fn dpop_challenge(&self, with_metadata: bool) -> Option<Challenge> {
        let dpop = self.inner.dpop.as_ref()?;
        let mut c = Challenge::dpop().with_algs(dpop.algorithms().iter().map(|a| a.as_str()));
        if let Some(r) = &self.inner.realm {
            c = c.with_realm(r);
        }
        if with_metadata && let Some(rm) = &self.inner.resource_metadata {
            c = c.with_resource_metadata(rm);
        }
        Some(c)
    }

    /// The 401 without an error code (RFC 6750 §3.1).
    fn missing(&self) -> ResourceError {
        let mut challenges = vec![self.bearer_challenge(true)];
        challenges.extend(self.dpop_challenge(true));
        ResourceError::Unauthenticated(AuthenticationRequired::new(challenges))
    }

    /// An error carried by the challenge of `scheme`, with the other scheme
    /// offered without error parameters.
    fn with_challenges(&self, err: OAuthError, scheme: Scheme) -> ResourceError {
        let bearer = self.bearer_challenge(true);
        let dpop = self.dpop_challenge(true);
        let err = match (scheme, dpop) {
            (Scheme::Dpop, Some(d)) => err.with_challenge(d).with_challenge(bearer.without_error()),
            (_, Some(d)) => err.with_challenge(bearer).with_challenge(d.without_error()),
            (_, None) => err.with_challenge(bearer),
        };
        ResourceError::OAuth(Box::new(err))
    }

    fn invalid_token(&self, description: &str, scheme: Scheme) -> ResourceError {
        self.with_challenges(OAuthError::invalid_token(description), scheme)
    }

    fn invalid_request(&self, description: &str) -> ResourceError {
        self.with_challenges(OAuthError::invalid_request(description), Scheme::Bearer)
    }

    fn invalid_proof(&self, description: &str) -> ResourceError {
        self.with_challenges(
            OAuthError::invalid_dpop_proof(description).with_status(401),
            Scheme::Dpop,
        )
    }

    async fn verify(
        &self,
        method: &str,
        htu: &str,
        headers: &HeaderMap,
    ) -> Result<Authenticated, ResourceError> {
        let Some((scheme, token)) = self.credentials(headers)? else {
            return Err(self.missing());
        };
        let verified = self.verify_token(token, scheme)?;
        let cnf_jkt = verified.claims.cnf.as_ref().and_then(|c| c.jkt.as_deref());
        match scheme {
            Scheme::Bearer => {
                if cnf_jkt.is_some() {
                    return Err(self.invalid_token(
                        "the access token is DPoP-bound; present it with the DPoP scheme and a proof",
                        Scheme::Bearer,
                    ));
                }
                verified
                    .claims
                    .check_sender(SenderProof::NONE)
                    .map_err(|e| self.sender_error(&e, scheme))?;
            }
            Scheme::Dpop => {
                let Some(jkt) = cnf_jkt else {
                    return Err(self.invalid_token(
                        "the access token is not DPoP-bound; present it with the Bearer scheme",
                        Scheme::Dpop,
                    ));
                };
                let proof_jkt = self.verify_proof(method, htu, token, jkt, headers).await?;
                verified
                    .claims
                    .check_sender(SenderProof::dpop(&proof_jkt))
                    .map_err(|e| self.sender_error(&e, scheme))?;
            }
        }
        Ok(Authenticated {
            token: verified,
            token_type: match scheme {
                Scheme::Bearer => TokenType::Bearer,
                Scheme::Dpop => TokenType::DPoP,
            },
            guard: self.clone(),
        })
    }

    fn sender_error(&self, e: &AccessTokenError, scheme: Scheme) -> ResourceError {
        let description = match e {
            AccessTokenError::SenderProofRequired => {
                "the access token is sender-constrained; proof of possession required"
            }
            _ => "the proof of possession does not match the access token",
        };
        self.invalid_token(description, scheme)
    }

    /// The presented credentials, `None` when there are none (or only ones of
    /// a scheme this guard does not support, RFC 6750 §3.1).
    fn credentials<'h>(
        &self,
        headers: &'h HeaderMap,
    ) -> Result<Option<(Scheme, &'h str)>, ResourceError> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(self.invalid_request("more than one Authorization header"));
        }
        let value = value
            .to_str()
            .map_err(|_| self.invalid_request("the Authorization header is not ASCII"))?;
        let (name, rest) = value.split_once(' ').unwrap_or((value, ""));
        let scheme = if name.eq_ignore_ascii_case("bearer") {
            Scheme::Bearer
        } else if name.eq_ignore_ascii_case("dpop") && self.inner.dpop.is_some() {
            Scheme::Dpop
        } else {
            return Ok(None);
        };
        let token = rest.trim_start_matches(' ');
        if token.is_empty() {
            return Err(self.invalid_request("the Authorization header carries no token"));
        }
        if !is_token68(token) {
            return Err(self.invalid_token("the access token is malformed", scheme));
        }
        Ok(Some((scheme, token)))
    }

    fn verify_token(
        &self,
        token: &str,
        scheme: Scheme,
    ) -> Result<Arc<VerifiedToken>, ResourceError> {
        let key = sha256(token.as_bytes());
        let now = self.inner.clock.now();
        if let Some(hit) = self.inner.cache.get(&key, now) {
            return Ok(hit);
        }
        let claims = self.inner.verifier.verify(token).map_err(|e| {
            tracing::debug!(target: "attesto::resource", error = %e, "access token refused");
            let description = match e {
                AccessTokenError::Expired => "the access token expired",
                AccessTokenError::WrongAudience => "the access token is not for this resource",
                _ => "the access token is invalid",
            };
            self.invalid_token(description, scheme)
        })?;
        let scopes = ScopeSet::parse(&claims.scope).unwrap_or_default();
        let subject = self.inner.verifier.subject(&claims).ok();
        let verified = Arc::new(VerifiedToken {
            claims,
            scopes,
            subject,
        });
        let exp = verified.claims.exp;
        self.inner
            .cache
            .insert(key, Arc::clone(&verified), exp, now);
        Ok(verified)
    }

    async fn verify_proof(
        &self,
        method: &str,
        htu: &str,
        token: &str,
        jkt: &str,
        headers: &HeaderMap,
    ) -> Result<String, ResourceError> {
        let Some(dpop) = self.inner.dpop.as_ref() else {
            return Err(self.invalid_token("DPoP is not supported here", Scheme::Bearer));
        };
        let mut proofs = Vec::new();
        for v in headers.get_all("dpop") {
            proofs.push(
                v.to_str()
                    .map_err(|_| self.invalid_proof("the DPoP header is not ASCII"))?,
            );
        }
        let proof = match single_proof_header(&proofs) {
            Ok(Some(p)) => p,
            Ok(None) => return Err(self.invalid_proof("a DPoP proof is required")),
            Err(_) => return Err(self.invalid_proof("more than one DPoP proof")),
        };
        let now = self.inner.clock.now();
        let ctx = DpopContext::new(method, htu, now)
            .with_access_token(token)
            .with_expected_jkt(jkt);
        let replay = ReplayRef(&*self.inner.replay);
        let result = match &self.inner.nonces {
            Some(n) => dpop.verify(proof, &ctx, &NoncesRef(&**n), &replay).await,
            None => dpop.verify(proof, &ctx, &NoNonces, &replay).await,
        };
        match result {
            Ok(p) => Ok(p.jkt),
            Err(e) => Err(self.proof_error(&e)),
        }
    }

    fn proof_error(&self, e: &DpopError) -> ResourceError {
        if e.is_server_error() {
            tracing::error!(target: "attesto::resource", error = %e, "DPoP check could not decide");
            return ResourceError::Unavailable;
        }
        if let Some(nonce) = e.fresh_nonce() {
            let challenge = self.dpop_challenge(true).unwrap_or_else(Challenge::dpop);
            return ResourceError::OAuth(Box::new(OAuthError::use_dpop_nonce_challenge(
                nonce, challenge,
            )));
        }
        if matches!(e, DpopError::NonceSource(_)) {
            return ResourceError::Unavailable;
        }
        tracing::debug!(target: "attesto::resource", error = %e, "DPoP proof refused");
        let description = match e {
            DpopError::Replayed => "the DPoP proof was already used",
            DpopError::KeyMismatch => "the DPoP proof key does not match the access token",
            DpopError::AthMismatch | DpopError::MissingAth => {
                "the DPoP proof does not carry the access token hash"
            }
            DpopError::UriMismatch | DpopError::MethodMismatch => {
                "the DPoP proof is for another request"
            }
            DpopError::TooOld | DpopError::IssuedInFuture => "the DPoP proof is not fresh",
            _ => "the DPoP proof is invalid",
        };
        self.invalid_proof(description)
    }

    /// The guard of an authorization server: its verifier (keys, audience,
    /// principal kinds), clock and events; the server's replay store.
    pub(crate) fn for_server<G: JtiReplayGuard + 'static>(
        cfg: &ServerConfig,
        verifier: AccessTokenVerifier,
        clock: &Arc<dyn Clock>,
        events: &Arc<dyn EventSink>,
        replay: G,
    ) -> Result<Self, ServerGuardError> {
        let mut builder = ResourceGuard::builder(verifier, cfg.issuer.clone())
            .resource_metadata(super::metadata::protected_resource_metadata_url(cfg))
            .replay_guard(replay)
            .clock(Arc::clone(clock))
            .events(Arc::clone(events));
        if cfg.dpop.enabled {
            // Nonces are a token-endpoint policy (`DpopSettings::nonce`); the
            // resource side checks proofs without them.
            builder = builder.dpop(
                DpopVerifier::builder()
                    .algorithms(cfg.dpop.algorithms)
                    .build()?,
            );
        }
        Ok(builder.build()?)
    }
}

/// Why an authorization server's own guard could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerGuardError {
    /// The DPoP verifier rejected the configuration.
    #[error("DPoP verifier")]
    Dpop(#[from] crate::dpop::DpopConfigError),
    /// The guard rejected the configuration.
    #[error("resource guard")]
    Guard(#[from] GuardConfigError),
}

/// RFC 7235 `token68`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// Hand an event to the sink; a sink that panics is logged, never fatal.
pub(crate) fn emit(sink: &dyn EventSink, event: &Event) {
    if std::panic::catch_unwind(AssertUnwindSafe(|| sink.on_event(event))).is_err() {
        tracing::error!(target: "attesto::events", event = event.name.as_str(), "event sink panicked");
    }
}

// ---------------------------------------------------------------------------
// The extractor.
// ---------------------------------------------------------------------------

/// An authenticated resource request: the verified access token.
///
/// As an axum extractor it takes the [`Authenticated`] a
/// [`RequireScopes`] layer left in the request extensions, or else
/// authenticates the request with the [`ResourceGuard`] found there
/// (install it with `.layer(axum::Extension(guard))`). Without either, the
/// request is refused with 500 (a wiring mistake, logged) rather than let
/// through.
#[derive(Clone)]
pub struct Authenticated {
    token: Arc<VerifiedToken>,
    token_type: TokenType,
    guard: ResourceGuard,
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("sub", &self.sub())
            .field("client_id", &self.client_id())
            .field("scope", &self.token.claims.scope)
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

impl Authenticated {
    /// The verified claims ([RFC 9068 §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)).
    #[must_use]
    pub fn claims(&self) -> &AccessTokenClaims {
        &self.token.claims
    }

    /// The token's `sub`.
    #[must_use]
    pub fn sub(&self) -> &str {
        &self.token.claims.sub
    }

    /// The subject mapped to its principal kind, when the verifier knows the
    /// kind.
    #[must_use]
    pub fn subject(&self) -> Option<&Subject> {
        self.token.subject.as_ref()
    }

    /// The client the token was issued to.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.token.claims.client_id
    }

    /// The granted scopes.
    #[must_use]
    pub fn scopes(&self) -> &ScopeSet {
        &self.token.scopes
    }

    /// Whether the token grants `scope` (a wildcard grant such as
    /// `documents.*` covers `documents.read`).
    #[must_use]
    pub fn has_scope(&self, scope: &str) -> bool {
        Scope::new(scope).is_ok_and(|s| self.token.scopes.grants(&s))
    }

    /// `Bearer` or `DPoP`: how the token was presented (and bound).
    #[must_use]
    pub fn token_type(&self) -> TokenType {
        self.token_type
    }

    /// The token's sender constraint.
    #[must_use]
    pub fn sender_constraint(&self) -> SenderConstraint {
        match &self.token.claims.cnf {
            Some(c) if c.jkt.is_some() => SenderConstraint::Dpop,
            Some(c) if c.x5t_s256.is_some() => SenderConstraint::Mtls,
            _ => SenderConstraint::None,
        }
    }

    /// Refuse with 403 `insufficient_scope`
    /// ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1))
    /// unless the token grants `scope`.
    ///
    /// # Errors
    /// The 403 response.
    pub fn require_scope(&self, scope: &str) -> Result<(), ResourceError> {
        self.require_scopes([scope])
    }

    /// Refuse with 403 `insufficient_scope` unless the token grants every
    /// one of `scopes`. A name that is not a scope token is never granted.
    ///
    /// # Errors
    /// The 403 response.
    pub fn require_scopes<I, S>(&self, scopes: I) -> Result<(), ResourceError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut required = ScopeSet::new();
        let mut valid = true;
        for s in scopes {
            match Scope::new(s.as_ref()) {
                Ok(scope) => {
                    required.insert(scope);
                }
                Err(_) => valid = false,
            }
        }
        if !valid {
            tracing::error!(target: "attesto::resource", "require_scopes called with an invalid scope name; refusing");
        }
        self.check_scopes(&required, false, valid)
    }

    pub(crate) fn check_scopes(
        &self,
        required: &ScopeSet,
        with_metadata: bool,
        valid: bool,
    ) -> Result<(), ResourceError> {
        if valid && required.iter().all(|s| self.token.scopes.grants(s)) {
            return Ok(());
        }
        let challenge = match self.token_type {
            TokenType::DPoP => self.guard.dpop_challenge(with_metadata),
            _ => None,
        }
        .unwrap_or_else(|| self.guard.bearer_challenge(with_metadata));
        let err = ResourceError::OAuth(Box::new(OAuthError::insufficient_scope(
            required, challenge,
        )));
        self.guard.denied(&err, Some(self.token_type));
        Err(err)
    }

    /// Load the resource owner through the host's [`PrincipalStore`]: the
    /// token's subject must be of `kind` (e.g. the server's
    /// [`user_kind`](super::ServerConfig::user_kind)) and must still exist.
    ///
    /// # Errors
    /// 401 `invalid_token` when the subject is of another kind or unknown;
    /// 503 when the store fails.
    pub async fn principal<P: PrincipalStore>(
        &self,
        store: &P,
        kind: &PrincipalKind,
    ) -> Result<P::Principal, ResourceError> {
        let scheme = match self.token_type {
            TokenType::DPoP => Scheme::Dpop,
            _ => Scheme::Bearer,
        };
        let Some(subject) = self.subject().filter(|s| s.kind() == kind.name()) else {
            return Err(self
                .guard
                .invalid_token("the access token has no subject of this kind", scheme));
        };
        match store.find_principal(subject.id()).await {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(self
                .guard
                .invalid_token("the access token's subject is unknown", scheme)),
            Err(e) => {
                tracing::error!(target: "attesto::resource", error = %e, "principal store failed");
                Err(ResourceError::Unavailable)
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ResourceError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(done) = parts.extensions.get::<Authenticated>() {
            return Ok(done.clone());
        }
        let Some(guard) = parts.extensions.get::<ResourceGuard>().cloned() else {
            tracing::error!(
                target: "attesto::resource",
                "`Authenticated` extracted but no ResourceGuard is installed; add `.layer(axum::Extension(guard))`"
            );
            return Err(ResourceError::NotConfigured);
        };
        let auth = guard.authenticate(parts).await?;
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// Why a resource request was refused; renders as the response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// No (usable) credentials: 401 with challenges and no error code
    /// ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)).
    #[error("authentication required")]
    Unauthenticated(AuthenticationRequired),
    /// A protocol error: 400 `invalid_request`, 401 `invalid_token` /
    /// `invalid_dpop_proof` / `use_dpop_nonce`, 403 `insufficient_scope`.
    #[error("{0}")]
    OAuth(Box<OAuthError>),
    /// A replay guard, nonce source or principal store could not decide: 503.
    #[error("temporarily unavailable")]
    Unavailable,
    /// No [`ResourceGuard`] is installed for this route: 500.
    #[error("no resource guard installed")]
    NotConfigured,
}

impl ResourceError {
    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            ResourceError::Unauthenticated(a) => a.status(),
            ResourceError::OAuth(e) => e.status(),
            ResourceError::Unavailable => 503,
            ResourceError::NotConfigured => 500,
        }
    }

    /// The OAuth error code, if the response carries one.
    #[must_use]
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            ResourceError::Unauthenticated(_) => None,
            ResourceError::OAuth(e) => Some(static_code(e.code())),
            ResourceError::Unavailable => Some("temporarily_unavailable"),
            ResourceError::NotConfigured => Some("server_error"),
        }
    }
}

/// The codes the guard emits, as `'static` names for events.
fn static_code(code: &ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidRequest => "invalid_request",
        ErrorCode::InvalidToken => "invalid_token",
        ErrorCode::InsufficientScope => "insufficient_scope",
        ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
        ErrorCode::UseDpopNonce => "use_dpop_nonce",
        ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        _ => "server_error",
    }
}

impl IntoResponse for ResourceError {
    fn into_response(self) -> Response {
        match self {
            ResourceError::Unauthenticated(a) => a.into_response(),
            ResourceError::OAuth(e) => (*e).into_response(),
            ResourceError::Unavailable => {
                OAuthError::temporarily_unavailable("the server is temporarily unavailable")
                    .into_response()
            }
            ResourceError::NotConfigured => {
                OAuthError::server_error("the resource is misconfigured").into_response()
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The scope layer.
// ---------------------------------------------------------------------------

/// A layer that authenticates every request and requires scopes; made by
/// [`ResourceGuard::require_scopes`].
#[derive(Clone, Debug)]
pub struct RequireScopes {
    guard: ResourceGuard,
    scopes: Arc<ScopeSet>,
    with_metadata: bool,
}

impl RequireScopes {
    /// Also advertise the guard's `resource_metadata` in the 403 challenge.
    #[must_use]
    pub fn with_resource_metadata(mut self) -> Self {
        self.with_metadata = true;
        self
    }
}

impl<S> tower::Layer<S> for RequireScopes {
    type Service = RequireScopesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopesService {
            inner,
            cfg: self.clone(),
        }
    }
}

/// The service of [`RequireScopes`].
#[derive(Clone, Debug)]
pub struct RequireScopesService<S> {
    inner: S,
    cfg: RequireScopes,
}

impl<S, B> tower::Service<Request<B>> for RequireScopesService<S>
where
    S: tower::Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let cfg = self.cfg.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let auth = match parts.extensions.get::<Authenticated>() {
                Some(done) => done.clone(),
                None => match cfg.guard.authenticate(&parts).await {
                    Ok(a) => a,
                    Err(e) => return Ok(e.into_response()),
                },
            };
            if let Err(e) = auth.check_scopes(&cfg.scopes, cfg.with_metadata, true) {
                return Ok(e.into_response());
            }
            parts.extensions.insert(auth);
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token68_accepts_jws_and_refuses_separators() {
        assert!(is_token68("eyJ.abc-_~+/=="));
        assert!(!is_token68(""));
        assert!(!is_token68("=="));
        assert!(!is_token68("a b"));
        assert!(!is_token68("a,b"));
        assert!(!is_token68("a=b"));
        assert!(!is_token68("a\"b"));
    }
}
