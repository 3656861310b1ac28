//! Dynamic client registration
//! ([RFC 7591 §3](https://www.rfc-editor.org/rfc/rfc7591#section-3)):
//! `POST {paths.register}`, mounted only when [`ServerConfig::registration`]
//! is on. This is *open* registration: no initial access token is required,
//! so any admission control (rate limits, an allowlist, an initial access
//! token) belongs in a layer in front of the route.
//!
//! The endpoint owns the protocol framing and the credentials: it parses and
//! validates the client metadata ([`parse_client_metadata`]) against the
//! server configuration, mints the `client_id` and (for secret-based
//! methods) the `client_secret`, and hands the host a [`NewClient`] holding
//! only the secret's *hash*. The host persists it through
//! [`ClientRegistration::register_client`]; the plaintext secret leaves the
//! process exactly once, in the 201 response.
//!
//! Every registration response carries a `registration_access_token` and a
//! `registration_client_uri` ([RFC 7592 §3](https://www.rfc-editor.org/rfc/rfc7592#section-3));
//! the token is stored only as its keyed hash
//! ([`NewClient::registration_access_token_hash`]). `DELETE` at the
//! `registration_client_uri` with that token as a Bearer token removes the
//! client through [`ClientRegistration::unregister_client`]
//! ([RFC 7592 §2.3](https://www.rfc-editor.org/rfc/rfc7592#section-2.3)): 204 on
//! success; a missing, wrong or unverifiable token, an unknown client, or a
//! host that does not implement deletion is 401 `invalid_token` with a
//! `Bearer` challenge (fail closed). Deleting a client does not revoke the
//! access tokens already issued to it (they expire), but its refresh tokens
//! and client authentication stop working once `find_client` no longer finds it.
//!
//! Not implemented: RFC 7592 read (`GET`) and update (`PUT`) at the
//! `registration_client_uri` (405), software statements (ignored, as
//! RFC 7591 §3.1.1 allows), and `jwks_uri` (refused).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::config::GrantType;
use super::{Host, Inner, ServerConfig};
use crate::client_auth::{ClientAuthMethod, HashedSecret, generate_client_secret};
use crate::clock::UnixTime;
use crate::config::is_loopback_host;
use crate::error::{Challenge, OAuthError};
use crate::host::{ClientLookup, Event, EventName, OAuthClient as _};
use crate::jose::JwkSet;
use crate::scope::ScopeSet;
use crate::secret::Secret;
use crate::store::Stores;

/// Most redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 32;
/// Longest redirect URI accepted, in bytes.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;
/// Longest `client_name` accepted, in characters.
pub const MAX_CLIENT_NAME_LEN: usize = 256;
/// Entropy of a generated `client_id`, in bytes (base64url-encoded: 32 characters).
pub const CLIENT_ID_BYTES: usize = 24;
/// Entropy of a generated registration access token, in bytes (RFC 7592 §3).
pub const REGISTRATION_ACCESS_TOKEN_BYTES: usize = 32;

/// Validated client metadata
/// ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2)): what a
/// registration request asked for, after every rule has been checked and
/// every default applied. This is exactly what the registration response
/// echoes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClientMetadata {
    /// `redirect_uris`: absolute `https` URIs (or `http` on a loopback host),
    /// without fragment, kept byte-for-byte as sent (they are matched exactly).
    /// Non-empty whenever `authorization_code` is registered.
    pub redirect_uris: Vec<String>,
    /// `grant_types`: a non-empty subset of the server's enabled grants.
    /// Default `["authorization_code"]` (RFC 7591 §2).
    pub grant_types: Vec<GrantType>,
    /// `response_types`: `["code"]` exactly when `authorization_code` is
    /// registered, otherwise empty (RFC 7591 §2.1).
    pub response_types: Vec<String>,
    /// `token_endpoint_auth_method`: default `client_secret_basic`.
    pub token_endpoint_auth_method: ClientAuthMethod,
    /// `jwks`: the client's public keys, held inline. Required for
    /// `private_key_jwt` (`jwks_uri` is not supported).
    pub jwks: Option<JwkSet>,
    /// `dpop_bound_access_tokens` ([RFC 9449 §5.2](https://www.rfc-editor.org/rfc/rfc9449#section-5.2)):
    /// every token issued to the client must be DPoP-bound.
    pub dpop_bound_access_tokens: bool,
    /// `scope`: the scopes the client may ask for, each in the server's
    /// catalog. When the request names none it is the server's
    /// `registration_default_scopes` (empty by default: a registration
    /// without `scope` gets no scope, fail closed), never the whole catalog.
    pub scope: ScopeSet,
    /// `client_name`, for consent screens. Never contains control characters.
    pub client_name: Option<String>,
    /// `id_token_signed_response_alg`
    /// ([OIDC Registration §2](https://openid.net/specs/openid-connect-registration-1_0.html#ClientMetadata)):
    /// one of the server's [`ServerConfig::id_token_algs`]; `None` when the
    /// request named none (the server's default applies).
    pub id_token_signed_response_alg: Option<crate::jose::Algorithm>,
}

