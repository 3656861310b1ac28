//! Interop: DPoP proofs produced by an independent implementation (Python
//! joserfc) verify in attesto, and the thumbprints agree (RFC 9449, RFC 7638).
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

use attesto::dpop::{
    DpopContext, DpopError, DpopVerifier, NonceIssuer, NoncePolicy, SingleNodeReplayGuard,
};
use attesto::jose::Algorithm;
use dpop_support::*;
use serde_json::{Value, json};

const ACCESS_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.access-token.sig";

/// Every supported algorithm, one peer run: key, proofs and assertion per algorithm.
fn peer_batch(nonce: &str) -> Option<Vec<Value>> {
    let algs: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
    let req = json!({
        "algs": algs,
        "htm": "POST",
        "htu": HTU,
        "iat": NOW,
        "access_token": ACCESS_TOKEN,
        "nonce": nonce,
        "client_id": "interop-client",
        "issuer": "https://as.example.com",
    });
    let out = support::interop::run_peer("dpop_peer.py", &["batch"], &req.to_string())?;
    let items: Vec<Value> = serde_json::from_str(&out).expect("peer output is JSON");
    assert_eq!(items.len(), Algorithm::ALL.len());
    Some(items)
}

#[test]
fn joserfc_dpop_proofs_verify_and_thumbprints_agree_for_every_algorithm() {
    let nonces = NonceIssuer::new(&[21u8; 32], 60, 120).unwrap();
    let nonce = nonces.issue(NOW).unwrap();
    let Some(items) = peer_batch(&nonce) else {
        return;
    };
    let verifier = DpopVerifier::builder()
        .nonce_policy(NoncePolicy::Required)
        .build()
        .unwrap();
    let guard = SingleNodeReplayGuard::new();
    let ctx = DpopContext::new("POST", HTU, NOW).with_access_token(ACCESS_TOKEN);
    for item in &items {
        let alg = item["alg"].as_str().unwrap();
        let proof = item["proof"].as_str().unwrap();
        let peer_jkt = item["thumbprint"].as_str().unwrap();
        let v = block_on(verifier.verify(proof, &ctx, &nonces, &guard))
            .unwrap_or_else(|e| panic!("{alg}: {e:?}"));
        assert_eq!(v.alg.as_str(), alg);
        assert_eq!(v.jkt, peer_jkt, "{alg}: RFC 7638 thumbprints differ");
        assert!(v.ath_verified);
        assert_eq!(v.nonce.as_deref(), Some(nonce.as_str()));
        // bound to the peer's thumbprint
        let bound = ctx.with_expected_jkt(peer_jkt);
        verifier.verify_proof(proof, &bound).unwrap();
    }
}

#[test]
fn joserfc_proof_with_wrong_htu_is_rejected() {
    let nonces = NonceIssuer::new(&[22u8; 32], 60, 120).unwrap();
    let Some(items) = peer_batch(&nonces.issue(NOW).unwrap()) else {
        return;
    };
    let verifier = DpopVerifier::default();
    let ctx = DpopContext::new("POST", HTU, NOW).with_access_token(ACCESS_TOKEN);
    for item in &items {
        let alg = item["alg"].as_str().unwrap();
        let e = verifier
            .verify_proof(item["proof_wrong_htu"].as_str().unwrap(), &ctx)
            .unwrap_err();
        assert!(matches!(e, DpopError::UriMismatch), "{alg}: {e:?}");
        // and the right proof against the wrong method, or without the token
        let proof = item["proof"].as_str().unwrap();
        assert!(matches!(
            verifier.verify_proof(
                proof,
                &DpopContext::new("GET", HTU, NOW).with_access_token(ACCESS_TOKEN)
            ),
            Err(DpopError::MethodMismatch)
        ));
        assert!(matches!(
            verifier.verify_proof(
                proof,
                &DpopContext::new("POST", HTU, NOW).with_access_token("other")
            ),
            Err(DpopError::AthMismatch)
        ));
    }
}
