//! The revocation endpoint (RFC 7009) over real HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_token_support;

use attesto::host::EventName;
use serde_json::json;
use server_token_support::*;

fn rt(r: &Reply) -> String {
    r.json()["refresh_token"].as_str().unwrap().to_owned()
}

fn at(r: &Reply) -> String {
    r.json()["access_token"].as_str().unwrap().to_owned()
}

async fn offline_tokens(s: &TestServer, client: &str) -> Reply {
    let (code, verifier) = s
        .issue_code(CodeSpec::new(client, &["offline_access", "documents.read"]))
        .await;
    let r = s.redeem(client, false, &code, &verifier, &[]).await;
    assert_eq!(r.status, 200, "{r:?}");
    r
}

async fn revoke_as(s: &TestServer, client: &str, token: &str) -> Reply {
    s.revoke(
        &[("token", token)],
        &[("authorization", &basic(client, SECRET))],
    )
    .await
}

async fn refresh(s: &TestServer, client: &str, token: &str) -> Reply {
    s.token_basic(
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

fn assert_revoked_ok(r: &Reply) {
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.text.is_empty());
    r.assert_no_store();
}

#[tokio::test]
async fn unknown_token_revocation_is_200_with_an_empty_body() {
    // seed-catalog-3a Must-test 48
    let s = start(TestHost::with_clients(standard_clients())).await;
    for t in ["never-issued", "a.b.c", &"x".repeat(5000)] {
        assert_revoked_ok(&revoke_as(&s, "conf", t).await);
    }
}

#[tokio::test]
async fn expired_or_already_revoked_token_revocation_is_200() {
    // seed-catalog-3a Must-test 49
    let s = start(TestHost::with_clients(standard_clients())).await;
    let tokens = offline_tokens(&s, "conf").await;
    assert_revoked_ok(&revoke_as(&s, "conf", &rt(&tokens)).await);
    assert_revoked_ok(&revoke_as(&s, "conf", &rt(&tokens)).await);
    s.clock.advance(3_600);
    assert_revoked_ok(&revoke_as(&s, "conf", &at(&tokens)).await);
}

#[tokio::test]
async fn another_clients_refresh_token_is_not_revoked() {
    // seed-catalog-3a Must-test 50
    let s = start(TestHost::with_clients(standard_clients())).await;
    let tokens = offline_tokens(&s, "conf").await;
    assert_revoked_ok(&revoke_as(&s, "other", &rt(&tokens)).await);
    assert_revoked_ok(&revoke_as(&s, "other", &at(&tokens)).await);
    assert_eq!(
        refresh(&s, "conf", &rt(&tokens)).await.status,
        200,
        "still usable"
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_whole_family() {
    // seed-catalog-3a Must-test 51
    let s = start(TestHost::with_clients(standard_clients())).await;
    let first = offline_tokens(&s, "conf").await;
    let second = refresh(&s, "conf", &rt(&first)).await;
    assert_eq!(second.status, 200);
    // revoke the (already rotated) ancestor: its descendant dies too
    assert_revoked_ok(&revoke_as(&s, "conf", &rt(&first)).await);
    assert_eq!(
        refresh(&s, "conf", &rt(&second)).await.error(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_then_introspecting_shows_inactive() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let tokens = offline_tokens(&s, "conf").await;
    assert_eq!(s.introspect_as("other", &rt(&tokens)).await["active"], true);
    assert_revoked_ok(&revoke_as(&s, "conf", &rt(&tokens)).await);
    assert_eq!(
        s.introspect_as("other", &rt(&tokens)).await,
        json!({"active": false})
    );
    assert_eq!(
        s.introspect_as("other", &at(&tokens)).await,
        json!({"active": false}),
        "access tokens of the revoked grant are inactive too"
    );
}

#[tokio::test]
async fn access_token_revocation_is_200_and_revokes_its_grant() {
    // seed-catalog-3a Must-test 52
    let s = start(TestHost::with_clients(standard_clients())).await;
    let tokens = offline_tokens(&s, "conf").await;
    for hint in ["access_token", "refresh_token", "something_else"] {
        let r = s
            .revoke(
                &[("token", &at(&tokens)), ("token_type_hint", hint)],
                &[("authorization", &basic("conf", SECRET))],
            )
            .await;
        assert_revoked_ok(&r);
    }
    assert_eq!(
        s.introspect_as("other", &at(&tokens)).await,
        json!({"active": false})
    );
    assert_eq!(
        refresh(&s, "conf", &rt(&tokens)).await.error(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn client_credentials_token_revocation_is_a_no_op_success() {
    // seed-catalog-3a Must-test 52 (a token without a grant cannot be revoked early)
    let s = start(TestHost::with_clients(standard_clients())).await;
    let cc = s
        .token_basic("conf", &[("grant_type", "client_credentials")])
        .await;
    assert_revoked_ok(&revoke_as(&s, "conf", &at(&cc)).await);
    assert_eq!(s.introspect_as("other", &at(&cc)).await["active"], true);
}

#[tokio::test]
async fn missing_token_is_invalid_request() {
    // seed-catalog-3a Must-test 53
    let s = start(TestHost::with_clients(standard_clients())).await;
    let r = s
        .revoke(
            &[("token_type_hint", "refresh_token")],
            &[("authorization", &basic("conf", SECRET))],
        )
        .await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_request"));
    r.assert_no_store();
}

#[tokio::test]
async fn unauthenticated_revocation_is_invalid_client() {
    // seed-catalog-3a Must-test 54 (no credentials: 400 per RFC 6749 §5.2 and
    // seed-catalog-3b Must-test 43; a Basic attempt: 401 + challenge)
    let s = start(TestHost::with_clients(standard_clients())).await;
    let tokens = offline_tokens(&s, "conf").await;
    let none = s.revoke(&[("token", &rt(&tokens))], &[]).await;
    assert_eq!(
        (none.status, none.error().as_str()),
        (400, "invalid_client")
    );
    none.assert_no_store();
    let wrong = s
        .revoke(
            &[("token", &rt(&tokens))],
            &[("authorization", &basic("conf", "wrong"))],
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.error().as_str()),
        (401, "invalid_client")
    );
    assert_eq!(
        wrong.header("www-authenticate").as_deref(),
        Some(r#"Basic realm="OAuth""#)
    );
    wrong.assert_no_store();
    assert_eq!(
        refresh(&s, "conf", &rt(&tokens)).await.status,
        200,
        "nothing revoked"
    );
}

#[tokio::test]
async fn public_client_revokes_its_own_token_by_client_id() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let (code, verifier) = s
        .issue_code(CodeSpec::new("pub", &["offline_access", "documents.read"]))
        .await;
    let tokens = s.redeem("pub", true, &code, &verifier, &[]).await;
    let r = s
        .revoke(&[("token", &rt(&tokens)), ("client_id", "pub")], &[])
        .await;
    assert_revoked_ok(&r);
    let again = s
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt(&tokens)),
                ("client_id", "pub"),
            ],
            &[],
        )
        .await;
    assert_eq!(again.error(), "invalid_grant");
}

#[tokio::test]
async fn successful_revocation_emits_token_revoked() {
    // seed-catalog-3a Must-test 32
    let s = start(TestHost::with_clients(standard_clients())).await;
    let tokens = offline_tokens(&s, "conf").await;
    s.clear_events();
    assert_revoked_ok(&revoke_as(&s, "conf", &rt(&tokens)).await);
    let events = s.events_named(EventName::TokenRevoked);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].client_id.as_deref(), Some("conf"));
    assert_eq!(events[0].metadata["effective"], true);
    let serialized = serde_json::to_string(&events[0]).unwrap();
    assert!(!serialized.contains(&rt(&tokens)), "no token in events");
}
