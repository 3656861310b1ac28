//! The UserInfo endpoint over HTTP (OIDC Core §5.3, seed-catalog-3a §14).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_authz_support;

use std::sync::atomic::Ordering;

use attesto::host::EventName;
use attesto::server::config::USER_KIND;
use attesto::token::AccessTokenRequest;
use serde_json::{Value, json};
use server_authz_support::*;

const RM: &str = "resource_metadata=\"https://id.example/.well-known/oauth-protected-resource\"";

fn userinfo_htu() -> String {
    format!("{ISSUER}/oauth/userinfo")
}

async fn get(h: &Harness<TestHost>, auth: Option<&str>) -> reqwest::Response {
    let mut r = h.http.get(h.url("/oauth/userinfo"));
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    r.send().await.unwrap()
}

// seed-catalog-3a Must-test 64, Must-test 5
#[tokio::test]
async fn bearer_token_with_openid_gets_claims_via_get_and_post() {
    let (h, _) = spawn().await;
    let token = h.token("alice", "openid");
    let resp = get(&h, Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"sub": "usr_alice"}));

    let resp = h
        .http
        .post(h.url("/oauth/userinfo"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["sub"], "usr_alice");
    let ev = h.events.last(EventName::AuthSucceeded).unwrap();
    assert_eq!(ev.subject.as_deref(), Some("usr_alice"));
    assert_eq!(ev.token_type, Some("Bearer"));
}

#[tokio::test]
async fn scheme_name_is_case_insensitive() {
    let (h, _) = spawn().await;
    let token = h.token("alice", "openid");
    let resp = get(&h, Some(&format!("bearer {token}"))).await;
    assert_eq!(resp.status(), 200);
}

// seed-catalog-3a Must-test 65
#[tokio::test]
async fn token_without_openid_is_403_insufficient_scope() {
    let (h, _) = spawn().await;
    let token = h.token("alice", "email profile");
    let resp = get(&h, Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 403);
    let www = challenges(&resp);
    assert_eq!(www.len(), 1, "{www:?}");
    assert!(www[0].starts_with("Bearer "));
    assert!(www[0].contains("error=\"insufficient_scope\""));
    assert!(www[0].contains("scope=\"openid\""));
    assert!(www[0].contains(RM));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(
        h.events.last(EventName::AuthDenied).unwrap().result,
        Some("insufficient_scope")
    );
}

// seed-catalog-3a Must-test 66
#[tokio::test]
async fn missing_token_is_401_with_challenges_and_no_error_code() {
    let (h, _) = spawn().await;
    let resp = get(&h, None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let www = challenges(&resp);
    assert_eq!(www.len(), 2, "{www:?}");
    assert_eq!(www[0], format!("Bearer {RM}"));
    assert!(www[1].starts_with("DPoP algs=\"ES256 "), "{}", www[1]);
    assert!(www[1].ends_with(RM));
    assert!(www.iter().all(|w| !w.contains("error=")));
    // An unsupported scheme counts as no credentials (RFC 6750 §3.1).
    let resp = get(&h, Some("Basic YWxpY2U6c2VjcmV0")).await;
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp).iter().all(|w| !w.contains("error=")));
}

// seed-catalog-3a Must-test 66
#[tokio::test]
async fn invalid_tokens_are_401_invalid_token() {
    let (h, _) = spawn().await;
    let good = h.token("alice", "openid");
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
    let other_keys =
        attesto::jose::StaticKeystore::generate(attesto::jose::Algorithm::ES256).unwrap();
    let foreign =
        attesto::token::AccessTokenIssuer::builder(ISSUER, std::sync::Arc::new(other_keys))
            .audience(API)
            .principal_kinds([USER_KIND])
            .clock(h.clock.clone() as std::sync::Arc<dyn attesto::clock::Clock>)
            .build()
            .unwrap()
            .mint(
                AccessTokenRequest::new(&USER_KIND.subject("alice").unwrap(), "app")
                    .scope(["openid"]),
            )
            .unwrap()
            .access_token
            .expose()
            .to_owned();
    for token in ["garbage", "a.b.c", tampered.as_str(), foreign.as_str()] {
        let resp = get(&h, Some(&format!("Bearer {token}"))).await;
        assert_eq!(resp.status(), 401, "{token}");
        let www = challenges(&resp);
        assert!(
            www[0].starts_with("Bearer error=\"invalid_token\""),
            "{www:?}"
        );
        assert!(www[0].contains(RM));
        // DPoP is still offered, without error parameters.
        assert!(www[1].starts_with("DPoP ") && !www[1].contains("error="));
    }
    let resp = get(&h, Some("Bearer a b")).await;
    assert_eq!(resp.status(), 401);
    let resp = get(&h, Some("Bearer ")).await;
    assert_eq!(resp.status(), 400);
}