impl ClientMetadata {
    /// Whether the client is public (`token_endpoint_auth_method: none`).
    #[must_use]
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == ClientAuthMethod::None
    }

    /// Whether the client registered `grant`.
    #[must_use]
    pub fn has_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// A client to persist: validated metadata plus the credentials the server
/// minted for it. Only the secret's **hash** is here, never the plaintext
/// ([RFC 7591 §3.2.1](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.1)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewClient {
    /// The generated `client_id` (24 random bytes, base64url).
    pub client_id: String,
    /// The stored form of the generated `client_secret` (verify it later with
    /// the server's [`SecretHasher`](crate::client_auth::SecretHasher), i.e.
    /// return it from [`OAuthClient::client_secret_hash`](crate::host::OAuthClient::client_secret_hash));
    /// `None` for `none` and `private_key_jwt` clients.
    pub client_secret_hash: Option<HashedSecret>,
    /// `client_id_issued_at`, seconds since the epoch.
    pub client_id_issued_at: UnixTime,
    /// The stored form of the RFC 7592 `registration_access_token` (keyed
    /// hash, as for client secrets): return it from
    /// [`OAuthClient::registration_access_token_hash`](crate::host::OAuthClient::registration_access_token_hash)
    /// so the client can later be deleted at its `registration_client_uri`.
    pub registration_access_token_hash: HashedSecret,
    /// The registered metadata.
    pub metadata: ClientMetadata,
}

/// Why the host did not persist a registration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The host does not accept registrations (the default of
    /// [`ClientRegistration::register_client`]): answered
    /// `invalid_client_metadata`, nothing is registered.
    #[error("client registration is not supported")]
    NotSupported,
    /// The host refuses this client (policy, a duplicate name, …): answered
    /// `invalid_client_metadata` with `description`, not a server fault.
    #[error("registration refused: {description}")]
    Rejected {
        /// Sent to the client as `error_description` (sanitized).
        description: String,
    },
    /// The backend failed: answered 503 `temporarily_unavailable`; the
    /// cause goes to the log only.
    #[error("registration backend unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The host's side of dynamic client registration: persisting a new client.
///
/// The default refuses every registration (fail closed), so a host that
/// does not offer registration writes `impl ClientRegistration for MyHost {}`.
/// After a successful registration, [`ClientRegistry::find_client`](crate::host::ClientRegistry::find_client)
/// must find the client.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::RwLock;
/// use attesto::server::{ClientRegistration, NewClient, RegistrationError};
///
/// #[derive(Default)]
/// struct Registry(RwLock<HashMap<String, NewClient>>);
///
/// impl ClientRegistration for Registry {
///     async fn register_client(&self, client: NewClient) -> Result<(), RegistrationError> {
///         let mut map = self.0.write().map_err(|_| RegistrationError::Rejected {
///             description: "registry unavailable".into(),
///         })?;
///         map.insert(client.client_id.clone(), client);
///         Ok(())
///     }
/// }
/// ```
pub trait ClientRegistration: Send + Sync + 'static {
    /// Persist `client`. The default returns [`RegistrationError::NotSupported`].
    fn register_client(
        &self,
        client: NewClient,
    ) -> impl Future<Output = Result<(), RegistrationError>> + Send {
        let _ = client;
        std::future::ready(Err(RegistrationError::NotSupported))
    }

    /// Remove the client `client_id` ([RFC 7592 §2.3](https://www.rfc-editor.org/rfc/rfc7592#section-2.3)),
    /// called only after its registration access token verified. Afterwards
    /// [`ClientRegistry::find_client`](crate::host::ClientRegistry::find_client)
    /// must no longer find it. The default returns
    /// [`RegistrationError::NotSupported`], answered 401 `invalid_token`
    /// (fail closed: nothing is deleted).
    fn unregister_client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<(), RegistrationError>> + Send {
        let _ = client_id;
        std::future::ready(Err(RegistrationError::NotSupported))
    }
}

