//! The ID-token signing algorithm: RS256 by default (OIDC Discovery §3),
//! separate from the access-token algorithm, per-client
//! `id_token_signed_response_alg`, and `at_hash` with the ID token's hash.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_token_support;

use std::sync::Arc;

use attesto::jose::{Algorithm, AlgorithmSet, SigningKey, StaticKeystore};
use attesto::secret::Secret;
use attesto::server::{AuthorizationServer, BuildError, GrantType};
use attesto::store::memory::MemoryStores;
use attesto::token::{IdTokenExpectations, IdTokenVerifier, TrustedKeys, token_hash};
use server_token_support::*;

/// ES256 (access tokens), RS256 (ID-token default) and ES384 (a client's choice).
fn three_key_store() -> StaticKeystore {
    StaticKeystore::builder()
        .key(SigningKey::generate(Algorithm::ES256).unwrap())
        .key(keys::rs256_key())
        .key(SigningKey::generate(Algorithm::ES384).unwrap())
        .build()
        .unwrap()
}

/// Redeem an `openid` code for `client` and return (access token, ID token).
async fn tokens(s: &TestServer, client: &str) -> Result<(String, String), Reply> {
    let mut spec = CodeSpec::new(client, &["openid"]);
    spec.nonce = Some("n-1".into());
    let (code, verifier) = s.issue_code(spec).await;
    let r = s.redeem(client, false, &code, &verifier, &[]).await;
    if r.status != 200 {
        return Err(r);
    }
    let body = r.json();
    Ok((
        body["access_token"].as_str().unwrap().to_owned(),
        body["id_token"].as_str().expect("an ID token").to_owned(),
    ))
}

fn verify_id_token(s: &TestServer, client: &str, id_token: &str, at: &str) {
    let verifier = IdTokenVerifier::builder(
        ISSUER,
        client,
        TrustedKeys::from_jwk_set(s.keys.jwks().set(), AlgorithmSet::ALL).unwrap(),
    )
    .clock(s.clock.clone())
    .build()
    .unwrap();
    verifier
        .verify(
            id_token,
            &IdTokenExpectations::default().nonce("n-1").access_token(at),
        )
        .unwrap();
}

#[tokio::test]
async fn id_tokens_are_signed_rs256_by_default_while_access_tokens_stay_es256() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let (at, id_token) = tokens(&s, "conf").await.unwrap();
    assert_eq!(jwt_header(&id_token)["alg"], "RS256");
    assert_eq!(jwt_header(&at)["alg"], "ES256");
    let rsa_kid = s
        .keys
        .signing_key(Algorithm::RS256)
        .unwrap()
        .kid()
        .to_owned();
    assert_eq!(jwt_header(&id_token)["kid"], rsa_kid.as_str());
    assert_eq!(
        jwt_claims(&id_token)["at_hash"],
        token_hash(Algorithm::RS256, &at).as_str()
    );
    verify_id_token(&s, "conf", &id_token, &at);
}

#[tokio::test]
async fn discovery_advertises_rs256_for_id_tokens_and_the_jwks_publishes_its_key() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let http = reqwest::Client::new();
    let md: serde_json::Value = http
        .get(s.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        md["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    let jwks: serde_json::Value = http
        .get(s.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["alg"].as_str())
        .collect();
    assert!(
        algs.contains(&"RS256") && algs.contains(&"ES256"),
        "{algs:?}"
    );
}

#[tokio::test]
async fn further_id_token_algs_are_advertised_after_the_default() {
    let s = start_with_keys(
        TestHost::with_clients(standard_clients()),
        |b| b.id_token_extra_algs([Algorithm::ES384, Algorithm::RS256]),
        three_key_store(),
    )
    .await;
    let md: serde_json::Value = reqwest::get(s.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        md["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES384"])
    );
}

