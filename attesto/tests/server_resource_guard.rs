//! The resource-server guard on host routes, over HTTP
//! (seed-catalog-2 §25/§26, §35.M; RFC 6750, RFC 9449 §7, RFC 9728 §5).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_authz_support;

use std::sync::Arc;

use attesto::clock::Clock;
use attesto::dpop::DpopVerifier;
use attesto::host::{EventName, Principal};
use attesto::jose::AlgorithmSet;
use attesto::server::config::USER_KIND;
use attesto::server::resource::{Authenticated, ResourceError, ResourceGuard};
use attesto::token::{AccessTokenRequest, AccessTokenVerifier, TrustedKeys};
use axum::routing::get;
use axum::{Extension, Json, Router};
use proptest::strategy::{Strategy, ValueTree};
use serde_json::{Value, json};
use server_authz_support::*;

const RM: &str = "resource_metadata=\"https://id.example/.well-known/oauth-protected-resource\"";

async fn me(auth: Authenticated) -> Json<Value> {
    Json(json!({
        "sub": auth.sub(),
        "client_id": auth.client_id(),
        "scope": auth.scopes().to_string(),
        "token_type": auth.token_type().as_str(),
        "kind": auth.subject().map(|s| s.kind().to_owned()),
    }))
}

async fn delete(auth: Authenticated) -> Result<&'static str, ResourceError> {
    auth.require_scope("documents.delete")?;
    Ok("deleted")
}

fn api_routes(ctx: RouteCtx<'_, TestHost>) -> Router {
    let server = ctx.server;
    let guard = server.resource_guard();
    let host = server.host().clone();
    let docs = Router::new()
        .route(
            "/api/documents",
            get(|auth: Authenticated| async move { auth.sub().to_owned() }),
        )
        .route_layer(guard.require_scopes(["documents.read"]).unwrap());
    let reports = Router::new()
        .route("/api/reports", get(|| async { "reports" }))
        .route_layer(
            guard
                .require_scopes(["reports.read"])
                .unwrap()
                .with_resource_metadata(),
        );
    let rest = Router::new()
        .route("/api/me", get(me).post(me))
        .route("/api/delete", get(delete))
        .route(
            "/api/profile",
            get(move |auth: Authenticated| {
                let host = host.clone();
                async move {
                    let user = auth.principal(&host, &USER_KIND).await?;
                    Ok::<_, ResourceError>(Json(json!({"name": user.claims()["name"]})))
                }
            }),
        );
    docs.merge(reports)
        .merge(rest)
        .layer(Extension(guard))
        // Installed without the guard: a wiring mistake.
        .merge(Router::new().route("/api/unguarded", get(me)))
}

async fn spawn_api() -> Harness<TestHost> {
    let mut opts = Options::new(TestHost::new());
    opts.routes = Box::new(api_routes);
    spawn_with(opts).await
}

async fn call(h: &Harness<TestHost>, path: &str, auth: Option<&str>) -> reqwest::Response {
    let mut r = h.http.get(h.url(path));
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    r.send().await.unwrap()
}

async fn call_dpop(
    h: &Harness<TestHost>,
    path: &str,
    token: &str,
    proof: &str,
) -> reqwest::Response {
    h.http
        .get(h.url(path))
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
        .send()
        .await
        .unwrap()
}

// seed-catalog-2 Must-test 182
#[tokio::test]
async fn missing_token_is_401_without_error_and_points_at_resource_metadata() {
    let h = spawn_api().await;
    let resp = call(&h, "/api/me", None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let www = challenges(&resp);
    assert_eq!(www[0], format!("Bearer {RM}"));
    assert!(www[1].starts_with("DPoP algs=\""));
    assert!(www.iter().all(|w| !w.contains("error")));
    assert_eq!(resp.text().await.unwrap(), "");
    // The pointer resolves to the RFC 9728 document.
    let doc: Value = h
        .http
        .get(h.url("/.well-known/oauth-protected-resource"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["resource"], API);
}

// seed-catalog-2 Must-test 183
#[tokio::test]
async fn valid_bearer_token_reaches_the_handler_with_its_claims() {
    let h = spawn_api().await;
    let token = h.token("alice", "openid documents.read");
    let resp = call(&h, "/api/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"sub": "usr_alice", "client_id": "app", "scope": "openid documents.read",
               "token_type": "Bearer", "kind": "user"})
    );
    let ev = h.events.last(EventName::AuthSucceeded).unwrap();
    assert_eq!(ev.subject.as_deref(), Some("usr_alice"));
    assert_eq!(ev.client_id.as_deref(), Some("app"));
    assert_eq!(ev.scope.as_deref(), Some("openid documents.read"));
}