/// The routes of this endpoint: `POST {paths.register}` when registration is on.
pub(crate) fn routes<H: Host, S: Stores>(cfg: &ServerConfig) -> Router<Arc<Inner<H, S>>> {
    if cfg.registration {
        Router::new()
            .route(&cfg.paths.register, post(register::<H, S>))
            .route(
                &format!("{}/{{client_id}}", cfg.paths.register),
                delete(unregister::<H, S>).fallback(delete_only),
            )
    } else {
        Router::new()
    }
}

/// The client configuration URI of `client_id` (RFC 7592 §3).
fn registration_client_uri(cfg: &ServerConfig, client_id: &str) -> String {
    cfg.url(&format!("{}/{client_id}", cfg.paths.register))
}

/// RFC 7592 read and update are not offered: 405 with `Allow: DELETE`.
async fn delete_only() -> Response {
    let mut resp = OAuthError::invalid_request("only DELETE is supported here")
        .with_status(405)
        .into_response();
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("DELETE"));
    resp
}

/// The Bearer token of the request: exactly one `Authorization` header with
/// the `Bearer` scheme (case-insensitive) and a non-empty token.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// The one refusal of the client configuration endpoint: 401
/// `invalid_token` with a `Bearer` challenge (RFC 6750 §3.1).
fn invalid_registration_token(presented: bool) -> Response {
    let challenge = if presented {
        Challenge::bearer()
    } else {
        Challenge::bearer().without_error()
    };
    OAuthError::invalid_token("the registration access token is missing or invalid")
        .with_challenge(challenge)
        .into_response()
}

/// `DELETE {paths.register}/{client_id}` (RFC 7592 §2.3).
#[tracing::instrument(name = "unregister", target = "attesto::register", skip_all)]
async fn unregister<H: Host, S: Stores>(
    State(s): State<Arc<Inner<H, S>>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer_token(&headers) else {
        return invalid_registration_token(false);
    };
    let client = match s.host.find_client(&client_id).await {
        Ok(ClientLookup::Found(c)) => Some(c),
        Ok(_) => None,
        Err(e) => return super::unavailable(&e),
    };
    // The same keyed-hash work whether or not the client exists, and a
    // constant-time comparison.
    let verified = match client
        .as_ref()
        .and_then(|c| c.registration_access_token_hash())
        .and_then(|h| HashedSecret::from_stored(h).ok())
    {
        Some(stored) => s.secrets.verify(token, &stored),
        None => s.secrets.verify_dummy(token),
    };
    if !verified {
        tracing::info!(target: "attesto::register", "client deletion refused: bad registration access token or unknown client");
        return invalid_registration_token(true);
    }
    match s.host.unregister_client(&client_id).await {
        Ok(()) => {}
        Err(RegistrationError::NotSupported) => {
            tracing::warn!(target: "attesto::register", "a client deletion was authorized but the host does not implement ClientRegistration::unregister_client");
            return invalid_registration_token(true);
        }
        Err(RegistrationError::Rejected { description }) => {
            return OAuthError::invalid_request(&description).into_response();
        }
        Err(RegistrationError::Unavailable(e)) => return super::unavailable(&*e),
    }
    tracing::info!(target: "attesto::register", client_id = %client_id, "client deleted");
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// Why client metadata was refused
/// ([RFC 7591 §3.2.2](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2)).
/// Becomes an [`OAuthError`] with [`From`].
///
/// ```
/// use attesto::error::OAuthError;
/// use attesto::server::MetadataError;
/// let err = OAuthError::from(MetadataError::RedirectUri("a redirect URI must not contain a fragment"));
/// assert_eq!(err.code().as_str(), "invalid_redirect_uri");
/// assert_eq!(err.status(), 400);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// `invalid_redirect_uri`: a redirect URI is malformed or not allowed, or one is required and missing.
    #[error("invalid_redirect_uri: {0}")]
    RedirectUri(&'static str),
    /// `invalid_client_metadata`: any other member is invalid, of the wrong
    /// type, or inconsistent with another; or the body is not a JSON object.
    #[error("invalid_client_metadata: {0}")]
    ClientMetadata(&'static str),
}

impl MetadataError {
    /// The OAuth error code.
    #[must_use]
    pub const fn error_code(&self) -> &'static str {
        match self {
            Self::RedirectUri(_) => "invalid_redirect_uri",
            Self::ClientMetadata(_) => "invalid_client_metadata",
        }
    }

    /// The `error_description` sent to the client.
    #[must_use]
    pub const fn description(&self) -> &'static str {
        match self {
            Self::RedirectUri(d) | Self::ClientMetadata(d) => d,
        }
    }
}

