//! The revocation endpoint ([RFC 7009](https://www.rfc-editor.org/rfc/rfc7009)).
//!
//! `POST {paths.revoke}` with `token` (required) and `token_type_hint`
//! (optional, and only a hint: refresh tokens are opaque and access tokens
//! are JWTs, so the kind is told by shape; an unknown hint is not an error,
//! [RFC 7009 §2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.1)).
//!
//! * The client authenticates as at the token endpoint; a public client by
//!   its `client_id` (RFC 7009 §2.1 authenticates only clients that were
//!   issued credentials). No credentials at all → `invalid_client`.
//! * A refresh token of the authenticated client → its **whole family** is
//!   revoked (sticky, across nodes).
//! * An access token of this server issued to the authenticated client →
//!   the refresh family (grant) it was minted in, if any, is revoked; from
//!   then on introspection reports the access token inactive. Access tokens
//!   are self-contained JWTs: a resource server that verifies them locally
//!   sees the revocation only at their expiry (minutes). A
//!   `client_credentials` token belongs to no grant and cannot be revoked
//!   early (there is no cluster-safe read-only deny-list primitive in the
//!   store traits yet); revoking one is the same no-op success.
//! * Anything else (unknown, expired, already revoked, another client's
//!   token, garbage) → the same **200 with an empty body**: no existence
//!   oracle ([RFC 7009 §2.2](https://www.rfc-editor.org/rfc/rfc7009#section-2.2)).
//!
//! Every response carries `Cache-Control: no-store` and `Pragma: no-cache`.

// `OAuthError` is the one error value of every endpoint step and is rendered
// once per request; boxing it would only add an allocation on every error.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::client::{backend_error, read_token_request};
use super::token::{
    FAMILY_CLAIM, emit, looks_like_jwt, method_not_allowed, verify_own_access_token,
};
use super::{Host, Inner, ServerConfig};
use crate::client_auth::ClientAuthPolicy;
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::host::{Event, EventName};
use crate::store::{FamilyId, RefreshLookup, RefreshTokenStore, Stores, TokenHash};

/// The routes of this endpoint.
pub(crate) fn routes<H: Host, S: Stores>(cfg: &ServerConfig) -> Router<Arc<Inner<H, S>>> {
    Router::new().route(
        &cfg.paths.revoke,
        post(revoke::<H, S>).fallback(method_not_allowed),
    )
}

async fn revoke<H: Host, S: Stores>(
    State(inner): State<Arc<Inner<H, S>>>,
    req: Request,
) -> Response {
    let now = inner.clock.now();
    match handle(&inner, req, now).await {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    }
}

/// 200, empty body, no-store.
fn revoked_response() -> Response {
    let mut resp = Response::new(Body::empty());
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

async fn handle<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    req: Request,
    now: UnixTime,
) -> Result<Response, OAuthError> {
    let request = read_token_request(inner, req, &ClientAuthPolicy::token_endpoint(), now).await?;
    let (params, token) = (&request.params, request.token());
    let client_id = request.client.client_id();
    let family = if looks_like_jwt(token) {
        access_token_family(inner, token, client_id)
    } else {
        refresh_token_family(inner, token, client_id, now).await?
    };
    let effective = family.is_some();
    if let Some(family) = family {
        inner
            .stores
            .refresh_tokens()
            .revoke_family(family, now)
            .await
            .map_err(|e| backend_error(&e))?;
    }
    tracing::info!(
        target: "attesto::revoke",
        client_id,
        hint = params.get("token_type_hint").map(|h| h.len().min(32)),
        effective,
        "revocation request"
    );
    let mut e = Event::new(EventName::TokenRevoked);
    e.client_id = Some(client_id.to_owned());
    e.metadata
        .insert("effective".into(), serde_json::Value::Bool(effective));
    emit(inner, &e);
    Ok(revoked_response())
}

/// The family of an access token of ours issued to `client_id`.
fn access_token_family<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    token: &str,
    client_id: &str,
) -> Option<FamilyId> {
    let claims = verify_own_access_token(inner, token)?;
    if claims.client_id != client_id {
        return None;
    }
    claims
        .extra
        .get(FAMILY_CLAIM)
        .and_then(serde_json::Value::as_str)
        .filter(|f| TokenHash::from_b64url(f).is_ok())
        .map(FamilyId::new)
}

/// The family of a refresh token issued to `client_id`, in any state.
async fn refresh_token_family<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    token: &str,
    client_id: &str,
    now: UnixTime,
) -> Result<Option<FamilyId>, OAuthError> {
    let lookup = inner
        .stores
        .refresh_tokens()
        .get(TokenHash::of(token), now)
        .await
        .map_err(|e| backend_error(&e))?;
    let record = match lookup {
        RefreshLookup::Active(r)
        | RefreshLookup::Rotated(r)
        | RefreshLookup::Expired(r)
        | RefreshLookup::Revoked(r) => r,
        _ => return Ok(None),
    };
    Ok((record.grant.client_id == client_id).then_some(record.family_id))
}
