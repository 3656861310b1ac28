//! Interop: private_key_jwt assertions and JWKS produced by an independent
//! implementation (Python joserfc) verify in attesto (RFC 7523 §3).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dpop_support;
#[allow(unreachable_pub)]
mod support {
    pub mod interop;
}

use attesto::client_auth::{
    AssertionVerifier, CLIENT_ASSERTION_TYPE_JWT_BEARER, ClientAuthMethod, ClientAuthPolicy,
    ClientAuthenticator, RegisteredClient, SecretHasher, parse_credentials,
};
use attesto::dpop::SingleNodeReplayGuard;
use attesto::jose::{Algorithm, AlgorithmSet, JwkSet};
use dpop_support::*;
use serde_json::{Value, json};

fn peer_batch() -> Option<Vec<Value>> {
    let algs: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
    let req = json!({
        "algs": algs,
        "htm": "POST",
        "htu": HTU,
        "iat": NOW,
        "access_token": "unused",
        "nonce": "unused",
        "client_id": "interop-client",
        "issuer": "https://as.example.com",
    });
    let out = support::interop::run_peer("dpop_peer.py", &["batch"], &req.to_string())?;
    let items: Vec<Value> = serde_json::from_str(&out).expect("peer output is JSON");
    assert_eq!(items.len(), Algorithm::ALL.len());
    Some(items)
}

#[test]
fn joserfc_client_assertions_verify_against_joserfc_jwks_for_every_algorithm() {
    let Some(items) = peer_batch() else { return };
    let auth = ClientAuthenticator::new(SecretHasher::new(&[5u8; 32]).unwrap()).with_assertions(
        AssertionVerifier::builder("https://as.example.com")
            .algorithms(AlgorithmSet::ALL)
            .build()
            .unwrap(),
    );
    let guard = SingleNodeReplayGuard::new();
    let methods = [ClientAuthMethod::PrivateKeyJwt];
    for item in &items {
        let alg = item["alg"].as_str().unwrap();
        let jwks = JwkSet::from_value(&item["jwks"]).unwrap_or_else(|e| panic!("{alg}: {e:?}"));
        assert_eq!(jwks.keys.len(), 1, "{alg}");
        let assertion = item["assertion"].as_str().unwrap();
        let presented = parse_credentials(
            &[],
            &[
                ("client_assertion", assertion),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE_JWT_BEARER),
            ],
        )
        .unwrap();
        assert_eq!(presented.client_id(), "interop-client");
        let client = RegisteredClient::new("interop-client", &methods).with_jwks(&jwks);
        let ok = block_on(auth.authenticate(
            &presented,
            Some(&client),
            &ClientAuthPolicy::token_endpoint(),
            &guard,
            NOW,
        ))
        .unwrap_or_else(|e| panic!("{alg}: {:?}", e.reason()));
        let verified = ok.assertion.unwrap();
        assert_eq!(verified.alg.as_str(), alg);
        assert_eq!(verified.kid.as_deref(), jwks.keys[0].kid());
        // replay of the same assertion is refused
        let again = block_on(auth.authenticate(
            &presented,
            Some(&client),
            &ClientAuthPolicy::token_endpoint(),
            &guard,
            NOW + 1,
        ));
        assert_eq!(again.unwrap_err().error_code(), "invalid_client", "{alg}");
    }
}

#[test]
fn joserfc_assertion_is_refused_for_another_audience_or_client() {
    let Some(items) = peer_batch() else { return };
    let other_issuer = AssertionVerifier::builder("https://as.example.com/oauth/token")
        .algorithms(AlgorithmSet::ALL)
        .build()
        .unwrap();
    let right = AssertionVerifier::builder("https://as.example.com")
        .algorithms(AlgorithmSet::ALL)
        .build()
        .unwrap();
    for item in &items {
        let alg = item["alg"].as_str().unwrap();
        let jwks = JwkSet::from_value(&item["jwks"]).unwrap();
        let assertion = item["assertion"].as_str().unwrap();
        assert!(
            other_issuer
                .verify(assertion, "interop-client", &jwks, NOW)
                .is_err(),
            "{alg}"
        );
        assert!(
            right.verify(assertion, "someone-else", &jwks, NOW).is_err(),
            "{alg}"
        );
        // the DPoP key of another batch item cannot verify it
        let foreign = items.iter().find(|i| i["alg"] != item["alg"]).unwrap();
        let foreign_jwks = JwkSet::from_value(&foreign["jwks"]).unwrap();
        assert!(
            right
                .verify(assertion, "interop-client", &foreign_jwks, NOW)
                .is_err(),
            "{alg}"
        );
    }
}
