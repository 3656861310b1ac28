//! The host's scope policy at the token endpoint: `client_credentials`
//! (seed-catalog-3a Must-tests 62/63) and the refresh grant, which may only
//! narrow (RFC 6749 §6).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_token_support;

use server_token_support::*;

fn at(r: &Reply) -> String {
    r.json()["access_token"].as_str().unwrap().to_owned()
}

async fn cc(s: &TestServer, scope: &str) -> Reply {
    s.token_basic(
        "conf",
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await
}

async fn refresh(s: &TestServer, token: &str, scope: Option<&str>) -> Reply {
    let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(sc) = scope {
        pairs.push(("scope", sc));
    }
    s.token_basic("conf", &pairs).await
}

async fn offline_grant(s: &TestServer) -> String {
    let (code, verifier) = s
        .issue_code(CodeSpec::new(
            "conf",
            &["offline_access", "documents.read", "documents.write"],
        ))
        .await;
    let r = s.redeem("conf", false, &code, &verifier, &[]).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.json()["refresh_token"].as_str().unwrap().to_owned()
}

// seed-catalog-3a Must-test 62 (narrowing)
#[tokio::test]
async fn client_credentials_narrowed_by_the_policy_carries_and_names_the_narrowed_scope() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    *s.server.host().scope_only.lock().unwrap() = Some(vec!["reports.read".into()]);
    let r = cc(&s, "reports.read documents.read").await;
    assert_eq!(r.status, 200, "{r:?}");
    // RFC 6749 §5.1: granted differs from requested, so `scope` is present.
    assert_eq!(r.json()["scope"], "reports.read");
    assert_eq!(jwt_claims(&at(&r))["scope"], "reports.read");
}

// seed-catalog-3a Must-test 62 (refusal)
#[tokio::test]
async fn client_credentials_refused_by_the_policy_is_invalid_scope() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    *s.server.host().scope_only.lock().unwrap() = Some(Vec::new());
    let r = cc(&s, "reports.read").await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_scope"));
    assert!(r.json().get("access_token").is_none());
}

// seed-catalog-3a Must-test 63
#[tokio::test]
async fn client_credentials_outside_the_catalog_is_invalid_scope_by_default() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let r = cc(&s, "reports.read admin").await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_scope"));
}

#[tokio::test]
async fn client_credentials_outside_the_clients_allowed_scopes_is_invalid_scope_by_default() {
    let mut client = TestClient::confidential("conf");
    client.allowed_scopes = Some(vec!["documents.*".into()]);
    let s = start(TestHost::with_clients([client])).await;
    let ok = cc(&s, "documents.read").await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let r = cc(&s, "reports.read").await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_scope"));
}

#[tokio::test]
async fn client_credentials_cannot_be_widened_by_the_policy() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    *s.server.host().scope_extra.lock().unwrap() = vec!["documents.write".into(), "admin".into()];
    let r = cc(&s, "reports.read").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["scope"], "reports.read");
    assert_eq!(jwt_claims(&at(&r))["scope"], "reports.read");
}

#[tokio::test]
async fn refresh_beyond_the_original_grant_is_invalid_scope_even_with_a_widening_policy() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let token = offline_grant(&s).await;
    *s.server.host().scope_extra.lock().unwrap() = vec!["reports.read".into()];
    let r = refresh(&s, &token, Some("documents.read reports.read")).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_scope"));
    // Within the grant: the policy's extra scope is dropped.
    let r = refresh(&s, &token, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json()["scope"],
        "offline_access documents.read documents.write"
    );
}

#[tokio::test]
async fn refresh_may_be_narrowed_further_by_the_policy() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let token = offline_grant(&s).await;
    // The host has since withdrawn documents.write from this client.
    *s.server.host().scope_only.lock().unwrap() =
        Some(vec!["offline_access".into(), "documents.read".into()]);
    let r = refresh(&s, &token, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["scope"], "offline_access documents.read");
    assert_eq!(
        jwt_claims(&at(&r))["scope"],
        "offline_access documents.read"
    );
}

#[tokio::test]
async fn refresh_requesting_a_subset_gets_exactly_that_subset() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let token = offline_grant(&s).await;
    let r = refresh(&s, &token, Some("documents.read")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["scope"], "documents.read");
}
