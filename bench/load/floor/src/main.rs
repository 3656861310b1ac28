//! The floor of `bench/load/run.sh`: the least an ES256 token server can do
//! per request, written the way the issue's "bare axum + josekit handler" is.
//!
//! It is not an authorization server. It answers the load scenarios with
//! the work their answers need and nothing else: no client lookup (one fixed
//! `Authorization` value, compared as bytes), no form parsing beyond finding
//! `token=`, no scope, audience or subject rules, no revocation, no logging,
//! no timeouts or body limits. What it keeps is what no server can skip: the
//! HTTP exchange, one ES256 signature per token (a random `jti`, the claims
//! serialized as JSON), one ES256 verification per introspection or
//! resource request, and pre-serialized discovery and JWKS documents.
//!
//! The benchmark reports attesto's throughput as a fraction of this floor's,
//! which says how much of attesto's per-request cost is the protocol and
//! how much is the crypto and HTTP every server pays.
//!
//! ```text
//! attesto-load-floor --addr 127.0.0.1:8090 --basic 'Basic Y2xpZW50OnNlY3JldA=='
//! ```

use std::error::Error;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwk::KeyPair as _;
use josekit::jws::alg::ecdsa::{EcdsaJwsSigner, EcdsaJwsVerifier};
use josekit::jws::{ES256, JwsSigner as _, JwsVerifier as _};
use serde_json::{Value, json};

struct Floor {
    signer: EcdsaJwsSigner,
    verifier: EcdsaJwsVerifier,
    /// `base64url({"alg":"ES256","typ":"at+jwt","kid":…})`.
    header_b64: String,
    issuer: String,
    /// The one accepted `Authorization` value at the token and introspection endpoints.
    basic: String,
    discovery: Bytes,
    jwks: Bytes,
}

type Shared = Arc<Floor>;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response {
    let mut resp = (status, body.into()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn authorized(floor: &Floor, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == floor.basic.as_bytes())
}

/// `POST /token`: one signed ES256 access token.
async fn token(State(floor): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&floor, &headers) {
        return json_response(StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#);
    }
    let iat = now();
    let claims = json!({
        "iss": floor.issuer,
        "sub": "oc_floor",
        "aud": floor.issuer,
        "client_id": "floor",
        "scope": "api.read",
        "iat": iat,
        "exp": iat + 300,
        "jti": B64.encode(josekit::util::random_bytes(16)),
    });
    let mut jwt = floor.header_b64.clone();
    jwt.push('.');
    jwt.push_str(&B64.encode(claims.to_string()));
    let Ok(sig) = floor.signer.sign(jwt.as_bytes()) else {
        return json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"server_error"}"#,
        );
    };
    jwt.push('.');
    jwt.push_str(&B64.encode(sig));
    let body = json!({"access_token": jwt, "token_type": "Bearer", "expires_in": 300});
    json_response(StatusCode::OK, body.to_string())
}

/// The claims of a token this server signed that has not expired.
fn verify(floor: &Floor, token: &str) -> Option<Value> {
    let (signing_input, sig) = token.rsplit_once('.')?;
    let (_, payload) = signing_input.split_once('.')?;
    let sig = B64.decode(sig).ok()?;
    floor.verifier.verify(signing_input.as_bytes(), &sig).ok()?;
    let claims: Value = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    (claims.get("exp")?.as_u64()? > now()).then_some(claims)
}

/// `POST /introspect` with `token=…`.
async fn introspect(State(floor): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&floor, &headers) {
        return json_response(StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#);
    }
    let token = std::str::from_utf8(&body)
        .ok()
        .and_then(|b| b.split('&').find_map(|p| p.strip_prefix("token=")));
    match token.and_then(|t| verify(&floor, t)) {
        Some(mut claims) => {
            if let Some(map) = claims.as_object_mut() {
                map.insert("active".into(), Value::Bool(true));
            }
            json_response(StatusCode::OK, claims.to_string())
        }
        None => json_response(StatusCode::OK, r#"{"active":false}"#),
    }
}

/// `GET /api/me` with `Authorization: Bearer …`.
async fn me(State(floor): State<Shared>, headers: HeaderMap) -> Response {
    let claims = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| verify(&floor, t));
    match claims {
        Some(c) => json_response(StatusCode::OK, c.to_string()),
        None => json_response(StatusCode::UNAUTHORIZED, r#"{"error":"invalid_token"}"#),
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let addr = arg(&args, "--addr").unwrap_or_else(|| "127.0.0.1:8090".into());
    let basic = arg(&args, "--basic").ok_or("--basic 'Basic …' is required")?;
    let issuer = format!("http://{addr}");

    let pair = ES256.generate_key_pair()?;
    let mut public = pair.to_jwk_public_key();
    let kid = B64.encode(josekit::util::random_bytes(8));
    public.set_key_id(&kid);
    public.set_algorithm("ES256");
    public.set_key_use("sig");
    let signer = ES256.signer_from_der(pair.to_der_private_key())?;
    let verifier = ES256.verifier_from_jwk(&public)?;
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": kid});
    let discovery = json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "jwks_uri": format!("{issuer}/jwks"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    });
    let jwks = json!({"keys": [Value::Object(public.as_ref().clone())]});
    let floor = Arc::new(Floor {
        signer,
        verifier,
        header_b64: B64.encode(header.to_string()),
        issuer,
        basic,
        discovery: Bytes::from(discovery.to_string()),
        jwks: Bytes::from(jwks.to_string()),
    });

    let app =
        Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(|State(f): State<Shared>| async move {
                    json_response(StatusCode::OK, f.discovery.clone())
                }),
            )
            .route(
                "/jwks",
                get(|State(f): State<Shared>| async move {
                    json_response(StatusCode::OK, f.jwks.clone())
                }),
            )
            .route("/token", post(token))
            .route("/introspect", post(introspect))
            .route("/api/me", get(me))
            .with_state(floor);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
