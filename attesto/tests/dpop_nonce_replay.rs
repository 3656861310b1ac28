//! Server nonces (RFC 9449 §8, §9) and jti replay (RFC 9449 §11.1).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dpop_support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use attesto::clock::UnixTime;
use attesto::dpop::{
    DpopContext, DpopError, DpopNonceSource, DpopVerifier, JtiReplayGuard, NoNonces, NonceIssuer,
    NoncePolicy, ReplayKey, ReplayScope, SingleNodeReplayGuard,
};
use attesto::jose::Algorithm;
use dpop_support::*;
use serde_json::json;

fn verifier(policy: NoncePolicy) -> DpopVerifier {
    DpopVerifier::builder()
        .nonce_policy(policy)
        .build()
        .unwrap()
}

fn issuer() -> NonceIssuer {
    NonceIssuer::new(&[3u8; 32], 60, 120).unwrap()
}

fn ctx(now: UnixTime) -> DpopContext<'static> {
    DpopContext::new("POST", HTU, now)
}

fn with_nonce(nonce: &str, iat: UnixTime) -> serde_json::Value {
    let mut c = dpop_claims(iat);
    c["nonce"] = json!(nonce);
    c
}

// seed-catalog-2 Must-test 62: a nonce-requiring config and a proof without a
// nonce → use_dpop_nonce, with a DPoP-Nonce value the nonce source accepts; a
// retry with that nonce succeeds.
#[test]
fn nonce_required_without_nonce_answers_use_dpop_nonce_and_the_retry_succeeds() {
    let k = key(Algorithm::ES256);
    let v = verifier(NoncePolicy::Required);
    let nonces = issuer();
    let guard = SingleNodeReplayGuard::new();
    let e =
        block_on(v.verify(&proof(&k, &dpop_claims(NOW)), &ctx(NOW), &nonces, &guard)).unwrap_err();
    assert_eq!(e.error_code(), "use_dpop_nonce");
    let fresh = e.fresh_nonce().expect("a fresh nonce").to_owned();
    assert!(nonces.check(&fresh, NOW));
    // the rejected proof's jti was not recorded, and the retry works
    let retry = proof(&k, &with_nonce(&fresh, NOW + 1));
    let ok = block_on(v.verify(&retry, &ctx(NOW + 1), &nonces, &guard)).unwrap();
    assert_eq!(ok.nonce.as_deref(), Some(fresh.as_str()));
}

#[test]
fn stale_nonce_is_rejected_with_a_fresh_one() {
    let k = key(Algorithm::ES256);
    let v = verifier(NoncePolicy::Required);
    let nonces = issuer();
    let guard = SingleNodeReplayGuard::new();
    let old = nonces.issue(NOW - 200).unwrap();
    let e = block_on(v.verify(
        &proof(&k, &with_nonce(&old, NOW)),
        &ctx(NOW),
        &nonces,
        &guard,
    ))
    .unwrap_err();
    assert!(matches!(e, DpopError::UseDpopNonce { .. }));
    let fresh = e.fresh_nonce().unwrap();
    assert_ne!(fresh, old);
    assert!(nonces.check(fresh, NOW));
}

#[test]
fn nonce_from_another_server_is_rejected() {
    let k = key(Algorithm::ES256);
    let v = verifier(NoncePolicy::Required);
    let foreign = NonceIssuer::new(&[4u8; 32], 60, 120)
        .unwrap()
        .issue(NOW)
        .unwrap();
    let guard = SingleNodeReplayGuard::new();
    for bad in [
        foreign.as_str(),
        "made-up",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let e = block_on(v.verify(
            &proof(&k, &with_nonce(bad, NOW)),
            &ctx(NOW),
            &issuer(),
            &guard,
        ))
        .unwrap_err();
        assert_eq!(e.error_code(), "use_dpop_nonce", "{bad}");
    }
}