impl From<MetadataError> for OAuthError {
    fn from(e: MetadataError) -> Self {
        match e {
            MetadataError::RedirectUri(d) => OAuthError::invalid_redirect_uri(d),
            MetadataError::ClientMetadata(d) => OAuthError::invalid_client_metadata(d),
        }
    }
}

fn metadata_error(description: &'static str) -> MetadataError {
    MetadataError::ClientMetadata(description)
}

fn redirect_error(description: &'static str) -> MetadataError {
    MetadataError::RedirectUri(description)
}

/// Whether the request's `Content-Type` is `application/json` (parameters
/// allowed; a `charset` other than UTF-8 is refused).
fn is_json_content_type(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|p| {
        let mut kv = p.splitn(2, '=');
        let name = kv.next().unwrap_or("").trim();
        let val = kv.next().unwrap_or("").trim().trim_matches('"');
        !name.eq_ignore_ascii_case("charset") || val.eq_ignore_ascii_case("utf-8")
    })
}

#[tracing::instrument(name = "register", target = "attesto::register", skip_all)]
async fn register<H: Host, S: Stores>(
    State(s): State<Arc<Inner<H, S>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // RFC 7591 §3.1: the body is JSON; never parse another encoding.
    if !is_json_content_type(&headers) {
        return OAuthError::invalid_client_metadata("the request must be application/json")
            .into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status().as_u16();
            let status = if (400..500).contains(&status) {
                status
            } else {
                400
            };
            return OAuthError::invalid_client_metadata("the request body could not be read")
                .with_status(status)
                .into_response();
        }
    };
    let metadata = match parse_client_metadata(&body, &s.cfg) {
        Ok(m) => m,
        Err(e) => return OAuthError::from(e).into_response(),
    };
    let client_id = match s.rng.token(CLIENT_ID_BYTES) {
        Ok(id) => id,
        Err(e) => return super::unavailable(&e),
    };
    let (secret, secret_hash) = if issues_secret(metadata.token_endpoint_auth_method) {
        let secret = match generate_client_secret(&*s.rng) {
            Ok(secret) => secret,
            Err(e) => return super::unavailable(&e),
        };
        match s.secrets.hash(secret.expose()) {
            Ok(hash) => (Some(secret), Some(hash)),
            Err(e) => return super::unavailable(&e),
        }
    } else {
        (None, None)
    };
    let registration_token = match s.rng.token(REGISTRATION_ACCESS_TOKEN_BYTES) {
        Ok(t) => Secret::new(t),
        Err(e) => return super::unavailable(&e),
    };
    let registration_token_hash = match s.secrets.hash(registration_token.expose()) {
        Ok(h) => h,
        Err(e) => return super::unavailable(&e),
    };
    let issued_at = s.clock.now();
    let new_client = NewClient {
        client_id: client_id.clone(),
        client_secret_hash: secret_hash,
        client_id_issued_at: issued_at,
        registration_access_token_hash: registration_token_hash,
        metadata: metadata.clone(),
    };
    match s.host.register_client(new_client).await {
        Ok(()) => {}
        Err(RegistrationError::NotSupported) => {
            tracing::warn!(target: "attesto::register", "registration is mounted but the host does not implement ClientRegistration::register_client");
            return OAuthError::invalid_client_metadata(
                "this server does not accept client registrations",
            )
            .into_response();
        }
        Err(RegistrationError::Rejected { description }) => {
            return OAuthError::invalid_client_metadata(&description).into_response();
        }
        Err(RegistrationError::Unavailable(e)) => return super::unavailable(&*e),
    }
    let mut event = Event::new(EventName::ClientRegistered);
    event.client_id = Some(client_id.clone());
    if !metadata.scope.is_empty() {
        event.scope = Some(metadata.scope.to_string());
    }
    event.metadata.insert(
        "token_endpoint_auth_method".into(),
        Value::String(metadata.token_endpoint_auth_method.as_str().into()),
    );
    s.events.on_event(&event);
    tracing::info!(target: "attesto::register", client_id = %client_id, method = metadata.token_endpoint_auth_method.as_str(), "client registered");
    let client_uri = registration_client_uri(&s.cfg, &client_id);
    let body = RegistrationResponse {
        client_id: &client_id,
        client_secret: secret.as_ref().map(|s| s.expose()),
        client_id_issued_at: issued_at,
        client_secret_expires_at: secret.as_ref().map(|_| 0),
        registration: Some((registration_token.expose(), &client_uri)),
        metadata: &metadata,
    };
    match serde_json::to_string(&body) {
        Ok(json) => super::response::no_store_json(StatusCode::CREATED, json),
        Err(e) => super::unavailable(&e),
    }
}

