//! Dynamic client registration (RFC 7591 §3) over loopback HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_register_support;

use attesto::client_auth::{HashedSecret, SecretHasher};
use attesto::host::EventName;
use attesto::server::GrantType;
use serde_json::{Value, json};
use server_register_support::{
    Behaviour, DefaultHost, SERVER_SECRET, TestHost, config, post, register, serve,
};

const EC_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;

fn assert_error(status: u16, body: &Value, code: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], code, "{body}");
}

// seed-catalog-3a Must-test 2
#[tokio::test]
async fn registration_disabled_mounts_no_route_and_advertises_none() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(false)).await;
    let (status, _, _) = register(&srv.base, r#"{"redirect_uris":["https://a.example/cb"]}"#).await;
    assert_eq!(status, 404);
    let del = reqwest::Client::new()
        .delete(srv.url("/oauth/register/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status().as_u16(), 404);
    let md: Value = reqwest::get(srv.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(md.get("registration_endpoint").is_none());
    assert_eq!(*srv.server.host().calls.lock().unwrap(), 0);
}

// seed-catalog-3a Must-test 3
#[tokio::test]
async fn registration_enabled_mounts_route_and_advertises_it() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let md: Value = reqwest::get(srv.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        md["registration_endpoint"],
        "https://id.example/oauth/register"
    );
    let (status, _, body) =
        register(&srv.base, r#"{"redirect_uris":["https://a.example/cb"]}"#).await;
    assert_eq!(status, 201, "{body}");
}

// seed-catalog-3a Must-test 37
#[tokio::test]
async fn non_json_content_type_is_invalid_client_metadata_and_not_persisted() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let json_body = br#"{"redirect_uris":["https://a.example/cb"]}"#.to_vec();
    for ct in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/jsonp",
        "application/json; charset=iso-8859-1",
    ] {
        let (status, _, body) = post(&srv.base, ct, json_body.clone()).await;
        assert_error(status, &body, "invalid_client_metadata");
    }
    // no Content-Type at all
    let resp = reqwest::Client::new()
        .post(srv.url("/oauth/register"))
        .body(json_body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
    assert_eq!(*srv.server.host().calls.lock().unwrap(), 0);
}

// seed-catalog-3a Must-test 38
#[tokio::test]
async fn public_client_registration_gets_no_secret() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (status, _, body) = register(
        &srv.base,
        r#"{"redirect_uris":["http://127.0.0.1:9000/cb"],"token_endpoint_auth_method":"none","scope":"openid"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["client_id"].as_str().unwrap();
    assert_eq!(id.len(), 32, "24 random bytes, base64url");
    assert!(body["client_id_issued_at"].is_i64());
    assert!(body.get("client_secret").is_none());
    assert!(body.get("client_secret_expires_at").is_none());
    let stored = srv.server.host().registered.read().unwrap();
    let client = stored.get(id).unwrap();
    assert!(client.client_secret_hash.is_none());
    assert!(client.metadata.is_public());
}

// seed-catalog-3a Must-test 39
#[tokio::test]
async fn confidential_client_gets_secret_and_host_receives_only_its_hash() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (status, _, body) = register(
        &srv.base,
        r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic","scope":"read"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let secret = body["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43);
    assert_eq!(body["client_secret_expires_at"], 0);
    let stored = srv.server.host().registered.read().unwrap();
    let client = stored.get(body["client_id"].as_str().unwrap()).unwrap();
    let hash = client.client_secret_hash.as_ref().unwrap();
    assert_ne!(hash.as_str(), secret);
    assert!(!hash.as_str().contains(secret));
    // the hash verifies under the server secret, so the token endpoint can check it
    let hasher = SecretHasher::new(SERVER_SECRET.as_bytes()).unwrap();
    let reloaded = HashedSecret::from_stored(hash.as_str()).unwrap();
    assert!(hasher.verify(secret, &reloaded));
    assert!(!hasher.verify("not-the-secret", &reloaded));
}

#[tokio::test]
async fn client_secret_post_also_gets_a_secret_and_private_key_jwt_does_not() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (status, _, body) = register(
        &srv.base,
        r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["client_secret"].is_string());
    let jwt = format!(
        r#"{{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{{"keys":[{EC_JWK}]}}}}"#
    );
    let (status, _, body) = register(&srv.base, &jwt).await;
    assert_eq!(status, 201, "{body}");
    assert!(body.get("client_secret").is_none());
    assert_eq!(body["jwks"]["keys"][0]["kty"], "EC");
    let stored = srv.server.host().registered.read().unwrap();
    let client = stored.get(body["client_id"].as_str().unwrap()).unwrap();
    assert_eq!(client.metadata.jwks.as_ref().unwrap().keys.len(), 1);
    assert!(client.client_secret_hash.is_none());
}