#[tokio::test]
async fn a_client_registered_for_another_offered_alg_gets_it_with_that_algs_at_hash() {
    let mut client = TestClient::confidential("es384");
    client.id_token_alg = Some(Algorithm::ES384);
    let s = start_with_keys(
        TestHost::with_clients([client]),
        |b| b.id_token_extra_algs([Algorithm::ES384]),
        three_key_store(),
    )
    .await;
    let (at, id_token) = tokens(&s, "es384").await.unwrap();
    assert_eq!(jwt_header(&id_token)["alg"], "ES384");
    // SHA-384: the left half is 24 bytes, 32 base64url characters.
    let at_hash = jwt_claims(&id_token)["at_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(at_hash, token_hash(Algorithm::ES384, &at));
    assert_eq!(at_hash.len(), 32);
    assert_ne!(at_hash, token_hash(Algorithm::RS256, &at));
    verify_id_token(&s, "es384", &id_token, &at);
}

#[tokio::test]
async fn a_client_alg_the_server_does_not_offer_fails_closed_without_an_id_token() {
    // The keystore even holds an ES384 key, but the configuration does not
    // offer ES384 for ID tokens: no silent fallback to RS256 either.
    let mut client = TestClient::confidential("es384");
    client.id_token_alg = Some(Algorithm::ES384);
    let s = start_with_keys(TestHost::with_clients([client]), |b| b, three_key_store()).await;
    let r = tokens(&s, "es384").await.unwrap_err();
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_request"));
    assert!(r.json().get("id_token").is_none());
    assert!(r.json().get("access_token").is_none());
}

#[tokio::test]
async fn the_default_id_token_alg_is_configurable() {
    let s = start_with(TestHost::with_clients(standard_clients()), |b| {
        b.id_token_signing_alg(Algorithm::ES256)
    })
    .await;
    let (at, id_token) = tokens(&s, "conf").await.unwrap();
    assert_eq!(jwt_header(&id_token)["alg"], "ES256");
    verify_id_token(&s, "conf", &id_token, &at);
}

fn build(
    keys: StaticKeystore,
    configure: impl FnOnce(attesto::server::ServerConfigBuilder) -> attesto::server::ServerConfigBuilder,
) -> Result<AuthorizationServer<TestHost, MemoryStores>, BuildError> {
    AuthorizationServer::builder(
        configure(default_config(ISSUER)).build().unwrap(),
        TestHost::with_clients(standard_clients()),
        MemoryStores::new(),
        Arc::new(keys),
    )
    .server_secret(Secret::new(SERVER_SECRET))
    .build()
}

#[test]
fn building_without_a_key_for_the_id_token_alg_fails_clearly() {
    let es256_only = || StaticKeystore::generate(Algorithm::ES256).unwrap();
    let err = build(es256_only(), |b| b).err().expect("build must fail");
    assert!(
        matches!(
            err,
            BuildError::MissingSigningKey {
                alg: Algorithm::RS256,
                purpose: "ID tokens"
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the keystore has no RS256 signing key for ID tokens"
    );
    // Every further offered algorithm needs its key as well.
    let err = build(keys::server_keystore(), |b| {
        b.id_token_extra_algs([Algorithm::PS256])
    })
    .err()
    .expect("build must fail");
    assert!(
        matches!(
            err,
            BuildError::MissingSigningKey {
                alg: Algorithm::PS256,
                ..
            }
        ),
        "{err:?}"
    );
    // And the access-token algorithm.
    let err = build(keys::server_keystore(), |b| b.signing_alg(Algorithm::ES384))
        .err()
        .expect("build must fail");
    assert!(
        matches!(
            err,
            BuildError::MissingSigningKey {
                alg: Algorithm::ES384,
                purpose: "access tokens"
            }
        ),
        "{err:?}"
    );
    // A server without the authorization_code grant issues no ID tokens and
    // needs no ID-token key.
    assert!(build(es256_only(), |b| b.grants([GrantType::ClientCredentials])).is_ok());
    assert!(build(keys::server_keystore(), |b| b).is_ok());
}