#[test]
fn optional_nonce_policy_accepts_absent_but_checks_present_nonces() {
    let k = key(Algorithm::ES256);
    let v = verifier(NoncePolicy::Optional);
    let nonces = issuer();
    let guard = SingleNodeReplayGuard::new();
    block_on(v.verify(&proof(&k, &dpop_claims(NOW)), &ctx(NOW), &nonces, &guard)).unwrap();
    let e = block_on(v.verify(
        &proof(&k, &with_nonce("bogus", NOW)),
        &ctx(NOW),
        &nonces,
        &guard,
    ))
    .unwrap_err();
    assert_eq!(e.error_code(), "use_dpop_nonce");
    let good = nonces.issue(NOW).unwrap();
    block_on(v.verify(
        &proof(&k, &with_nonce(&good, NOW)),
        &ctx(NOW),
        &nonces,
        &guard,
    ))
    .unwrap();
}

#[test]
fn disabled_nonce_policy_ignores_the_nonce_claim() {
    let k = key(Algorithm::ES256);
    let v = verifier(NoncePolicy::Disabled);
    let guard = SingleNodeReplayGuard::new();
    let r = block_on(v.verify(
        &proof(&k, &with_nonce("anything", NOW)),
        &ctx(NOW),
        &NoNonces,
        &guard,
    ))
    .unwrap();
    assert_eq!(r.nonce.as_deref(), Some("anything"));
}

#[test]
fn malformed_nonce_claim_is_rejected() {
    let k = key(Algorithm::ES256);
    let guard = SingleNodeReplayGuard::new();
    for bad in [json!(1), json!(""), json!("n".repeat(513))] {
        let mut c = dpop_claims(NOW);
        c["nonce"] = bad;
        let e = block_on(verifier(NoncePolicy::Optional).verify(
            &proof(&k, &c),
            &ctx(NOW),
            &issuer(),
            &guard,
        ))
        .unwrap_err();
        assert!(matches!(e, DpopError::InvalidClaim("nonce")), "{e:?}");
    }
}

/// A store-backed, single-use nonce source (the shape of a shared nonce table).
#[derive(Default)]
struct SingleUseNonces {
    live: Mutex<HashSet<String>>,
    counter: Mutex<u32>,
}

#[derive(Debug, thiserror::Error)]
#[error("nonce store down")]
struct NonceStoreDown;

impl DpopNonceSource for SingleUseNonces {
    type Error = NonceStoreDown;
    async fn issue_nonce(&self, now: UnixTime) -> Result<String, NonceStoreDown> {
        let mut c = self.counter.lock().unwrap();
        *c += 1;
        let n = format!("n{now}-{c}");
        self.live.lock().unwrap().insert(n.clone());
        Ok(n)
    }
    async fn check_nonce(&self, nonce: &str, _now: UnixTime) -> Result<bool, NonceStoreDown> {
        Ok(self.live.lock().unwrap().remove(nonce))
    }
}

struct BrokenNonces;

impl DpopNonceSource for BrokenNonces {
    type Error = NonceStoreDown;
    async fn issue_nonce(&self, _now: UnixTime) -> Result<String, NonceStoreDown> {
        Err(NonceStoreDown)
    }
    async fn check_nonce(&self, _nonce: &str, _now: UnixTime) -> Result<bool, NonceStoreDown> {
        Err(NonceStoreDown)
    }
}

#[test]
fn store_backed_single_use_nonces_are_honoured() {
    let k = key(Algorithm::EdDSA);
    let v = verifier(NoncePolicy::Required);
    let nonces = SingleUseNonces::default();
    let guard = SingleNodeReplayGuard::new();
    let n = block_on(nonces.issue_nonce(NOW)).unwrap();
    block_on(v.verify(&proof(&k, &with_nonce(&n, NOW)), &ctx(NOW), &nonces, &guard)).unwrap();
    // a second proof (new jti) with the consumed nonce gets a new nonce
    let e = block_on(v.verify(&proof(&k, &with_nonce(&n, NOW)), &ctx(NOW), &nonces, &guard))
        .unwrap_err();
    assert_eq!(e.error_code(), "use_dpop_nonce");
    assert_ne!(e.fresh_nonce(), Some(n.as_str()));
}