// seed-catalog-3a Must-test 40
#[tokio::test]
async fn registered_metadata_is_echoed() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (status, _, body) = register(
        &srv.base,
        r#"{"redirect_uris":["https://a.example/cb","https://a.example/cb2"],
            "grant_types":["authorization_code","refresh_token"],
            "token_endpoint_auth_method":"client_secret_post",
            "scope":"openid profile docs.read","client_name":"Docs <app>",
            "dpop_bound_access_tokens":true,"logo_uri":"https://a.example/logo.png"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["redirect_uris"],
        json!(["https://a.example/cb", "https://a.example/cb2"])
    );
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(body["scope"], "openid profile docs.read");
    assert_eq!(body["client_name"], "Docs <app>");
    assert_eq!(body["dpop_bound_access_tokens"], true);
    // unknown members are ignored, not echoed
    assert!(body.get("logo_uri").is_none());
    let stored = srv.server.host().registered.read().unwrap();
    let md = &stored
        .get(body["client_id"].as_str().unwrap())
        .unwrap()
        .metadata;
    assert!(md.dpop_bound_access_tokens);
    assert!(md.has_grant(GrantType::RefreshToken));
}

#[tokio::test]
async fn defaults_are_authorization_code_code_and_client_secret_basic() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (status, _, body) =
        register(&srv.base, r#"{"redirect_uris":["https://a.example/cb"]}"#).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["grant_types"], json!(["authorization_code"]));
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    // no scope asked, none registered (fail closed, never widened to the catalog)
    assert!(body.get("scope").is_none());
}

// seed-catalog-3a Must-test 41
#[tokio::test]
async fn unsupported_scope_is_invalid_client_metadata() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (status, _, body) = register(
        &srv.base,
        r#"{"redirect_uris":["https://a.example/cb"],"scope":"openid unknown"}"#,
    )
    .await;
    assert_error(status, &body, "invalid_client_metadata");
    assert_eq!(*srv.server.host().calls.lock().unwrap(), 0);
}

// seed-catalog-3a Must-test 42
#[tokio::test]
async fn unsupported_grant_type_or_auth_method_is_invalid_client_metadata() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    for doc in [
        r#"{"redirect_uris":["https://a.example/cb"],"grant_types":["implicit"]}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"grant_types":["password"]}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"grant_types":[]}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_jwt"}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"tls_client_auth"}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"response_types":["token"]}"#,
    ] {
        let (status, _, body) = register(&srv.base, doc).await;
        assert_error(status, &body, "invalid_client_metadata");
    }
    assert_eq!(*srv.server.host().calls.lock().unwrap(), 0);
}

