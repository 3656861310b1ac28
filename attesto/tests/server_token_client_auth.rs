//! Client authentication at the token endpoint, over real HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_token_support;

use std::sync::atomic::Ordering;

use attesto::host::{EventName, TokenEndpointAuthMethod};
use attesto::jose::{Algorithm, SigningKey};
use server_token_support::*;

const CC: (&str, &str) = ("grant_type", "client_credentials");

fn pkjwt_client(id: &str, key: &SigningKey) -> TestClient {
    let mut c = TestClient::with_method(id, TokenEndpointAuthMethod::PrivateKeyJwt);
    c.secret_hash = None;
    c.jwks = Some(jwks_of(key));
    c
}

#[tokio::test]
async fn basic_and_body_secret_together_is_invalid_request() {
    // seed-catalog-2 §35.A Must-test 1; seed-catalog-3a Must-test 22
    let s = start(TestHost::with_clients(standard_clients())).await;
    let auth = basic("conf", SECRET);
    let r = s
        .token(
            &[CC, ("client_secret", SECRET)],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_request");
    assert!(r.header("www-authenticate").is_none());
    r.assert_no_store();
}

#[tokio::test]
async fn basic_and_client_assertion_together_is_invalid_request() {
    // seed-catalog-2 §35.A Must-test 2
    let key = es256();
    let s = start(TestHost::with_clients([pkjwt_client("pk", &key)])).await;
    let a = s.assertion(&key, "pk", ISSUER, 60);
    let auth = basic("pk", SECRET);
    let mut pairs = vec![CC];
    pairs.extend(client_assertion_pairs(&a));
    let r = s.token(&pairs, &[("authorization", &auth)]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_request"));
}

#[tokio::test]
async fn body_secret_and_client_assertion_together_is_invalid_request() {
    // seed-catalog-2 §35.A Must-test 3
    let key = es256();
    let s = start(TestHost::with_clients([pkjwt_client("pk", &key)])).await;
    let a = s.assertion(&key, "pk", ISSUER, 60);
    let mut pairs = vec![CC, ("client_id", "pk"), ("client_secret", SECRET)];
    pairs.extend(client_assertion_pairs(&a));
    let r = s.token(&pairs, &[]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_request"));
}

#[tokio::test]
async fn unknown_client_is_indistinguishable_from_a_wrong_secret() {
    // seed-catalog-2 §35.A Must-tests 4 and 5; seed-catalog-3a Must-test 15
    let s = start(TestHost::with_clients(standard_clients())).await;
    let unknown = s
        .token(&[CC], &[("authorization", &basic("nobody", SECRET))])
        .await;
    let wrong = s
        .token(&[CC], &[("authorization", &basic("conf", "wrong-secret"))])
        .await;
    for r in [&unknown, &wrong] {
        assert_eq!(r.status, 401, "{r:?}");
        assert_eq!(
            r.header("www-authenticate").as_deref(),
            Some(r#"Basic realm="OAuth""#)
        );
        assert_eq!(
            r.json()["error_description"],
            "client authentication failed"
        );
        r.assert_no_store();
    }
    assert_eq!(unknown.text, wrong.text, "byte-identical bodies");
}

#[tokio::test]
async fn revoked_client_fails_like_an_unknown_client() {
    // seed-catalog-2 §35.A Must-test 6; seed-catalog-3a Must-test 15
    let host = TestHost::with_clients(standard_clients());
    host.revoked.lock().unwrap().insert("conf".into());
    let s = start(host).await;
    let revoked = s.token_basic("conf", &[CC]).await;
    let unknown = s
        .token(&[CC], &[("authorization", &basic("nobody", SECRET))])
        .await;
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.text, unknown.text);
}

#[tokio::test]
async fn public_client_identified_by_client_id_only_is_admitted() {
    // seed-catalog-2 §35.A Must-test 7; seed-catalog-3a Must-test 23
    let s = start(TestHost::with_clients(standard_clients())).await;
    let (code, verifier) = s
        .issue_code(CodeSpec::new("pub", &["documents.read"]))
        .await;
    let r = s.redeem("pub", true, &code, &verifier, &[]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["token_type"], "Bearer");
}

#[tokio::test]
async fn confidential_client_with_client_id_only_is_invalid_client_without_challenge() {
    // seed-catalog-3a Must-test 23 (the seed says 401; RFC 6749 §5.2 and
    // seed-catalog-3b Must-test 43 decide: no Authorization header → 400, no challenge)
    let s = start(TestHost::with_clients(standard_clients())).await;
    let r = s.token(&[CC, ("client_id", "conf")], &[]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_client"));
    assert!(r.header("www-authenticate").is_none());
    let none = s.token(&[CC], &[]).await;
    assert_eq!(
        (none.status, none.error().as_str()),
        (400, "invalid_client")
    );
    assert!(none.header("www-authenticate").is_none());
}

#[tokio::test]
async fn header_failure_is_401_with_challenge_and_body_failure_is_400_without() {
    // seed-catalog-2 §35.A Must-test 17; seed-catalog-3b Must-test 43
    let s = start(TestHost::with_clients(standard_clients())).await;
    let header = s
        .token(&[CC], &[("authorization", &basic("post", "wrong"))])
        .await;
    assert_eq!(header.status, 401);
    assert!(
        header
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    let body = s
        .token(
            &[CC, ("client_id", "post"), ("client_secret", "wrong")],
            &[],
        )
        .await;
    assert_eq!(
        (body.status, body.error().as_str()),
        (400, "invalid_client")
    );
    assert!(body.header("www-authenticate").is_none());
    let ok = s
        .token(&[CC, ("client_id", "post"), ("client_secret", SECRET)], &[])
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
}

#[tokio::test]
async fn unusable_authorization_header_still_earns_a_basic_challenge() {
    // seed-catalog-2 §35.A Must-test 18
    let s = start(TestHost::with_clients(standard_clients())).await;
    for value in ["Basic !!!garbage", "Bearer xyz", "Basic"] {
        let r = s.token(&[CC], &[("authorization", value)]).await;
        assert_eq!(
            (r.status, r.error().as_str()),
            (401, "invalid_client"),
            "{value}"
        );
        assert_eq!(
            r.header("www-authenticate").as_deref(),
            Some(r#"Basic realm="OAuth""#)
        );
    }
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let auth = basic("conf", SECRET);
    let r = s
        .token(&[CC], &[("authorization", &auth), ("authorization", &auth)])
        .await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_request"));
}

#[tokio::test]
async fn form_encoded_basic_credentials_are_decoded_before_verification() {
    // seed-catalog-2 §35.A Must-test 20
    let s = start(TestHost::with_clients([
        TestClient::confidential("my:app").secret("a+b c")
    ]))
    .await;
    // base64("my%3Aapp:a%2Bb+c")
    let r = s
        .token(&[CC], &[("authorization", &basic("my:app", "a+b c"))])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let raw = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "my:app:a+b c");
    let undecoded = s
        .token(&[CC], &[("authorization", &format!("Basic {raw}"))])
        .await;
    assert_eq!(undecoded.status, 401, "a raw colon in the id splits it");
}

#[tokio::test]
async fn private_key_jwt_client_authenticates_end_to_end() {
    // seed-catalog-3a Must-test 24; seed-catalog-2 §35.A Must-tests 9 and 10
    let key = es256();
    let s = start(TestHost::with_clients([pkjwt_client("pk", &key)])).await;
    let a = s.assertion(&key, "pk", ISSUER, 60);
    let mut pairs = vec![CC];
    pairs.extend(client_assertion_pairs(&a));
    let r = s.token(&pairs, &[]).await;
    assert_eq!(r.status, 200, "{r:?}");
    let claims = jwt_claims(r.json()["access_token"].as_str().unwrap());
    assert_eq!(
        claims["client_id"], "pk",
        "client id from the assertion sub"
    );
    assert_eq!(claims["sub"], "oc_pk");
}

#[tokio::test]
async fn private_key_jwt_for_the_endpoint_url_instead_of_the_issuer_is_invalid_client() {
    // seed-catalog-2 §35.A Must-test 10
    let key = es256();
    let s = start(TestHost::with_clients([pkjwt_client("pk", &key)])).await;
    let a = s.assertion(&key, "pk", &s.token_url(), 60);
    let mut pairs = vec![CC];
    pairs.extend(client_assertion_pairs(&a));
    let r = s.token(&pairs, &[]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_client"));
    assert_eq!(
        r.json()["error_description"],
        "client authentication failed"
    );
}

#[tokio::test]
async fn replayed_client_assertion_is_invalid_client() {
    // seed-catalog-2 §35.A Must-test 11
    let key = es256();
    let s = start(TestHost::with_clients([pkjwt_client("pk", &key)])).await;
    let a = s.assertion(&key, "pk", ISSUER, 60);
    let mut pairs = vec![CC];
    pairs.extend(client_assertion_pairs(&a));
    assert_eq!(s.token(&pairs, &[]).await.status, 200);
    let again = s.token(&pairs, &[]).await;
    assert_eq!(
        (again.status, again.error().as_str()),
        (400, "invalid_client")
    );
}

#[tokio::test]
async fn overlong_client_assertion_lifetime_is_invalid_client() {
    // seed-catalog-2 §35.A Must-test 12
    let key = es256();
    let s = start(TestHost::with_clients([pkjwt_client("pk", &key)])).await;
    let a = s.assertion(&key, "pk", ISSUER, 3_600);
    let mut pairs = vec![CC];
    pairs.extend(client_assertion_pairs(&a));
    let r = s.token(&pairs, &[]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_client"));
}

#[tokio::test]
async fn client_assertion_with_a_disallowed_algorithm_is_invalid_client() {
    // seed-catalog-2 §35.A Must-test 13 (HS256 / none cannot even be
    // represented; RS256 is outside the default assertion algorithms)
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let s = start(TestHost::with_clients([pkjwt_client("pk", &key)])).await;
    let a = s.assertion(&key, "pk", ISSUER, 60);
    let mut pairs = vec![CC];
    pairs.extend(client_assertion_pairs(&a));
    let r = s.token(&pairs, &[]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_client"));
    for alg in ["none", "HS256"] {
        let header = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
        );
        let payload = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            format!(
                r#"{{"iss":"pk","sub":"pk","aud":"{}","jti":"j","iat":{},"exp":{}}}"#,
                ISSUER,
                NOW,
                NOW + 60
            ),
        );
        let forged = format!("{header}.{payload}.c2ln");
        let mut pairs = vec![CC];
        pairs.extend(client_assertion_pairs(&forged));
        let r = s.token(&pairs, &[]).await;
        assert_eq!(
            (r.status, r.error().as_str()),
            (400, "invalid_client"),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn private_key_jwt_client_without_keys_is_invalid_client() {
    // seed-catalog-3a Must-test 24
    let key = es256();
    let mut no_keys = pkjwt_client("pk", &key);
    no_keys.jwks = None;
    let mut by_uri = pkjwt_client("uri", &key);
    by_uri.jwks_uri = Some("https://client.example/jwks".into());
    let s = start(TestHost::with_clients([no_keys, by_uri])).await;
    for id in ["pk", "uri"] {
        let a = s.assertion(&key, id, ISSUER, 60);
        let mut pairs = vec![CC];
        pairs.extend(client_assertion_pairs(&a));
        let r = s.token(&pairs, &[]).await;
        assert_eq!(
            (r.status, r.error().as_str()),
            (400, "invalid_client"),
            "{id}"
        );
    }
}

#[tokio::test]
async fn client_registry_outage_is_503_not_invalid_client() {
    let host = TestHost::with_clients(standard_clients());
    let s = start(host).await;
    s.server.host().down.store(true, Ordering::SeqCst);
    let r = s.token_basic("conf", &[CC]).await;
    assert_eq!(
        (r.status, r.error().as_str()),
        (503, "temporarily_unavailable")
    );
    r.assert_no_store();
}

#[tokio::test]
async fn grant_not_registered_by_the_client_is_refused_before_dispatch() {
    // seed-catalog-3a Must-test 18
    let s = start(TestHost::with_clients([TestClient::confidential(
        "cc-only",
    )
    .grants(&["client_credentials"])]))
    .await;
    let (code, verifier) = s
        .issue_code(CodeSpec::new("cc-only", &["documents.read"]))
        .await;
    let r = s.redeem("cc-only", false, &code, &verifier, &[]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "unauthorized_client"));
    // no code lookup side effect: the code is still live
    use attesto::store::{AuthorizationCodeStore, TokenHash};
    assert!(
        s.stores
            .authorization_codes
            .get(TokenHash::of(&code), s.now())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn client_without_a_grant_registry_gets_the_server_grants() {
    // seed-catalog-3a Must-test 19
    let mut legacy = TestClient::confidential("legacy");
    legacy.grant_types = None;
    let s = start(TestHost::with_clients([legacy])).await;
    assert_eq!(s.token_basic("legacy", &[CC]).await.status, 200);
}

#[tokio::test]
async fn every_denial_emits_one_token_denied_event_with_the_presented_client_id() {
    // seed-catalog-2 §35.E Must-test 72; seed-catalog-3b Must-test 40
    let s = start(TestHost::with_clients(standard_clients())).await;
    let r = s
        .token(&[CC], &[("authorization", &basic("conf", "wrong"))])
        .await;
    assert_eq!(r.status, 401);
    let denied = s.events_named(EventName::TokenDenied);
    assert_eq!(denied.len(), 1, "{:?}", s.events());
    assert_eq!(denied[0].client_id.as_deref(), Some("conf"));
    assert_eq!(denied[0].result, Some("invalid_client"));
    assert_eq!(denied[0].subject, None);
    assert_eq!(denied[0].grant_type.as_deref(), Some("client_credentials"));
    assert_eq!(s.events().len(), 1);
}
