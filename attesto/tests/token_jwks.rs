//! The published JWK Set: public members only, kid/alg/use on every key,
//! and rotation windows in which old tokens keep verifying.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use attesto::clock::FixedClock;
use attesto::jose::{
    Algorithm, AlgorithmSet, JwkSet, JwksDocument, Keystore, SigningKey, StaticKeystore,
};
use attesto::token::{
    AccessTokenIssuer, AccessTokenRequest, AccessTokenVerifier, PrincipalKind, TrustedKeys,
};
use serde_json::Value;

const ISS: &str = "https://as.example";
const AUD: &str = "https://rs.example";
const NOW: i64 = 1_700_000_000;
const CLIENT: PrincipalKind = PrincipalKind::new("client", "oc_", &[]);

fn all_algorithms_keystore() -> StaticKeystore {
    Algorithm::ALL
        .into_iter()
        .fold(StaticKeystore::builder(), |b, alg| {
            b.key(SigningKey::generate(alg).unwrap())
        })
        .build()
        .unwrap()
}

fn jwks_keys(ks: &dyn Keystore) -> Vec<serde_json::Map<String, Value>> {
    let doc: Value = serde_json::from_str(ks.jwks().json()).unwrap();
    doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_object().unwrap().clone())
        .collect()
}

fn issuer(ks: Arc<StaticKeystore>, clock: Arc<FixedClock>) -> AccessTokenIssuer {
    AccessTokenIssuer::builder(ISS, ks)
        .audience(AUD)
        .principal_kind(CLIENT)
        .clock(clock)
        .build()
        .unwrap()
}

fn rs_verifier(jwks_json: &str, clock: Arc<FixedClock>) -> AccessTokenVerifier {
    let set = JwkSet::from_json(jwks_json).unwrap();
    AccessTokenVerifier::builder(
        ISS,
        TrustedKeys::from_jwk_set(&set, AlgorithmSet::ALL).unwrap(),
    )
    .audience(AUD)
    .clock(clock)
    .build()
    .unwrap()
}

fn request() -> AccessTokenRequest {
    AccessTokenRequest::new(&CLIENT.subject("abc").unwrap(), "abc")
}

#[test]
fn jwks_entries_contain_no_private_members() {
    // seed-catalog-3a Must-test 14
    let ks = all_algorithms_keystore();
    let keys = jwks_keys(&ks);
    assert_eq!(keys.len(), Algorithm::ALL.len());
    for key in &keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(!key.contains_key(private), "{private} in {key:?}");
        }
    }
    assert!(!ks.jwks().json().contains("\"d\""));
}

#[test]
fn every_jwks_key_has_kid_alg_and_use_sig() {
    let ks = all_algorithms_keystore();
    for key in jwks_keys(&ks) {
        assert!(
            key["kid"].as_str().is_some_and(|k| !k.is_empty()),
            "{key:?}"
        );
        assert!(key["alg"].as_str().unwrap().parse::<Algorithm>().is_ok());
        assert_eq!(key["use"], "sig");
    }
}