#[tokio::test]
async fn grant_not_enabled_on_the_server_is_invalid_client_metadata() {
    let cfg = attesto::server::ServerConfig::builder("https://id.example")
        .grants([GrantType::ClientCredentials])
        .registration(true)
        .build()
        .unwrap();
    let srv = serve(TestHost::new(Behaviour::Accept), cfg).await;
    // the default grant (authorization_code) is not enabled here
    let (status, _, body) =
        register(&srv.base, r#"{"redirect_uris":["https://a.example/cb"]}"#).await;
    assert_error(status, &body, "invalid_client_metadata");
    let (status, _, body) = register(&srv.base, r#"{"grant_types":["client_credentials"]}"#).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["response_types"], json!([]));
}

// seed-catalog-3a Must-test 42
#[tokio::test]
async fn invalid_redirect_uris_are_invalid_redirect_uri() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    for uri in [
        "http://app.example/cb",
        "https://app.example/cb#frag",
        "/relative/cb",
        "com.example.app:/cb",
        "javascript:alert(1)",
        "https://user:pw@app.example/cb",
        "https://app.example/c b",
        "https://app.example/cb\n",
        "https://app.example/é",
        "",
    ] {
        let doc = json!({ "redirect_uris": [uri] }).to_string();
        let (status, _, body) = register(&srv.base, &doc).await;
        assert_error(status, &body, "invalid_redirect_uri");
    }
    // authorization_code without any redirect URI
    let (status, _, body) = register(&srv.base, r#"{"scope":"openid"}"#).await;
    assert_error(status, &body, "invalid_redirect_uri");
    let (status, _, body) = register(&srv.base, r#"{"redirect_uris":[]}"#).await;
    assert_error(status, &body, "invalid_redirect_uri");
    let many: Vec<String> = (0..40).map(|i| format!("https://a.example/{i}")).collect();
    let (status, _, body) =
        register(&srv.base, &json!({ "redirect_uris": many }).to_string()).await;
    assert_error(status, &body, "invalid_redirect_uri");
    assert_eq!(*srv.server.host().calls.lock().unwrap(), 0);
}

#[tokio::test]
async fn loopback_http_redirect_uris_are_accepted() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    for uri in [
        "http://127.0.0.1:8765/callback",
        "http://[::1]:8765/callback",
        "http://localhost/cb",
        "https://app.example/cb?x=1",
    ] {
        let doc = json!({ "redirect_uris": [uri] }).to_string();
        let (status, _, body) = register(&srv.base, &doc).await;
        assert_eq!(status, 201, "{uri}: {body}");
        assert_eq!(body["redirect_uris"], json!([uri]));
    }
}

// seed-catalog-3a Must-test 43
#[tokio::test]
async fn only_the_first_invalid_member_is_reported() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    // redirect_uris is checked before scope and grant_types
    let (status, _, body) = register(
        &srv.base,
        r#"{"scope":"nope","grant_types":["implicit"],"redirect_uris":["http://evil.example/cb"]}"#,
    )
    .await;
    assert_error(status, &body, "invalid_redirect_uri");
    // token_endpoint_auth_method before grant_types, both before scope
    let (status, _, body) = register(
        &srv.base,
        r#"{"scope":"nope","grant_types":["implicit"],"token_endpoint_auth_method":"bogus","redirect_uris":["https://a.example/cb"]}"#,
    )
    .await;
    assert_error(status, &body, "invalid_client_metadata");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("token_endpoint_auth_method"),
        "{body}"
    );
    let (status, _, body) = register(
        &srv.base,
        r#"{"scope":"nope","grant_types":["implicit"],"redirect_uris":["https://a.example/cb"]}"#,
    )
    .await;
    assert_error(status, &body, "invalid_client_metadata");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("grant"),
        "{body}"
    );
}

