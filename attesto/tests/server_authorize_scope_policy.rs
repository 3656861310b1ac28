//! The host's scope policy (`attesto::host::ScopePolicy`, a part of `Host`)
//! at the authorization endpoint, through to the token response
//! (seed-catalog-3a §7, RFC 6749 §3.3 and §5.1).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_authz_support;

use serde_json::Value;
use server_authz_support::*;

fn jwt_claims(token: &str) -> Value {
    serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap()
}

/// Authorize, then redeem the code; returns the token response.
async fn authorize_and_redeem(h: &Harness<TestHost>, req: &Authz) -> Value {
    let resp = h.get_authorize(req).await;
    let (_, q) = location(&resp);
    let code = q.get("code").cloned().unwrap_or_else(|| panic!("{q:?}"));
    let resp = h
        .http
        .post(h.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "authorization_code")
                .append_pair("code", &code)
                .append_pair("redirect_uri", REDIRECT)
                .append_pair("client_id", "app")
                .append_pair("code_verifier", VERIFIER)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

// seed-catalog-3a Must-test 62 (narrowing)
#[tokio::test]
async fn a_policy_that_narrows_grants_only_the_narrowed_scope_and_the_response_names_it() {
    let (h, host) = spawn().await;
    host.set_scope_mode(ScopeMode::Only(vec![
        "openid".into(),
        "documents.read".into(),
    ]));
    let body = authorize_and_redeem(
        &h,
        &Authz::new().set("scope", "openid documents.read documents.write"),
    )
    .await;
    // RFC 6749 §5.1: the granted scope differs from the request, so the
    // response must carry it.
    assert_eq!(body["scope"], "openid documents.read");
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(at)["scope"], "openid documents.read");
    // Login and consent saw the narrowed scope, not the request.
    let seen = host.seen();
    assert!(!seen.is_empty());
    for s in &seen {
        assert_eq!(s.scopes, ["openid", "documents.read"], "{}", s.stage);
    }
    // The policy was asked about the client and the full request.
    assert_eq!(
        host.scope_calls(),
        [(
            "app".to_owned(),
            vec![
                "openid".to_owned(),
                "documents.read".to_owned(),
                "documents.write".to_owned()
            ]
        )]
    );
}

// seed-catalog-3a Must-test 62 (refusal)
#[tokio::test]
async fn a_policy_refusal_is_invalid_scope_before_login() {
    let (h, host) = spawn().await;
    host.set_scope_mode(ScopeMode::Refuse);
    let resp = h.get_authorize(&Authz::new()).await;
    assert_redirect_error(&resp, "invalid_scope", ISSUER);
    assert!(
        host.seen().is_empty(),
        "no login or consent after a refusal"
    );
}

// seed-catalog-3a Must-test 63
#[tokio::test]
async fn without_a_custom_policy_a_scope_outside_the_catalog_is_invalid_scope() {
    let (h, host) = spawn().await;
    let resp = h
        .get_authorize(&Authz::new().set("scope", "openid admin"))
        .await;
    assert_redirect_error(&resp, "invalid_scope", ISSUER);
    // The default policy was the one consulted.
    assert_eq!(host.scope_calls().len(), 1);
}

#[tokio::test]
async fn a_policy_cannot_widen_the_grant() {
    let (h, host) = spawn().await;
    // Adds a catalog scope that was not requested and one outside the catalog.
    host.set_scope_mode(ScopeMode::Add(vec!["reports.read".into(), "admin".into()]));
    let body = authorize_and_redeem(&h, &Authz::new().set("scope", "openid email")).await;
    assert_eq!(body["scope"], "openid email");
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(at)["scope"], "openid email");
    for s in host.seen() {
        assert_eq!(s.scopes, ["openid", "email"]);
    }
}

#[tokio::test]
async fn a_policy_that_grants_nothing_of_the_request_is_invalid_scope() {
    let (h, host) = spawn().await;
    host.set_scope_mode(ScopeMode::Only(Vec::new()));
    let resp = h.get_authorize(&Authz::new()).await;
    assert_redirect_error(&resp, "invalid_scope", ISSUER);
    assert!(host.seen().is_empty());
}

#[tokio::test]
async fn a_narrowed_grant_without_openid_issues_no_id_token() {
    let (h, host) = spawn().await;
    host.set_scope_mode(ScopeMode::Only(vec!["documents.read".into()]));
    let body = authorize_and_redeem(&h, &Authz::new().set("scope", "openid documents.read")).await;
    assert_eq!(body["scope"], "documents.read");
    assert!(body.get("id_token").is_none(), "{body}");
}