// seed-catalog-2 Must-test 183
#[tokio::test]
async fn principal_is_loaded_through_the_host() {
    let h = spawn_api().await;
    let token = h.token("alice", "openid");
    let resp = call(&h, "/api/profile", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["name"], "Alice Liddell");
    // An unknown subject is an invalid token.
    let token = h.token("mallory", "openid");
    let resp = call(&h, "/api/profile", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp)[0].contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn wrong_audience_is_401_invalid_token() {
    let h = spawn_api().await;
    let token = h.token_with("alice", "openid", None, "https://elsewhere.example");
    let resp = call(&h, "/api/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
    let www = challenges(&resp);
    assert!(
        www[0].starts_with("Bearer error=\"invalid_token\""),
        "{www:?}"
    );
    assert!(www[0].contains(RM));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(
        h.events.last(EventName::AuthDenied).unwrap().result,
        Some("invalid_token")
    );
}

#[tokio::test]
async fn expired_token_is_401_invalid_token() {
    let h = spawn_api().await;
    let token = h.token("alice", "openid");
    h.clock.advance(300 + 61);
    let resp = call(&h, "/api/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp)[0].contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn not_yet_valid_token_is_401() {
    let h = spawn_api().await;
    let token = h.token("alice", "openid");
    // The clock went back beyond the leeway: iat is in the future.
    h.clock.advance(-120);
    let resp = call(&h, "/api/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn cached_token_is_still_rejected_after_expiry() {
    let h = spawn_api().await;
    let guard = h.server.resource_guard();
    let token = h.token("alice", "openid");
    let auth = format!("Bearer {token}");
    assert_eq!(call(&h, "/api/me", Some(&auth)).await.status(), 200);
    assert_eq!(guard.cached_tokens(), 1);
    // Served from the cache.
    h.clock.advance(200);
    assert_eq!(call(&h, "/api/me", Some(&auth)).await.status(), 200);
    assert_eq!(guard.cached_tokens(), 1);
    // Past exp + leeway: refused although the entry was cached.
    h.clock.advance(161);
    assert_eq!(call(&h, "/api/me", Some(&auth)).await.status(), 401);
    // A clock that goes back does not resurrect a rejected token beyond what
    // the verifier allows, and the cache never accepts before verified_at.
    h.clock.advance(-1000);
    assert_eq!(call(&h, "/api/me", Some(&auth)).await.status(), 401);
}

#[tokio::test]
async fn failures_are_never_cached() {
    let h = spawn_api().await;
    let guard = h.server.resource_guard();
    let token = h.token_with("alice", "openid", None, "https://elsewhere.example");
    for _ in 0..3 {
        assert_eq!(
            call(&h, "/api/me", Some(&format!("Bearer {token}")))
                .await
                .status(),
            401
        );
    }
    assert_eq!(guard.cached_tokens(), 0);
}

// seed-catalog-2 Must-test 185
#[tokio::test]
async fn insufficient_scope_is_403_without_resource_metadata_by_default() {
    let h = spawn_api().await;
    let token = h.token("alice", "openid");
    let resp = call(&h, "/api/documents", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 403);
    let www = challenges(&resp);
    assert_eq!(www.len(), 1);
    assert!(www[0].contains("error=\"insufficient_scope\""));
    assert!(www[0].contains("scope=\"documents.read\""));
    assert!(!www[0].contains("resource_metadata"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
}

// seed-catalog-2 Must-test 185
#[tokio::test]
async fn insufficient_scope_includes_resource_metadata_when_asked() {
    let h = spawn_api().await;
    let token = h.token("alice", "openid");
    let resp = call(&h, "/api/reports", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 403);
    let www = challenges(&resp);
    assert!(www[0].contains("scope=\"reports.read\""));
    assert!(www[0].contains(RM));
    let token = h.token("alice", "reports.read");
    let resp = call(&h, "/api/reports", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn scope_layer_authenticates_before_checking_scope() {
    let h = spawn_api().await;
    let resp = call(&h, "/api/documents", None).await;
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp).iter().all(|w| !w.contains("error")));
}

#[tokio::test]
async fn granted_scope_and_wildcard_grant_pass_the_scope_layer() {
    let h = spawn_api().await;
    for scope in ["documents.read", "openid documents.*"] {
        let token = h.token("alice", scope);
        let resp = call(&h, "/api/documents", Some(&format!("Bearer {token}"))).await;
        assert_eq!(resp.status(), 200, "{scope}");
        // The handler got the layer's Authenticated.
        assert_eq!(resp.text().await.unwrap(), "usr_alice");
    }
}

#[tokio::test]
async fn in_handler_scope_check_is_403() {
    let h = spawn_api().await;
    let token = h.token("alice", "documents.read");
    let resp = call(&h, "/api/delete", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 403);
    assert!(challenges(&resp)[0].contains("scope=\"documents.delete\""));
    let token = h.token("alice", "documents.delete");
    let resp = call(&h, "/api/delete", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "deleted");
}

// seed-catalog-2 Must-test 184
#[tokio::test]
async fn dpop_bound_token_presented_as_bearer_is_401() {
    let h = spawn_api().await;
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), API);
    let resp = call(&h, "/api/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
    let www = challenges(&resp);
    assert!(www[0].starts_with("Bearer error=\"invalid_token\""));
    assert!(www[1].starts_with("DPoP algs="));
}

// seed-catalog-2 Must-test 184
#[tokio::test]
async fn certificate_bound_token_without_certificate_is_401() {
    let h = spawn_api().await;
    let req = AccessTokenRequest::new(&USER_KIND.subject("alice").unwrap(), "app")
        .scope(["openid"])
        .mtls_thumbprint("x4E2mMbcEDZ0L4SXwGAAQMR0ICdqKkNthLk4T5Pr0ZU");
    let token = h.mint(req, API);
    let resp = call(&h, "/api/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn dpop_token_with_a_valid_proof_is_accepted() {
    let h = spawn_api().await;
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), API);
    let proof = dpop_proof(&key, "GET", &format!("{ISSUER}/api/me"), Some(&token), NOW);
    let resp = call_dpop(&h, "/api/me", &token, &proof).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    // The query is not part of htu.
    let proof = dpop_proof(&key, "GET", &format!("{ISSUER}/api/me"), Some(&token), NOW);
    let resp = call_dpop(&h, "/api/me?x=1", &token, &proof).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn unbound_token_under_the_dpop_scheme_is_401() {
    let h = spawn_api().await;
    let key = dpop_key();
    let token = h.token("alice", "openid");
    let proof = dpop_proof(&key, "GET", &format!("{ISSUER}/api/me"), Some(&token), NOW);
    let resp = call_dpop(&h, "/api/me", &token, &proof).await;
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp)[0].contains("invalid_token"));
}

#[tokio::test]
async fn replayed_dpop_proof_is_rejected() {
    let h = spawn_api().await;
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), API);
    let proof = dpop_proof(&key, "GET", &format!("{ISSUER}/api/me"), Some(&token), NOW);
    assert_eq!(call_dpop(&h, "/api/me", &token, &proof).await.status(), 200);
    let resp = call_dpop(&h, "/api/me", &token, &proof).await;
    assert_eq!(resp.status(), 401);
    let www = challenges(&resp);
    assert!(
        www[0].starts_with("DPoP error=\"invalid_dpop_proof\""),
        "{www:?}"
    );
    assert!(www[0].contains(RM));
    assert_eq!(
        h.events.last(EventName::AuthDenied).unwrap().result,
        Some("invalid_dpop_proof")
    );
}

#[tokio::test]
async fn concurrent_replays_of_one_proof_succeed_exactly_once() {
    let h = Arc::new(spawn_api().await);
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), API);
    let proof = dpop_proof(&key, "GET", &format!("{ISSUER}/api/me"), Some(&token), NOW);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (h, token, proof) = (Arc::clone(&h), token.clone(), proof.clone());
        set.spawn(async move {
            call_dpop(&h, "/api/me", &token, &proof)
                .await
                .status()
                .as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = set.join_next().await {
        statuses.push(s.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 19);
}

#[tokio::test]
async fn dpop_proof_for_another_request_or_token_is_rejected() {
    let h = spawn_api().await;
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), API);
    let other = h.token_with("alice", "openid documents.read", Some(&jkt(&key)), API);
    for proof in [
        dpop_proof(
            &key,
            "GET",
            &format!("{ISSUER}/api/other"),
            Some(&token),
            NOW,
        ),
        dpop_proof(
            &key,
            "GET",
            "https://evil.example/api/me",
            Some(&token),
            NOW,
        ),
        dpop_proof(&key, "POST", &format!("{ISSUER}/api/me"), Some(&token), NOW),
        dpop_proof(&key, "GET", &format!("{ISSUER}/api/me"), Some(&other), NOW),
        dpop_proof(
            &dpop_key(),
            "GET",
            &format!("{ISSUER}/api/me"),
            Some(&token),
            NOW,
        ),
    ] {
        let resp = call_dpop(&h, "/api/me", &token, &proof).await;
        assert_eq!(resp.status(), 401);
        assert!(challenges(&resp)[0].contains("invalid_dpop_proof"));
    }
}

