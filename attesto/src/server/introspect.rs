//! The introspection endpoint ([RFC 7662](https://www.rfc-editor.org/rfc/rfc7662),
//! with the [RFC 9701](https://www.rfc-editor.org/rfc/rfc9701) signed response).
//!
//! `POST {paths.introspect}` with `token` (required) and `token_type_hint`
//! (ignored: the kind is told by shape).
//!
//! * The caller authenticates as a confidential client (public clients may
//!   not introspect); failure is `invalid_client` (400, or 401 + `Basic`
//!   challenge after an `Authorization`-header attempt).
//! * `active: true` only for a token of this server that verifies now: an
//!   access token with a valid signature, `typ`, issuer and subject kind,
//!   unexpired (no leeway), whose grant (refresh family) is not revoked; or
//!   a live, unrotated, unrevoked refresh token.
//! * A token that verified before is served from a bounded cache of verified
//!   tokens ([`ServerConfig::introspection_cache`]): the hit skips only the
//!   signature check. Expiry, the grant's revocation and that the signing key
//!   is still in the keystore are checked on every request.
//! * Anything else is exactly `{"active":false}`
//!   ([RFC 7662 §2.2](https://www.rfc-editor.org/rfc/rfc7662#section-2.2)).
//! * `Accept: application/token-introspection+jwt` → a JWT signed with the
//!   server's key, `typ: token-introspection+jwt`, claims `iss`, `aud` (the
//!   caller's client id), `iat` and `token_introspection` (the same object)
//!   ([RFC 9701 §5](https://www.rfc-editor.org/rfc/rfc9701#section-5)).
//!
//! Every response carries `Cache-Control: no-store` and `Pragma: no-cache`.

// `OAuthError` is the one error value of every endpoint step and is rendered
// once per request; boxing it would only add an allocation on every error.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::Value;

use super::client::{backend_error, read_token_request};
use super::response::no_store_json;
use super::token::{family_alive, looks_like_jwt, method_not_allowed, verify_own_access_token};
use super::{Host, Inner, ServerConfig};
use crate::client_auth::ClientAuthPolicy;
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::jose::{Algorithm, HeaderParams, UnverifiedJws, sign_compact};
use crate::secret::sha256;
use crate::store::{RefreshLookup, RefreshTokenStore, Stores, TokenHash};
use crate::token::{AccessTokenClaims, Audience};

/// The media type of an RFC 9701 response.
pub(crate) const INTROSPECTION_JWT: &str = "application/token-introspection+jwt";

/// The `typ` of an RFC 9701 response.
const INTROSPECTION_TYP: &str = "token-introspection+jwt";

/// The routes of this endpoint.
pub(crate) fn routes<H: Host, S: Stores>(cfg: &ServerConfig) -> Router<Arc<Inner<H, S>>> {
    Router::new().route(
        &cfg.paths.introspect,
        post(introspect::<H, S>).fallback(method_not_allowed),
    )
}

/// Which kind of token was introspected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntrospectedKind {
    /// An access token (a JWT of this server, RFC 9068).
    #[default]
    AccessToken,
    /// A refresh token (opaque, looked up in the refresh store).
    RefreshToken,
}

/// An introspection response
/// ([RFC 7662 §2.2](https://www.rfc-editor.org/rfc/rfc7662#section-2.2)),
/// as [`ResourcePolicy::introspection_allowed`](super::ResourcePolicy::introspection_allowed)
/// sees it before it is sent. Members that are `None` are omitted on the wire;
/// an inactive token is exactly `{"active":false}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IntrospectedToken {
    /// Whether the token is active (always `true` when the policy is asked).
    pub active: bool,
    /// The kind of token (not serialized).
    #[serde(skip)]
    pub kind: IntrospectedKind,
    /// The granted scope, space-delimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `Bearer` or `DPoP` (access tokens only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Expiry, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<UnixTime>,
    /// Issue time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<UnixTime>,
    /// Not-before time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<UnixTime>,
    /// The subject (with its kind's prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The audiences (resource indicators).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The access token's `jti`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The confirmation (key binding, RFC 9449 / RFC 8705).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Value>,
}