// seed-catalog-3a Must-test 44
#[tokio::test]
async fn host_rejection_is_invalid_client_metadata_not_500() {
    let srv = serve(TestHost::new(Behaviour::Reject), config(true)).await;
    let (status, _, body) =
        register(&srv.base, r#"{"redirect_uris":["https://a.example/cb"]}"#).await;
    assert_error(status, &body, "invalid_client_metadata");
    assert_eq!(body["error_description"], "the registry is full");
    assert!(
        srv.events().is_empty(),
        "no event for a refused registration"
    );
}

#[tokio::test]
async fn backend_failure_is_503_temporarily_unavailable() {
    let srv = serve(TestHost::new(Behaviour::Fail), config(true)).await;
    let (status, headers, body) =
        register(&srv.base, r#"{"redirect_uris":["https://a.example/cb"]}"#).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(!body.to_string().contains("database down"));
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test]
async fn host_without_registration_support_fails_closed() {
    let srv = serve(DefaultHost, config(true)).await;
    let (status, _, body) =
        register(&srv.base, r#"{"redirect_uris":["https://a.example/cb"]}"#).await;
    assert_error(status, &body, "invalid_client_metadata");
    assert!(body.get("client_id").is_none());
    assert!(srv.events().is_empty());
}

// seed-catalog-3a Must-test 45
#[tokio::test]
async fn success_and_error_responses_are_no_store() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (status, headers, _) =
        register(&srv.base, r#"{"redirect_uris":["https://a.example/cb"]}"#).await;
    assert_eq!(status, 201);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(headers["content-type"], "application/json");
    let (status, headers, _) = register(&srv.base, r#"{"redirect_uris":"nope"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(headers["cache-control"], "no-store");
    let (status, headers, _) = post(&srv.base, "text/plain", b"x".to_vec()).await;
    assert_eq!(status, 400);
    assert_eq!(headers["cache-control"], "no-store");
}

// seed-catalog-3a Must-test 31
#[tokio::test]
async fn registration_emits_one_client_registered_event_without_secret() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (status, _, body) = register(
        &srv.base,
        r#"{"grant_types":["client_credentials"],"scope":"read"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let events = srv.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.name, EventName::ClientRegistered);
    assert_eq!(e.client_id.as_deref(), body["client_id"].as_str());
    assert_eq!(e.scope.as_deref(), Some("read"));
    let serialized = serde_json::to_string(e).unwrap();
    let secret = body["client_secret"].as_str().unwrap();
    assert!(!serialized.contains(secret));
    let stored = srv.server.host().registered.read().unwrap();
    let hash = stored
        .values()
        .next()
        .unwrap()
        .client_secret_hash
        .clone()
        .unwrap();
    assert!(!serialized.contains(hash.as_str()));
}

#[tokio::test]
async fn every_registration_gets_a_fresh_client_id() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let doc = r#"{"redirect_uris":["https://a.example/cb"]}"#;
    let (_, _, a) = register(&srv.base, doc).await;
    let (_, _, b) = register(&srv.base, doc).await;
    assert_ne!(a["client_id"], b["client_id"]);
    assert_ne!(a["client_secret"], b["client_secret"]);
    assert_eq!(srv.server.host().registered.read().unwrap().len(), 2);
}

#[tokio::test]
async fn wrong_member_types_are_invalid_client_metadata() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    for doc in [
        r#"{"redirect_uris":"https://a.example/cb"}"#,
        r#"{"redirect_uris":[42]}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"grant_types":"authorization_code"}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"response_types":"code"}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":1}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"scope":["openid"]}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"client_name":{"en":"x"}}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"dpop_bound_access_tokens":"true"}"#,
        r#"{"redirect_uris":["https://a.example/cb"],"jwks":"{}"}"#,
    ] {
        let (status, _, body) = register(&srv.base, doc).await;
        assert_error(status, &body, "invalid_client_metadata");
    }
}

#[tokio::test]
async fn malformed_bodies_are_invalid_client_metadata() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    for raw in [
        &b""[..],
        b"null",
        b"[]",
        b"\"x\"",
        b"{",
        b"\xff\xfe{}",
        br#"{"redirect_uris":["https://a.example/cb"],"redirect_uris":["https://evil.example/cb"]}"#,
        br#"{"client_name":"\ud800"}"#,
    ] {
        let (status, _, body) = post(&srv.base, "application/json", raw.to_vec()).await;
        assert_error(status, &body, "invalid_client_metadata");
    }
    let deep = format!("{}{}", "[".repeat(10_00), "]".repeat(10_00));
    let (status, _, body) = post(
        &srv.base,
        "application/json",
        format!(r#"{{"x":{deep}}}"#).into_bytes(),
    )
    .await;
    assert_error(status, &body, "invalid_client_metadata");
    assert_eq!(*srv.server.host().calls.lock().unwrap(), 0);
}

#[tokio::test]
async fn oversized_body_is_refused_with_a_json_error() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let name = "x".repeat(16 * 1024);
    let doc = json!({"redirect_uris":["https://a.example/cb"], "filler": name}).to_string();
    let (status, headers, body) = register(&srv.base, &doc).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"], "invalid_client_metadata");
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test]
async fn private_key_jwt_requires_inline_public_jwks() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let private = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#;
    for doc in [
        r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt"}"#.to_owned(),
        r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://a.example/jwks"}"#.to_owned(),
        format!(r#"{{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{{"keys":[{private}]}}}}"#),
        r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[]}}"#.to_owned(),
        r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}}"#.to_owned(),
        r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"nokeys":true}}"#.to_owned(),
    ] {
        let (status, _, body) = register(&srv.base, &doc).await;
        assert_error(status, &body, "invalid_client_metadata");
    }
    assert_eq!(*srv.server.host().calls.lock().unwrap(), 0);
}