/// Whether `method` authenticates with a server-issued `client_secret`.
fn issues_secret(method: ClientAuthMethod) -> bool {
    matches!(
        method,
        ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
    )
}

/// The client information response ([RFC 7591 §3.2.1](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.1)).
struct RegistrationResponse<'a> {
    client_id: &'a str,
    client_secret: Option<&'a str>,
    client_id_issued_at: UnixTime,
    client_secret_expires_at: Option<i64>,
    /// `registration_access_token` and `registration_client_uri` (RFC 7592 §3).
    registration: Option<(&'a str, &'a str)>,
    metadata: &'a ClientMetadata,
}

impl serde::Serialize for RegistrationResponse<'_> {
    fn serialize<Ser: serde::Serializer>(&self, ser: Ser) -> Result<Ser::Ok, Ser::Error> {
        use serde::ser::SerializeMap;
        let m = self.metadata;
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("client_id", self.client_id)?;
        if let Some(secret) = self.client_secret {
            map.serialize_entry("client_secret", secret)?;
        }
        map.serialize_entry("client_id_issued_at", &self.client_id_issued_at)?;
        if let Some(exp) = self.client_secret_expires_at {
            map.serialize_entry("client_secret_expires_at", &exp)?;
        }
        if let Some((token, uri)) = self.registration {
            map.serialize_entry("registration_access_token", token)?;
            map.serialize_entry("registration_client_uri", uri)?;
        }
        if !m.redirect_uris.is_empty() {
            map.serialize_entry("redirect_uris", &m.redirect_uris)?;
        }
        let grants: Vec<&str> = m.grant_types.iter().map(|g| g.as_str()).collect();
        map.serialize_entry("grant_types", &grants)?;
        map.serialize_entry("response_types", &m.response_types)?;
        map.serialize_entry("token_endpoint_auth_method", &m.token_endpoint_auth_method)?;
        if !m.scope.is_empty() {
            map.serialize_entry("scope", &m.scope.to_string())?;
        }
        if let Some(name) = &m.client_name {
            map.serialize_entry("client_name", name)?;
        }
        if let Some(jwks) = &m.jwks {
            map.serialize_entry("jwks", jwks)?;
        }
        if m.dpop_bound_access_tokens {
            map.serialize_entry("dpop_bound_access_tokens", &true)?;
        }
        if let Some(alg) = m.id_token_signed_response_alg {
            map.serialize_entry("id_token_signed_response_alg", alg.as_str())?;
        }
        map.end()
    }
}

/// A JSON object whose top-level member names are unique: a repeated
/// member is refused rather than silently resolved to its last value.
struct UniqueObject(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UniqueObject, A::Error> {
                let mut map = Map::new();
                while let Some(key) = access.next_key::<String>()? {
                    if map.contains_key(&key) {
                        return Err(de::Error::custom("duplicate member"));
                    }
                    let value: Value = access.next_value()?;
                    map.insert(key, value);
                }
                Ok(UniqueObject(map))
            }
        }
        d.deserialize_map(V)
    }
}

/// A member, with JSON `null` read as absent.
fn member<'a>(doc: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    doc.get(name).filter(|v| !v.is_null())
}

