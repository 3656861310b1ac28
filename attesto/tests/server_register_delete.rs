//! RFC 7592 §2.3 client deletion at the `registration_client_uri`, with the
//! `registration_access_token` from the registration response.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_register_support;

use std::sync::atomic::Ordering;

use attesto::client_auth::SecretHasher;
use serde_json::Value;
use server_register_support::{Behaviour, SERVER_SECRET, TestHost, config, register, serve};

const BODY: &str = r#"{"redirect_uris":["https://a.example/cb"]}"#;

/// Register a client; returns (client_id, registration_access_token, registration_client_uri).
async fn registered(base: &str) -> (String, String, String) {
    let (status, _, body) = register(base, BODY).await;
    assert_eq!(status, 201, "{body}");
    (
        body["client_id"].as_str().unwrap().to_owned(),
        body["registration_access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        body["registration_client_uri"].as_str().unwrap().to_owned(),
    )
}

/// The test server listens on loopback; the advertised URI is on the issuer.
fn local(base: &str, uri: &str) -> String {
    uri.replacen("https://id.example", base, 1)
}

async fn delete(url: &str, auth: Option<&str>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().delete(url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn challenge(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn registration_response_carries_a_registration_token_stored_only_as_its_hash() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (id, token, uri) = registered(&srv.base).await;
    assert_eq!(uri, format!("https://id.example/oauth/register/{id}"));
    assert!(token.len() >= 43, "32 random bytes");
    let stored = srv.server.host().registered.read().unwrap()[&id]
        .registration_access_token_hash
        .clone();
    assert!(!stored.as_str().contains(&token));
    let hasher = SecretHasher::new(SERVER_SECRET.as_bytes()).unwrap();
    assert!(hasher.verify(&token, &stored));
    // Every registration gets its own token.
    let (_, other, _) = registered(&srv.base).await;
    assert_ne!(token, other);
}

#[tokio::test]
async fn delete_with_the_registration_token_removes_the_client() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (id, token, uri) = registered(&srv.base).await;
    let url = local(&srv.base, &uri);
    let (status, headers, _) = delete(&url, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 204);
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        !srv.server
            .host()
            .registered
            .read()
            .unwrap()
            .contains_key(&id)
    );
    assert_eq!(*srv.server.host().unregister_calls.lock().unwrap(), [id]);
    // Gone: the same request is now refused.
    let (status, _, body) = delete(&url, Some(&format!("Bearer {token}"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
}

#[tokio::test]
async fn delete_without_the_right_token_is_401_invalid_token_and_deletes_nothing() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (id, token, uri) = registered(&srv.base).await;
    let (_, other_token, _) = registered(&srv.base).await;
    let url = local(&srv.base, &uri);

    let (status, headers, body) = delete(&url, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    // RFC 6750 §3.1: no error code in the challenge when no token was sent.
    assert_eq!(challenge(&headers), "Bearer");

    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    for auth in [
        format!("Bearer {tampered}"),
        format!("Bearer {other_token}"),
        format!("Basic {token}"),
        format!("Bearer {token} extra"),
        "Bearer ".to_owned(),
    ] {
        let (status, headers, body) = delete(&url, Some(&auth)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_token")),
            "{auth}"
        );
        assert!(challenge(&headers).starts_with("Bearer"), "{auth}");
    }
    assert!(
        srv.server
            .host()
            .registered
            .read()
            .unwrap()
            .contains_key(&id)
    );
    assert!(
        srv.server
            .host()
            .unregister_calls
            .lock()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn delete_of_an_unknown_client_is_401_invalid_token() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (_, token, _) = registered(&srv.base).await;
    let (status, headers, body) = delete(
        &srv.url("/oauth/register/no-such-client"),
        Some(&format!("Bearer {token}")),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert!(challenge(&headers).contains("invalid_token"));
}

#[tokio::test]
async fn delete_fails_closed_when_the_host_does_not_implement_unregister() {
    let host = TestHost::new(Behaviour::Accept);
    host.deletes.store(false, Ordering::SeqCst);
    let srv = serve(host, config(true)).await;
    let (id, token, uri) = registered(&srv.base).await;
    let (status, _, body) = delete(&local(&srv.base, &uri), Some(&format!("Bearer {token}"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert!(
        srv.server
            .host()
            .registered
            .read()
            .unwrap()
            .contains_key(&id)
    );
}

#[tokio::test]
async fn read_and_update_at_the_client_uri_are_not_offered() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (_, token, uri) = registered(&srv.base).await;
    let url = local(&srv.base, &uri);
    let http = reqwest::Client::new();
    for req in [http.get(&url), http.put(&url).body("{}")] {
        let resp = req
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 405);
        assert_eq!(resp.headers()["allow"], "DELETE");
    }
}