#[tokio::test]
async fn two_dpop_headers_are_rejected() {
    let h = spawn_api().await;
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), API);
    let htu = format!("{ISSUER}/api/me");
    let resp = h
        .http
        .get(h.url("/api/me"))
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", dpop_proof(&key, "GET", &htu, Some(&token), NOW))
        .header("dpop", dpop_proof(&key, "GET", &htu, Some(&token), NOW))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp)[0].contains("invalid_dpop_proof"));
}

#[tokio::test]
async fn two_authorization_headers_are_400_invalid_request() {
    let h = spawn_api().await;
    let token = h.token("alice", "openid");
    let resp = h
        .http
        .get(h.url("/api/me"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", "Basic eDp5")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn extractor_without_an_installed_guard_refuses_with_500() {
    let h = spawn_api().await;
    let token = h.token("alice", "openid");
    let resp = call(&h, "/api/unguarded", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 500);
}

// seed-catalog-2 Must-test 186
#[tokio::test]
async fn challenge_values_are_escaped() {
    let mut opts = Options::new(TestHost::new());
    opts.routes = Box::new(|ctx| {
        let guard = ResourceGuard::builder(rs_verifier(&ctx), ISSUER)
            .realm(r#"api "v1" \ x"#)
            .build()
            .unwrap();
        Router::new()
            .route("/api/me", get(me))
            .layer(Extension(guard))
    });
    let h = spawn_with(opts).await;
    let resp = call(&h, "/api/me", None).await;
    assert_eq!(
        challenges(&resp),
        vec![r#"Bearer realm="api \"v1\" \\ x""#.to_owned()]
    );
}

/// A separate resource server's verifier: the AS's published JWK Set.
fn rs_verifier(ctx: &RouteCtx<'_, TestHost>) -> AccessTokenVerifier {
    let jwks = ctx.keys.jwks();
    AccessTokenVerifier::builder(
        ISSUER,
        TrustedKeys::from_jwk_set(jwks.set(), AlgorithmSet::ALL).unwrap(),
    )
    .audience("https://files.example")
    .principal_kinds([USER_KIND])
    .clock(ctx.clock.clone() as Arc<dyn Clock>)
    .build()
    .unwrap()
}

#[tokio::test]
async fn separate_resource_server_verifies_with_the_published_jwks() {
    let mut opts = Options::new(TestHost::new());
    opts.routes = Box::new(|ctx| {
        let guard = ResourceGuard::builder(rs_verifier(&ctx), "https://files.example/v1")
            .resource_metadata("https://files.example/.well-known/oauth-protected-resource")
            .dpop(
                DpopVerifier::builder()
                    .algorithms(AlgorithmSet::FAPI)
                    .build()
                    .unwrap(),
            )
            .clock(ctx.clock.clone() as Arc<dyn Clock>)
            .build()
            .unwrap();
        // Nested: the guard sees `/me`, so the prefix is in the resource URL.
        Router::new().nest(
            "/v1",
            Router::new().route("/me", get(me)).layer(Extension(guard)),
        )
    });
    let h = spawn_with(opts).await;
    let token = h.token_with("alice", "openid", None, "https://files.example");
    let resp = call(&h, "/v1/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 200);
    // A token for the AS's default resource is not for this one.
    let token = h.token("alice", "openid");
    assert_eq!(
        call(&h, "/v1/me", Some(&format!("Bearer {token}")))
            .await
            .status(),
        401
    );
    // Its own metadata pointer and DPoP algorithms.
    let www = challenges(&call(&h, "/v1/me", None).await);
    assert_eq!(
        www,
        vec![
            r#"Bearer resource_metadata="https://files.example/.well-known/oauth-protected-resource""#.to_owned(),
            r#"DPoP algs="ES256 PS256 EdDSA", resource_metadata="https://files.example/.well-known/oauth-protected-resource""#.to_owned(),
        ]
    );
    // DPoP with the resource's own htu.
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), "https://files.example");
    let proof = dpop_proof(
        &key,
        "GET",
        "https://files.example/v1/me",
        Some(&token),
        NOW,
    );
    assert_eq!(call_dpop(&h, "/v1/me", &token, &proof).await.status(), 200);
    let proof = dpop_proof(&key, "GET", &format!("{ISSUER}/v1/me"), Some(&token), NOW);
    assert_eq!(call_dpop(&h, "/v1/me", &token, &proof).await.status(), 401);
}

#[tokio::test]
async fn guard_without_dpop_does_not_offer_or_accept_it() {
    let mut opts = Options::new(TestHost::new());
    opts.routes = Box::new(|ctx| {
        let guard = ResourceGuard::builder(rs_verifier(&ctx), ISSUER)
            .build()
            .unwrap();
        Router::new()
            .route("/api/me", get(me))
            .layer(Extension(guard))
    });
    let h = spawn_with(opts).await;
    let www = challenges(&call(&h, "/api/me", None).await);
    assert_eq!(www, vec!["Bearer".to_owned()]);
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), "https://files.example");
    let proof = dpop_proof(&key, "GET", &format!("{ISSUER}/api/me"), Some(&token), NOW);
    // The DPoP scheme is unknown here: no credentials.
    let resp = call_dpop(&h, "/api/me", &token, &proof).await;
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp).iter().all(|w| !w.contains("error")));
    // And the bound token is refused as Bearer.
    let resp = call(&h, "/api/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp)[0].contains("invalid_token"));
}