/// An optional array of strings, deduplicated in order; `what` names the
/// member in the error.
fn string_array<'a>(
    doc: &'a Map<String, Value>,
    name: &str,
    wrong_type: &'static str,
) -> Result<Option<Vec<&'a str>>, MetadataError> {
    let Some(value) = member(doc, name) else {
        return Ok(None);
    };
    let Value::Array(items) = value else {
        return Err(metadata_error(wrong_type));
    };
    let mut out: Vec<&str> = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(s) = item else {
            return Err(metadata_error(wrong_type));
        };
        if !out.contains(&s.as_str()) {
            out.push(s);
        }
    }
    Ok(Some(out))
}

fn optional_string<'a>(
    doc: &'a Map<String, Value>,
    name: &str,
    wrong_type: &'static str,
) -> Result<Option<&'a str>, MetadataError> {
    match member(doc, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(metadata_error(wrong_type)),
    }
}

/// Check one redirect URI: absolute, `https` (or `http` on a loopback host),
/// with a host, without fragment or user information, printable ASCII only
/// (so that the string registered is the string matched, byte for byte).
fn check_redirect_uri(uri: &str) -> Result<(), MetadataError> {
    if uri.is_empty() || uri.len() > MAX_REDIRECT_URI_LEN {
        return Err(redirect_error("a redirect URI is empty or too long"));
    }
    if !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(redirect_error(
            "a redirect URI contains whitespace, control or non-ASCII characters",
        ));
    }
    if uri.contains('#') {
        return Err(redirect_error("a redirect URI must not contain a fragment"));
    }
    let url = url::Url::parse(uri)
        .map_err(|_| redirect_error("a redirect URI is not an absolute URI"))?;
    let Some(host) = url.host() else {
        return Err(redirect_error("a redirect URI must have a host"));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(redirect_error(
            "a redirect URI must not carry user information",
        ));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&host) => Ok(()),
        _ => Err(redirect_error(
            "a redirect URI must use https (http only on a loopback host)",
        )),
    }
}