type Introspection = IntrospectedToken;

/// The RFC 9701 §5 claims.
#[derive(Serialize)]
struct SignedIntrospection<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: UnixTime,
    token_introspection: &'a Introspection,
}

async fn introspect<H: Host, S: Stores>(
    State(inner): State<Arc<Inner<H, S>>>,
    req: Request,
) -> Response {
    let now = inner.clock.now();
    match handle(&inner, req, now).await {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    }
}

/// Whether the caller asked for the RFC 9701 JWT response.
fn wants_jwt(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            m.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(INTROSPECTION_JWT))
        })
}

async fn handle<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    req: Request,
    now: UnixTime,
) -> Result<Response, OAuthError> {
    let request =
        read_token_request(inner, req, &ClientAuthPolicy::confidential_only(), now).await?;
    let (parts, authd, token) = (&request.parts, &request.client, request.token());
    let mut info = if looks_like_jwt(token) {
        access_token(inner, token, now).await?
    } else {
        refresh_token(inner, token, now).await?
    };
    // RFC 7662 §4: the host decides which callers may learn about which
    // tokens. Consulted for active tokens only; `false`, or a panic, is
    // indistinguishable from an unknown token (fail closed).
    if info.active && !introspection_allowed(&inner.host, authd.client_id(), &info) {
        tracing::info!(
            target: "attesto::introspect",
            client_id = authd.client_id(),
            "introspection refused by the host's policy"
        );
        info = Introspection::default();
    }
    tracing::info!(
        target: "attesto::introspect",
        client_id = authd.client_id(),
        active = info.active,
        "introspection"
    );
    if wants_jwt(&parts.headers) {
        signed(inner, &info, authd.client_id(), now)
    } else {
        let body = serde_json::to_string(&info).unwrap_or_else(|_| r#"{"active":false}"#.into());
        Ok(no_store_json(StatusCode::OK, body))
    }
}

/// An access token of this server that verified, and the key it verified
/// with (what [`Inner::introspection_cache`] remembers).
pub(crate) struct OwnToken {
    claims: AccessTokenClaims,
    kid: Option<String>,
    alg: Algorithm,
    /// The RFC 7638 thumbprint of the verifying key.
    thumbprint: String,
}

/// The verified claims of one of this server's access tokens, from the cache
/// when this token verified before and the key that verified it is still in
/// the keystore (a key removed or replaced under the same `kid` forces a
/// fresh verification), else verified from scratch and remembered.
fn verified_access_token<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    token: &str,
    now: UnixTime,
) -> Option<Arc<OwnToken>> {
    let cache_key = sha256(token.as_bytes());
    if let Some(hit) = inner.introspection_cache.get(&cache_key, now) {
        let trusted = inner
            .keys
            .verifying_key(hit.kid.as_deref(), hit.alg)
            .is_some_and(|k| k.thumbprint() == hit.thumbprint);
        if trusted {
            return Some(hit);
        }
        inner.introspection_cache.remove(&cache_key);
    }
    let claims = verify_own_access_token(inner, token)?;
    // The header verified with the claims; read it again for the key.
    let jws = UnverifiedJws::parse(token, token.len()).ok()?;
    let (kid, alg) = (jws.header().kid.clone(), jws.header().alg);
    let thumbprint = inner
        .keys
        .verifying_key(kid.as_deref(), alg)?
        .thumbprint()
        .to_owned();
    let exp = claims.exp;
    let own = Arc::new(OwnToken {
        claims,
        kid,
        alg,
        thumbprint,
    });
    inner
        .introspection_cache
        .insert(cache_key, Arc::clone(&own), exp, now);
    Some(own)
}