#[test]
fn guard_configuration_is_validated() {
    use attesto::server::resource::GuardConfigError;
    let keys = attesto::jose::StaticKeystore::generate(attesto::jose::Algorithm::ES256).unwrap();
    let verifier = || {
        AccessTokenVerifier::builder(
            ISSUER,
            TrustedKeys::from_jwk_set(
                attesto::jose::Keystore::jwks(&keys).set(),
                AlgorithmSet::ALL,
            )
            .unwrap(),
        )
        .audience(API)
        .build()
        .unwrap()
    };
    let err = |b: attesto::server::resource::ResourceGuardBuilder| b.build().unwrap_err();
    assert_eq!(
        err(ResourceGuard::builder(verifier(), "http://api.example")),
        GuardConfigError::ResourceUrl
    );
    assert_eq!(
        err(ResourceGuard::builder(
            verifier(),
            "https://api.example?x=1"
        )),
        GuardConfigError::ResourceUrl
    );
    assert_eq!(
        err(ResourceGuard::builder(verifier(), API).resource_metadata("ftp://x")),
        GuardConfigError::ResourceMetadataUrl
    );
    assert_eq!(
        err(ResourceGuard::builder(verifier(), API).realm("a\r\nb")),
        GuardConfigError::Realm
    );
    assert_eq!(
        err(ResourceGuard::builder(verifier(), API).cache(10, 0)),
        GuardConfigError::CacheMaxAge
    );
    let required = || {
        DpopVerifier::builder()
            .nonce_policy(attesto::dpop::NoncePolicy::Required)
            .build()
            .unwrap()
    };
    assert_eq!(
        err(ResourceGuard::builder(verifier(), API).dpop(required())),
        GuardConfigError::NonceSource
    );
    let issuer = attesto::dpop::NonceIssuer::new(&[7u8; 32], 60, 300).unwrap();
    assert!(
        ResourceGuard::builder(verifier(), API)
            .dpop(required())
            .nonces(issuer)
            .build()
            .is_ok()
    );
    let guard = ResourceGuard::builder(verifier(), API).build().unwrap();
    assert!(guard.require_scopes(["bad scope"]).is_err());
}