/// Parse and validate a registration request body
/// ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2),
/// [§3.1](https://www.rfc-editor.org/rfc/rfc7591#section-3.1)) against the
/// server configuration.
///
/// Members are checked one by one in a fixed order — `redirect_uris`,
/// `token_endpoint_auth_method`, `grant_types`, `response_types`,
/// `client_name`, `scope`, `jwks_uri`, `jwks`, `id_token_signed_response_alg`,
/// `dpop_bound_access_tokens` —
/// then their combinations; the first failure is returned. A problem with a
/// redirect URI is `invalid_redirect_uri`; everything else
/// (including a member of the wrong JSON type, malformed JSON and a repeated
/// member) is `invalid_client_metadata`. Unknown members are ignored, and
/// JSON `null` counts as absent.
///
/// ```
/// use attesto::server::{ServerConfig, parse_client_metadata};
/// let cfg = ServerConfig::builder("https://id.example").scopes(["openid", "read"]).build().unwrap();
/// let md = parse_client_metadata(
///     br#"{"redirect_uris":["https://app.example/cb"],"scope":"openid","token_endpoint_auth_method":"none"}"#,
///     &cfg,
/// ).unwrap();
/// assert!(md.is_public());
/// assert_eq!(md.response_types, ["code"]);
///
/// let err = parse_client_metadata(br#"{"redirect_uris":["http://app.example/cb"]}"#, &cfg).unwrap_err();
/// assert_eq!(err.error_code(), "invalid_redirect_uri");
/// let err = parse_client_metadata(br#"{"redirect_uris":["https://app.example/cb"],"scope":"admin"}"#, &cfg).unwrap_err();
/// assert_eq!(err.error_code(), "invalid_client_metadata");
/// ```
///
/// # Errors
/// A [`MetadataError`]: `invalid_redirect_uri` or `invalid_client_metadata`.
pub fn parse_client_metadata(
    body: &[u8],
    cfg: &ServerConfig,
) -> Result<ClientMetadata, MetadataError> {
    let UniqueObject(doc) = serde_json::from_slice(body).map_err(|_| {
        metadata_error("the request body must be a JSON object with unique member names")
    })?;

    // redirect_uris
    let redirect_uris = string_array(
        &doc,
        "redirect_uris",
        "redirect_uris must be an array of strings",
    )?
    .unwrap_or_default();
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(redirect_error("too many redirect URIs"));
    }
    for uri in &redirect_uris {
        check_redirect_uri(uri)?;
    }

    // token_endpoint_auth_method
    let method = match optional_string(
        &doc,
        "token_endpoint_auth_method",
        "token_endpoint_auth_method must be a string",
    )? {
        None => ClientAuthMethod::ClientSecretBasic,
        Some(name) => match name.parse::<ClientAuthMethod>() {
            Ok(
                m @ (ClientAuthMethod::ClientSecretBasic
                | ClientAuthMethod::ClientSecretPost
                | ClientAuthMethod::PrivateKeyJwt
                | ClientAuthMethod::None),
            ) => m,
            _ => {
                return Err(metadata_error("unsupported token_endpoint_auth_method"));
            }
        },
    };

    // grant_types
    let grant_types = match string_array(
        &doc,
        "grant_types",
        "grant_types must be an array of strings",
    )? {
        None => vec![GrantType::AuthorizationCode],
        Some(names) => {
            let mut grants = Vec::with_capacity(names.len());
            for name in names {
                match GrantType::parse(name) {
                    Some(g) => grants.push(g),
                    None => return Err(metadata_error("unsupported grant type")),
                }
            }
            grants
        }
    };
    if grant_types.is_empty() {
        return Err(metadata_error("grant_types must not be empty"));
    }
    if grant_types.iter().any(|g| !cfg.has_grant(*g)) {
        return Err(metadata_error("a grant type is not enabled on this server"));
    }
    let wants_code = grant_types.contains(&GrantType::AuthorizationCode);

    // response_types
    let response_types: Vec<String> = match string_array(
        &doc,
        "response_types",
        "response_types must be an array of strings",
    )? {
        None if wants_code => vec!["code".to_owned()],
        None => Vec::new(),
        Some(types) => {
            if types.iter().any(|t| *t != "code") {
                return Err(metadata_error("unsupported response type (only code)"));
            }
            types.into_iter().map(str::to_owned).collect()
        }
    };

    // client_name
    let client_name = match optional_string(&doc, "client_name", "client_name must be a string")? {
        None | Some("") => None,
        Some(name) => {
            if name.chars().count() > MAX_CLIENT_NAME_LEN {
                return Err(metadata_error("client_name is too long"));
            }
            if name.chars().any(char::is_control) {
                return Err(metadata_error("client_name contains control characters"));
            }
            Some(name.to_owned())
        }
    };

    // scope
    let scope = match optional_string(&doc, "scope", "scope must be a space-delimited string")? {
        None => ScopeSet::from_tokens(&cfg.registration_default_scopes)
            .map_err(|_| metadata_error("the server's default scopes are invalid"))?,
        Some(value) => {
            let requested =
                ScopeSet::parse(value).map_err(|_| metadata_error("scope is malformed"))?;
            let catalog = ScopeSet::from_tokens(&cfg.scopes_supported)
                .map_err(|_| metadata_error("the server's scope catalog is invalid"))?;
            if requested.iter().any(|s| !catalog.grants(s)) {
                return Err(metadata_error(
                    "scope names a scope this server does not support",
                ));
            }
            requested
        }
    };

    // jwks_uri, jwks
    if member(&doc, "jwks_uri").is_some() {
        return Err(metadata_error(
            "jwks_uri is not supported; send the keys inline as jwks",
        ));
    }
    let jwks = match member(&doc, "jwks") {
        None => None,
        Some(value @ Value::Object(_)) => {
            let set = JwkSet::from_value(value)
                .map_err(|_| metadata_error("jwks is not a valid JWK Set of public keys"))?;
            if set.keys.is_empty() {
                return Err(metadata_error("jwks holds no usable public key"));
            }
            Some(set)
        }
        Some(_) => return Err(metadata_error("jwks must be a JWK Set object")),
    };

    // id_token_signed_response_alg: only an algorithm the server advertises
    // (and so holds a key for); `none` is never accepted.
    let id_token_signed_response_alg = match optional_string(
        &doc,
        "id_token_signed_response_alg",
        "id_token_signed_response_alg must be a string",
    )? {
        None => None,
        Some(name) => match name.parse::<crate::jose::Algorithm>() {
            Ok(alg) if cfg.id_token_algs().contains(&alg) => Some(alg),
            _ => {
                return Err(metadata_error(
                    "id_token_signed_response_alg is not supported by this server",
                ));
            }
        },
    };

    // dpop_bound_access_tokens
    let dpop_bound_access_tokens = match member(&doc, "dpop_bound_access_tokens") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(metadata_error("dpop_bound_access_tokens must be a boolean")),
    };

    // combinations
    if wants_code != response_types.iter().any(|t| t == "code") {
        return Err(metadata_error(
            "grant_types and response_types are inconsistent (authorization_code goes with code)",
        ));
    }
    if wants_code && redirect_uris.is_empty() {
        return Err(redirect_error(
            "redirect_uris is required for the authorization_code grant",
        ));
    }
    if method == ClientAuthMethod::None && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(metadata_error(
            "a public client (token_endpoint_auth_method none) cannot use client_credentials",
        ));
    }
    if method == ClientAuthMethod::PrivateKeyJwt && jwks.is_none() {
        return Err(metadata_error("private_key_jwt requires jwks"));
    }
    if dpop_bound_access_tokens && !cfg.dpop.enabled {
        return Err(metadata_error("DPoP is not enabled on this server"));
    }

    Ok(ClientMetadata {
        redirect_uris: redirect_uris.into_iter().map(str::to_owned).collect(),
        grant_types,
        response_types,
        token_endpoint_auth_method: method,
        jwks,
        dpop_bound_access_tokens,
        scope,
        client_name,
        id_token_signed_response_alg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ServerConfig {
        ServerConfig::builder("https://id.example")
            .scopes(["openid", "profile", "docs.*"])
            .registration(true)
            .build()
            .unwrap()
    }

    fn parse(json: &str) -> Result<ClientMetadata, MetadataError> {
        parse_client_metadata(json.as_bytes(), &cfg())
    }

    #[test]
    fn wildcard_catalog_entries_cover_registered_scopes() {
        let md = parse(r#"{"redirect_uris":["https://a.example/cb"],"scope":"openid docs.read"}"#)
            .unwrap();
        assert_eq!(md.scope.to_string(), "openid docs.read");
    }

    #[test]
    fn null_members_count_as_absent() {
        let md =
            parse(r#"{"redirect_uris":["https://a.example/cb"],"client_name":null,"jwks":null}"#)
                .unwrap();
        assert_eq!(md.client_name, None);
        assert_eq!(
            md.token_endpoint_auth_method,
            ClientAuthMethod::ClientSecretBasic
        );
    }

    #[test]
    fn content_type_parameters_are_checked() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json_content_type(&h));
        h.insert(header::CONTENT_TYPE, "Application/JSON".parse().unwrap());
        assert!(is_json_content_type(&h));
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=latin1".parse().unwrap(),
        );
        assert!(!is_json_content_type(&h));
        h.insert(header::CONTENT_TYPE, "application/jsonx".parse().unwrap());
        assert!(!is_json_content_type(&h));
        h.append(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(!is_json_content_type(&h), "two Content-Type headers");
        assert!(!is_json_content_type(&HeaderMap::new()));
    }

    #[test]
    fn id_token_signed_response_alg_must_be_offered_by_the_server() {
        use crate::jose::Algorithm;
        let base = r#"{"redirect_uris":["https://app.example/cb"],"id_token_signed_response_alg":"#;
        let md = parse(&format!("{base}\"RS256\"}}")).unwrap();
        assert_eq!(md.id_token_signed_response_alg, Some(Algorithm::RS256));
        assert_eq!(
            parse(&format!("{base}null}}"))
                .unwrap()
                .id_token_signed_response_alg,
            None
        );
        for refused in ["\"ES256\"", "\"none\"", "\"HS256\"", "\"\"", "256"] {
            assert_eq!(
                parse(&format!("{base}{refused}}}"))
                    .unwrap_err()
                    .error_code(),
                "invalid_client_metadata",
                "{refused}"
            );
        }
        let offered = ServerConfig::builder("https://id.example")
            .id_token_extra_algs([Algorithm::ES256])
            .build()
            .unwrap();
        let md = parse_client_metadata(format!("{base}\"ES256\"}}").as_bytes(), &offered).unwrap();
        assert_eq!(md.id_token_signed_response_alg, Some(Algorithm::ES256));
        // The registration response echoes it.
        let body = serde_json::to_value(RegistrationResponse {
            client_id: "c",
            client_secret: None,
            client_id_issued_at: 1,
            client_secret_expires_at: None,
            registration: None,
            metadata: &md,
        })
        .unwrap();
        assert_eq!(body["id_token_signed_response_alg"], "ES256");
    }
}