async fn access_token<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    token: &str,
    now: UnixTime,
) -> Result<Introspection, OAuthError> {
    let Some(own) = verified_access_token(inner, token, now) else {
        return Ok(Introspection::default());
    };
    let claims = &own.claims;
    // No leeway here: introspection answers for this instant.
    if claims.exp <= now || claims.nbf.is_some_and(|n| n > now) {
        return Ok(Introspection::default());
    }
    if !family_alive(inner, claims, now)
        .await
        .map_err(|e| backend_error(&e))?
    {
        return Ok(Introspection::default());
    }
    let token_type = claims.token_type().as_str();
    let cnf = claims
        .cnf
        .as_ref()
        .and_then(|c| serde_json::to_value(c).ok());
    Ok(Introspection {
        active: true,
        kind: IntrospectedKind::AccessToken,
        scope: (!claims.scope.is_empty()).then(|| claims.scope.clone()),
        client_id: Some(claims.client_id.clone()),
        token_type: Some(token_type),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        nbf: claims.nbf,
        sub: Some(claims.sub.clone()),
        aud: Some(claims.aud.clone()),
        iss: Some(claims.iss.clone()),
        jti: Some(claims.jti.clone()),
        cnf,
    })
}

async fn refresh_token<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    token: &str,
    now: UnixTime,
) -> Result<Introspection, OAuthError> {
    let lookup = inner
        .stores
        .refresh_tokens()
        .get(TokenHash::of(token), now)
        .await
        .map_err(|e| backend_error(&e))?;
    let RefreshLookup::Active(record) = lookup else {
        return Ok(Introspection::default());
    };
    let Ok(subject) = inner.cfg.user_kind.subject(&record.grant.subject) else {
        return Ok(Introspection::default());
    };
    let scope = record.grant.scope.join(" ");
    let cnf = record
        .grant
        .confirmation
        .is_bound()
        .then(|| serde_json::to_value(&record.grant.confirmation).ok())
        .flatten();
    Ok(Introspection {
        active: true,
        kind: IntrospectedKind::RefreshToken,
        scope: (!scope.is_empty()).then_some(scope),
        client_id: Some(record.grant.client_id.clone()),
        token_type: None,
        exp: Some(record.effective_expires_at()),
        iat: Some(record.issued_at),
        nbf: None,
        sub: Some(subject.into_string()),
        aud: Audience::from_values(record.grant.resource.iter().cloned()),
        iss: Some(inner.cfg.issuer.clone()),
        jti: None,
        cnf,
    })
}

/// The host's verdict; a panicking policy denies.
fn introspection_allowed<H: Host>(host: &H, caller: &str, info: &IntrospectedToken) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        host.introspection_allowed(caller, info)
    }))
    .unwrap_or_else(|_| {
        tracing::error!(target: "attesto::introspect", "the introspection policy panicked; answering inactive");
        false
    })
}

/// The RFC 9701 response.
fn signed<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    info: &Introspection,
    client_id: &str,
    now: UnixTime,
) -> Result<Response, OAuthError> {
    let claims = SignedIntrospection {
        iss: &inner.cfg.issuer,
        aud: client_id,
        iat: now,
        token_introspection: info,
    };
    let payload = serde_json::to_vec(&claims)
        .map_err(|_| OAuthError::server_error("the introspection response could not be signed"))?;
    let key = inner
        .keys
        .signing_key(inner.cfg.signing_alg)
        .or_else(|| inner.keys.default_signing_key())
        .ok_or_else(|| {
            tracing::error!(target: "attesto::introspect", "no signing key for the introspection response");
            OAuthError::server_error("the introspection response could not be signed")
        })?;
    let jwt = sign_compact(&key, &HeaderParams::typ(INTROSPECTION_TYP), &payload).map_err(|e| {
        tracing::error!(target: "attesto::introspect", error = %e, "signing the introspection response failed");
        OAuthError::server_error("the introspection response could not be signed")
    })?;
    let mut resp = Response::new(Body::from(jwt));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(INTROSPECTION_JWT),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_response_is_negotiated_by_accept() {
        let mut h = HeaderMap::new();
        assert!(!wants_jwt(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, application/token-introspection+jwt;q=0.9"),
        );
        assert!(wants_jwt(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_jwt(&h));
    }

    #[test]
    fn inactive_response_is_only_active_false() {
        assert_eq!(
            serde_json::to_string(&Introspection::default()).unwrap(),
            r#"{"active":false}"#
        );
    }
}