#[tokio::test]
async fn disabled_cache_still_verifies_every_request() {
    let mut opts = Options::new(TestHost::new());
    opts.routes = Box::new(|ctx| {
        let guard = ResourceGuard::builder(rs_verifier(&ctx), ISSUER)
            .cache(0, 60)
            .build()
            .unwrap();
        Router::new()
            .route("/api/me", get(me))
            .layer(Extension(guard))
    });
    let h = spawn_with(opts).await;
    let token = h.token_with("alice", "openid", None, "https://files.example");
    for _ in 0..3 {
        assert_eq!(
            call(&h, "/api/me", Some(&format!("Bearer {token}")))
                .await
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn arbitrary_authorization_headers_never_cause_a_server_error() {
    let h = spawn_api().await;
    let token = h.token("alice", "openid");
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = proptest::collection::vec(
        proptest::prop_oneof![
            proptest::strategy::Just("Bearer ".to_owned()),
            proptest::strategy::Just("DPoP ".to_owned()),
            proptest::strategy::Just(" ".to_owned()),
            proptest::strategy::Just(token.clone()),
            proptest::strategy::Just("=".to_owned()),
            "[ -~]{0,12}",
        ],
        0..6,
    );
    for _ in 0..64 {
        let value = strategy.new_tree(&mut runner).unwrap().current().concat();
        let Ok(hv) = reqwest::header::HeaderValue::from_str(&value) else {
            continue;
        };
        for path in ["/api/me", "/api/documents"] {
            let resp = h
                .http
                .get(h.url(path))
                .header("authorization", hv.clone())
                .header("dpop", value.clone().replace(['\r', '\n'], ""))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            assert!(
                matches!(status, 200 | 400 | 401 | 403),
                "{value:?} on {path} gave {status}"
            );
        }
    }
}

#[tokio::test]
async fn resource_server_nonce_is_demanded_and_then_accepted() {
    let mut opts = Options::new(TestHost::new());
    opts.routes = Box::new(|ctx| {
        let guard = ResourceGuard::builder(rs_verifier(&ctx), ISSUER)
            .dpop(
                DpopVerifier::builder()
                    .nonce_policy(attesto::dpop::NoncePolicy::Required)
                    .build()
                    .unwrap(),
            )
            .nonces(attesto::dpop::NonceIssuer::new(&[7u8; 32], 60, 300).unwrap())
            .clock(ctx.clock.clone() as Arc<dyn Clock>)
            .build()
            .unwrap();
        Router::new()
            .route("/api/me", get(me))
            .layer(Extension(guard))
    });
    let h = spawn_with(opts).await;
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), "https://files.example");
    let htu = format!("{ISSUER}/api/me");
    let resp = call_dpop(
        &h,
        "/api/me",
        &token,
        &dpop_proof(&key, "GET", &htu, Some(&token), NOW),
    )
    .await;
    // RFC 9449 §9: 401 with error="use_dpop_nonce" and a DPoP-Nonce header.
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp)[0].starts_with("DPoP error=\"use_dpop_nonce\""));
    let nonce = resp.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let proof = dpop_proof_nonce(&key, "GET", &htu, Some(&token), NOW, Some(&nonce));
    assert_eq!(call_dpop(&h, "/api/me", &token, &proof).await.status(), 200);
}
