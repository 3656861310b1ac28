//! The demo's protected resource: `GET /api/me` returns the caller's
//! verified access-token claims, behind attesto's resource guard (Bearer or
//! DPoP, RFC 6750 / RFC 9449 challenges with the RFC 9728 pointer).

use attesto::server::Authenticated;
use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// `GET /api/me`.
pub(crate) async fn me(auth: Authenticated) -> Response {
    let c = auth.claims();
    let mut body = Map::new();
    body.insert("iss".into(), json!(c.iss));
    body.insert("sub".into(), json!(c.sub));
    body.insert(
        "aud".into(),
        serde_json::to_value(&c.aud).unwrap_or(Value::Null),
    );
    body.insert("client_id".into(), json!(c.client_id));
    body.insert("scope".into(), json!(c.scope));
    body.insert("exp".into(), json!(c.exp));
    body.insert("iat".into(), json!(c.iat));
    body.insert("jti".into(), json!(c.jti));
    if let Some(t) = c.auth_time {
        body.insert("auth_time".into(), json!(t));
    }
    if let Some(amr) = &c.amr {
        body.insert("amr".into(), json!(amr));
    }
    if let Some(cnf) = &c.cnf {
        body.insert(
            "cnf".into(),
            serde_json::to_value(cnf).unwrap_or(Value::Null),
        );
    }
    body.insert("token_type".into(), json!(auth.token_type().as_str()));
    for (k, v) in &c.extra {
        body.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let mut resp = Json(Value::Object(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