// seed-catalog-3a Must-test 66
#[tokio::test]
async fn expired_token_is_401_invalid_token() {
    let (h, _) = spawn().await;
    let token = h.token("alice", "openid");
    assert_eq!(
        get(&h, Some(&format!("Bearer {token}"))).await.status(),
        200
    );
    // Inside the verifier's 60 s leeway the token still passes (the cache
    // entry has lapsed at `exp`, the verifier decides).
    h.clock.advance(330);
    assert_eq!(
        get(&h, Some(&format!("Bearer {token}"))).await.status(),
        200
    );
    // ttl (300 s) + leeway (60 s)
    h.clock.advance(31);
    let resp = get(&h, Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp)[0].contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn token_for_another_audience_is_401() {
    let (h, _) = spawn().await;
    let token = h.token_with("alice", "openid", None, "https://other.example");
    let resp = get(&h, Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
}

// seed-catalog-3a Must-test 67
#[tokio::test]
async fn dpop_bound_token_presented_as_bearer_is_rejected() {
    let (h, _) = spawn().await;
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), API);
    let resp = get(&h, Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp)[0].contains("error=\"invalid_token\""));
    // With a valid proof attached it is still refused under Bearer.
    let proof = dpop_proof(&key, "GET", &userinfo_htu(), Some(&token), NOW);
    let resp = h
        .http
        .get(h.url("/oauth/userinfo"))
        .header("authorization", format!("Bearer {token}"))
        .header("dpop", proof)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn dpop_bound_token_with_a_valid_proof_is_accepted() {
    let (h, _) = spawn().await;
    let key = dpop_key();
    let token = h.token_with("alice", "openid email", Some(&jkt(&key)), API);
    for method in ["GET", "POST"] {
        let proof = dpop_proof(&key, method, &userinfo_htu(), Some(&token), NOW);
        let resp = h
            .http
            .request(method.parse().unwrap(), h.url("/oauth/userinfo"))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{method}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["email"], "alice@example.com");
    }
    assert_eq!(
        h.events.last(EventName::AuthSucceeded).unwrap().token_type,
        Some("DPoP")
    );
}

// seed-catalog-3a Must-test 68
#[tokio::test]
async fn dpop_proof_with_another_key_is_rejected() {
    let (h, _) = spawn().await;
    let key = dpop_key();
    let other = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), API);
    let proof = dpop_proof(&other, "GET", &userinfo_htu(), Some(&token), NOW);
    let resp = h
        .http
        .get(h.url("/oauth/userinfo"))
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let www = challenges(&resp);
    assert!(
        www[0].starts_with("DPoP error=\"invalid_dpop_proof\""),
        "{www:?}"
    );
}

#[tokio::test]
async fn dpop_proof_problems_are_rejected() {
    let (h, _) = spawn().await;
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), API);
    let other_token = h.token_with("alice", "openid email", Some(&jkt(&key)), API);
    let cases = [
        // wrong htu
        dpop_proof(
            &key,
            "GET",
            &format!("{ISSUER}/oauth/token"),
            Some(&token),
            NOW,
        ),
        // wrong method
        dpop_proof(&key, "POST", &userinfo_htu(), Some(&token), NOW),
        // ath of another token
        dpop_proof(&key, "GET", &userinfo_htu(), Some(&other_token), NOW),
        // no ath
        dpop_proof(&key, "GET", &userinfo_htu(), None, NOW),
        // stale
        dpop_proof(&key, "GET", &userinfo_htu(), Some(&token), NOW - 3600),
        "not-a-jwt".to_owned(),
    ];
    for proof in cases {
        let resp = h
            .http
            .get(h.url("/oauth/userinfo"))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        assert!(challenges(&resp)[0].contains("invalid_dpop_proof"));
    }
    // No proof at all.
    let resp = get(&h, Some(&format!("DPoP {token}"))).await;
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp)[0].contains("invalid_dpop_proof"));
}