#[tokio::test]
async fn public_client_cannot_register_client_credentials() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (status, _, body) = register(
        &srv.base,
        r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}"#,
    )
    .await;
    assert_error(status, &body, "invalid_client_metadata");
}

#[tokio::test]
async fn inconsistent_grant_and_response_types_are_refused() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    for doc in [
        r#"{"redirect_uris":["https://a.example/cb"],"response_types":[]}"#,
        r#"{"grant_types":["client_credentials"],"response_types":["code"]}"#,
    ] {
        let (status, _, body) = register(&srv.base, doc).await;
        assert_error(status, &body, "invalid_client_metadata");
    }
}

#[tokio::test]
async fn client_name_with_control_characters_is_refused() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    for name in ["evil\u{0}name", "line\nbreak", &"n".repeat(300)] {
        let doc =
            json!({"redirect_uris":["https://a.example/cb"], "client_name": name}).to_string();
        let (status, _, body) = register(&srv.base, &doc).await;
        assert_error(status, &body, "invalid_client_metadata");
    }
}

#[tokio::test]
async fn dpop_bound_clients_are_refused_when_dpop_is_off() {
    let mut dpop = config(true).dpop;
    dpop.enabled = false;
    let cfg = attesto::server::ServerConfig::builder("https://id.example")
        .registration(true)
        .dpop(dpop)
        .build()
        .unwrap();
    let srv = serve(TestHost::new(Behaviour::Accept), cfg).await;
    let (status, _, body) = register(
        &srv.base,
        r#"{"redirect_uris":["https://a.example/cb"],"dpop_bound_access_tokens":true}"#,
    )
    .await;
    assert_error(status, &body, "invalid_client_metadata");
}

#[tokio::test]
async fn registered_client_is_found_by_the_registry() {
    use attesto::host::{ClientLookup, ClientRegistry, OAuthClient};
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let (_, _, body) = register(&srv.base, r#"{"redirect_uris":["https://a.example/cb"]}"#).await;
    let id = body["client_id"].as_str().unwrap();
    let ClientLookup::Found(c) = srv.server.host().find_client(id).await.unwrap() else {
        panic!("registered client not found");
    };
    assert!(c.has_redirect_uri("https://a.example/cb"));
    assert!(!c.has_redirect_uri("https://a.example/cb/"));
}

#[tokio::test]
async fn get_on_the_registration_endpoint_is_not_a_registration() {
    let srv = serve(TestHost::new(Behaviour::Accept), config(true)).await;
    let resp = reqwest::get(srv.url("/oauth/register")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(*srv.server.host().calls.lock().unwrap(), 0);
}