#[test]
fn nonce_source_failure_fails_closed() {
    let k = key(Algorithm::ES256);
    let guard = SingleNodeReplayGuard::new();
    for c in [dpop_claims(NOW), with_nonce("n", NOW)] {
        let e = block_on(verifier(NoncePolicy::Required).verify(
            &proof(&k, &c),
            &ctx(NOW),
            &BrokenNonces,
            &guard,
        ))
        .unwrap_err();
        assert!(matches!(e, DpopError::NonceSource(_)));
        assert_eq!(e.error_code(), "server_error");
    }
    // NoNonces cannot satisfy a nonce-requiring verifier either
    let e = block_on(verifier(NoncePolicy::Required).verify(
        &proof(&k, &dpop_claims(NOW)),
        &ctx(NOW),
        &NoNonces,
        &guard,
    ))
    .unwrap_err();
    assert!(e.is_server_error());
}

// seed-catalog-3b Must-test 27: the second check_and_record of a key is a
// replay; a 50-way race on one key has exactly one winner.
#[test]
fn fifty_way_replay_race_has_exactly_one_winner() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let k = key(Algorithm::ES256);
    let p = Arc::new(proof(&k, &dpop_claims(NOW)));
    for _ in 0..5 {
        let guard = Arc::new(SingleNodeReplayGuard::new());
        let v = Arc::new(DpopVerifier::default());
        let wins = rt.block_on(async {
            let barrier = Arc::new(tokio::sync::Barrier::new(50));
            let mut tasks = Vec::new();
            for _ in 0..50 {
                let (guard, v, p, barrier) = (guard.clone(), v.clone(), p.clone(), barrier.clone());
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    v.verify(&p, &ctx(NOW), &NoNonces, &guard).await
                }));
            }
            let mut wins = 0;
            for t in tasks {
                match t.await.unwrap() {
                    Ok(_) => wins += 1,
                    Err(e) => assert!(matches!(e, DpopError::Replayed), "{e:?}"),
                }
            }
            wins
        });
        assert_eq!(wins, 1);
    }
}

// seed-catalog-3b Must-test 29: a record past its expires_at that has not
// been swept still counts as a replay (never overwritten).
#[test]
fn expired_unswept_record_still_counts_as_a_replay() {
    let guard = SingleNodeReplayGuard::new();
    let key = ReplayKey::of_parts(ReplayScope::DpopProof, &["jkt", "j4"]);
    assert!(block_on(guard.check_and_record(key, NOW + 60, NOW)).unwrap());
    assert!(!block_on(guard.check_and_record(key, NOW + 500, NOW + 400)).unwrap());
}

// seed-catalog-1 Must-test 59: the same jti string used by a DPoP proof and by
// a client assertion does not collide (namespacing).
#[test]
fn dpop_and_assertion_jtis_do_not_collide() {
    let guard = SingleNodeReplayGuard::new();
    let dpop = ReplayKey::of_parts(ReplayScope::DpopProof, &["same", "j1"]);
    let assertion = ReplayKey::of_parts(ReplayScope::ClientAssertion, &["same", "j1"]);
    assert!(block_on(guard.check_and_record(dpop, NOW + 60, NOW)).unwrap());
    assert!(block_on(guard.check_and_record(assertion, NOW + 60, NOW)).unwrap());
    assert!(!block_on(guard.check_and_record(assertion, NOW + 60, NOW)).unwrap());
}

// seed-catalog-3b Must-test 13 analogue for the stateless issuer: the
// acceptance boundary is exact.
#[test]
fn stateless_nonce_acceptance_boundary_is_exact() {
    let i = NonceIssuer::new(&[5u8; 32], 60, 60).unwrap();
    let n = i.issue(6000).unwrap(); // bucket [6000, 6060)
    assert!(i.check(&n, 6059));
    assert!(!i.check(&n, 6060));
    let n2 = i.issue(6059).unwrap();
    assert_eq!(n, n2);
}

#[test]
fn nonce_issuer_works_from_a_random_secret_and_through_the_trait() {
    let i = NonceIssuer::generate(&attesto::secret::OsRandom, 30, 90).unwrap();
    let n = block_on(i.issue_nonce(NOW)).unwrap();
    assert!(block_on(i.check_nonce(&n, NOW + 30)).unwrap());
    assert!(!block_on(i.check_nonce(&n, NOW + 200)).unwrap());
    // nonces are NQCHAR (base64url)
    assert!(
        n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
}
