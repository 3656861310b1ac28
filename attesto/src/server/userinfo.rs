//! The UserInfo endpoint
//! ([OIDC Core §5.3](https://openid.net/specs/openid-connect-core-1_0.html#UserInfo)).
//!
//! `GET` and `POST`; the access token comes in the `Authorization` header
//! only (`Bearer`, or `DPoP` with a proof whose `htu` is this endpoint's URL),
//! matching `bearer_methods_supported: ["header"]`. The token must carry
//! `openid` (else 403 `insufficient_scope`, `scope="openid"`) and name a
//! resource owner of the server's user kind who still exists. The answer is
//! `sub` plus the principal's claims that the token's scopes release
//! ([OIDC Core §5.4](https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims)).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value};

use super::resource::ResourceError;
use super::{GrantType, Host, Inner, ServerConfig};
use crate::host::released_claims;
use crate::scope::{Scope, ScopeSet};
use crate::store::Stores;

/// The routes of this endpoint: `GET` and `POST` on `paths.userinfo`,
/// mounted (and advertised) with the `authorization_code` grant.
pub(crate) fn routes<H: Host, S: Stores>(cfg: &ServerConfig) -> Router<Arc<Inner<H, S>>> {
    if !cfg.has_grant(GrantType::AuthorizationCode) {
        return Router::new();
    }
    Router::new().route(
        &cfg.paths.userinfo,
        get(userinfo::<H, S>).post(userinfo::<H, S>),
    )
}

async fn userinfo<H: Host, S: Stores>(State(s): State<Arc<Inner<H, S>>>, req: Request) -> Response {
    // The body is not read: tokens in the form body (RFC 6750 §2.2) are not accepted.
    let (parts, _body) = req.into_parts();
    let htu = s.cfg.url(&s.cfg.paths.userinfo);
    let auth = match s
        .guard
        .authenticate_at(&parts.method, &htu, &parts.headers)
        .await
    {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let mut openid = ScopeSet::new();
    if let Ok(scope) = Scope::new("openid") {
        openid.insert(scope);
    }
    if let Err(e) = auth.check_scopes(&openid, true, true) {
        return e.into_response();
    }
    let principal = match auth.principal(&s.host, &s.cfg.user_kind).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let scopes: Vec<&str> = auth.claims().scopes().collect();
    let released = released_claims(&principal, &scopes);
    let mut body = Map::with_capacity(released.len() + 1);
    body.insert("sub".into(), Value::String(auth.sub().to_owned()));
    body.extend(released);
    match serde_json::to_string(&body) {
        Ok(json) => super::response::no_store_json(StatusCode::OK, json),
        Err(_) => ResourceError::Unavailable.into_response(),
    }
}