#[test]
fn jwks_keeps_each_keys_algorithm() {
    // seed-catalog-1 Must-test 123: a PS256 key is not advertised as RS256.
    let ps = SigningKey::generate(Algorithm::PS256).unwrap();
    let rs = SigningKey::generate(Algorithm::RS512).unwrap();
    let (ps_kid, rs_kid) = (ps.kid().to_owned(), rs.kid().to_owned());
    let ks = StaticKeystore::builder().key(ps).key(rs).build().unwrap();
    let keys = jwks_keys(&ks);
    let alg_of = |kid: &str| {
        keys.iter()
            .find(|k| k["kid"] == kid)
            .map(|k| k["alg"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(alg_of(&ps_kid), "PS256");
    assert_eq!(alg_of(&rs_kid), "RS512");
}

#[test]
fn jwks_lists_the_current_and_the_previous_key() {
    // seed-catalog-3a Must-test 13
    let current = SigningKey::generate(Algorithm::ES256).unwrap();
    let previous = SigningKey::generate(Algorithm::ES256).unwrap();
    let kids = [current.kid().to_owned(), previous.kid().to_owned()];
    let ks = StaticKeystore::builder()
        .key(current)
        .retired(previous)
        .build()
        .unwrap();
    let published: Vec<String> = jwks_keys(&ks)
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(published, kids);
    assert_eq!(ks.default_signing_key().unwrap().kid(), kids[0]);
}

#[test]
fn tokens_of_the_previous_key_verify_against_the_rotated_jwks() {
    // seed-catalog-3a Must-test 13: during the rotation window tokens minted
    // under the outgoing key still verify at a resource server.
    let clock = Arc::new(FixedClock::new(NOW));
    let old = SigningKey::generate(Algorithm::ES256).unwrap();
    let old_jwk = old.to_private_jwk_json();
    let before = Arc::new(StaticKeystore::builder().key(old).build().unwrap());
    let old_token = issuer(before, clock.clone()).mint(request()).unwrap();

    let rotated = Arc::new(
        StaticKeystore::builder()
            .key(SigningKey::generate(Algorithm::ES256).unwrap())
            .retired(SigningKey::from_jwk_json(old_jwk.expose()).unwrap())
            .build()
            .unwrap(),
    );
    let new_token = issuer(rotated.clone(), clock.clone())
        .mint(request())
        .unwrap();
    let rs = rs_verifier(rotated.jwks().json(), clock.clone());
    rs.verify(old_token.access_token.expose()).unwrap();
    rs.verify(new_token.access_token.expose()).unwrap();

    // Once the old key is dropped from the JWKS, its tokens stop verifying.
    let after = StaticKeystore::builder()
        .key(
            SigningKey::from_jwk_json(
                rotated
                    .default_signing_key()
                    .unwrap()
                    .to_private_jwk_json()
                    .expose(),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let rs = rs_verifier(after.jwks().json(), clock);
    assert_eq!(
        rs.verify(old_token.access_token.expose()).unwrap_err(),
        attesto::token::AccessTokenError::UnknownKey
    );
}

#[test]
fn jwks_body_is_byte_identical_for_every_caller() {
    // seed-catalog-3a Must-test 11 (the body part): serialized once.
    let ks = all_algorithms_keystore();
    let a = ks.jwks();
    let b = ks.jwks();
    assert_eq!(a.json(), b.json());
    assert!(std::ptr::eq(a.json(), b.json()));
    assert_eq!(JwksDocument::new(a.set().clone()).json(), a.json());
}

#[test]
fn token_kid_names_a_key_of_the_published_jwks() {
    let clock = Arc::new(FixedClock::new(NOW));
    let ks = Arc::new(all_algorithms_keystore());
    let issued = issuer(ks.clone(), clock).mint(request()).unwrap();
    let header = issued.access_token.expose().split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    let keys = jwks_keys(ks.as_ref());
    let key = keys.iter().find(|k| k["kid"] == header["kid"]).unwrap();
    assert_eq!(key["alg"], header["alg"]);
}

#[test]
fn published_jwks_parses_back_as_public_keys_with_matching_thumbprints() {
    let ks = all_algorithms_keystore();
    let set = JwkSet::from_json(ks.jwks().json()).unwrap();
    assert_eq!(set.keys.len(), Algorithm::ALL.len());
    for jwk in &set.keys {
        let alg = jwk.alg().unwrap();
        let signer = ks.signing_key(alg).unwrap();
        assert_eq!(jwk.thumbprint(), signer.verifying_key().thumbprint());
        assert_eq!(jwk.kid(), Some(signer.kid()));
    }
}

#[test]
fn public_only_key_is_published_and_verifies_but_never_signs() {
    let clock = Arc::new(FixedClock::new(NOW));
    let elsewhere = SigningKey::generate(Algorithm::ES256).unwrap();
    let ks = Arc::new(
        StaticKeystore::builder()
            .key(SigningKey::generate(Algorithm::ES256).unwrap())
            .public(elsewhere.public_jwk().clone())
            .build()
            .unwrap(),
    );
    assert_eq!(jwks_keys(ks.as_ref()).len(), 2);
    assert_ne!(ks.default_signing_key().unwrap().kid(), elsewhere.kid());
    let other_issuer = issuer(
        Arc::new(StaticKeystore::builder().key(elsewhere).build().unwrap()),
        clock.clone(),
    );
    let token = other_issuer.mint(request()).unwrap();
    rs_verifier(ks.jwks().json(), clock)
        .verify(token.access_token.expose())
        .unwrap();
}

#[test]
fn a_jwks_with_private_key_material_is_refused() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let private: Value = serde_json::from_str(key.to_private_jwk_json().expose()).unwrap();
    let doc = serde_json::json!({ "keys": [private] }).to_string();
    assert!(JwkSet::from_json(&doc).is_err());
}