#[tokio::test]
async fn replayed_dpop_proof_is_rejected() {
    let (h, _) = spawn().await;
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), API);
    let proof = dpop_proof(&key, "GET", &userinfo_htu(), Some(&token), NOW);
    let send = || {
        h.http
            .get(h.url("/oauth/userinfo"))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof.clone())
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 200);
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp)[0].contains("invalid_dpop_proof"));
}

// seed-catalog-3a Must-test 68
#[tokio::test]
async fn certificate_bound_token_without_certificate_is_rejected() {
    let (h, _) = spawn().await;
    let req = AccessTokenRequest::new(&USER_KIND.subject("alice").unwrap(), "app")
        .scope(["openid"])
        .mtls_thumbprint("x4E2mMbcEDZ0L4SXwGAAQMR0ICdqKkNthLk4T5Pr0ZU");
    let token = h.mint(req, API);
    let resp = get(&h, Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
}

// seed-catalog-3a Must-test 69
#[tokio::test]
async fn claims_are_released_by_scope_only() {
    let (h, _) = spawn().await;
    let token = h.token("alice", "openid email");
    let body: Value = get(&h, Some(&format!("Bearer {token}")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({"sub": "usr_alice", "email": "alice@example.com", "email_verified": true})
    );
}

// seed-catalog-3a Must-test 70
#[tokio::test]
async fn address_and_phone_scopes_release_their_claims() {
    let (h, _) = spawn().await;
    let token = h.token("alice", "openid address phone");
    let body: Value = get(&h, Some(&format!("Bearer {token}")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["address"],
        json!({"country": "UK", "locality": "Oxford"})
    );
    assert_eq!(body["phone_number"], "+1 555 0100");
    assert_eq!(body["phone_number_verified"], false);
    assert!(body.get("email").is_none());
    assert!(body.get("name").is_none());
    // The host's own `sub` never wins.
    assert_eq!(body["sub"], "usr_alice");
}

// seed-catalog-3a Must-test 72
#[tokio::test]
async fn claims_the_host_does_not_have_are_omitted() {
    let (h, _) = spawn().await;
    let token = h.token("alice", "openid profile");
    let body: Value = get(&h, Some(&format!("Bearer {token}")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"sub": "usr_alice", "name": "Alice Liddell"}));
}

#[tokio::test]
async fn unknown_principal_is_401_invalid_token() {
    let (h, _) = spawn().await;
    let token = h.token("bob", "openid");
    let resp = get(&h, Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp)[0].contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn principal_store_failure_is_503() {
    let (h, host) = spawn().await;
    host.state.principals_down.store(true, Ordering::SeqCst);
    let token = h.token("alice", "openid");
    let resp = get(&h, Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn client_credentials_token_has_no_userinfo() {
    let (h, host) = spawn().await;
    let token = h.client_token("machine", "openid");
    let resp = get(&h, Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401);
    // The principal store was not asked about a client id.
    assert_eq!(host.state.principal_lookups.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn access_token_in_body_or_query_is_not_accepted() {
    let (h, _) = spawn().await;
    let token = h.token("alice", "openid");
    let resp = h
        .http
        .post(h.url("/oauth/userinfo"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(challenges(&resp).iter().all(|w| !w.contains("error=")));
    let resp = h
        .http
        .get(h.url(&format!("/oauth/userinfo?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn two_authorization_headers_are_400_invalid_request() {
    let (h, _) = spawn().await;
    let token = h.token("alice", "openid");
    let resp = h
        .http
        .get(h.url("/oauth/userinfo"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}
