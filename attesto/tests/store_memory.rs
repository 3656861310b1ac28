//! The in-memory stores: the whole conformance suite, plus behaviour-named
//! tests for the seed catalogues' must-test items that concern the store layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;

use attesto::clock::UnixTime;
use attesto::store::conformance;
use attesto::store::memory::{
    MemoryAuthorizationCodeStore, MemoryConsentGrantStore, MemoryDeviceCodeStore,
    MemoryDpopNonceStore, MemoryLogoutSessionStore, MemoryParStore, MemoryRefreshTokenStore,
    MemoryReplayStore, MemoryStores,
};
use attesto::store::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CodeIssuance, CodeRedemption, Confirmation,
    ConsentGrantRecord, ConsentGrantStore, ConsentOutcome, DeviceApproval, DeviceCodeRecord,
    DeviceCodeStatus, DeviceCodeStore, DeviceDecision, DevicePoll, DeviceRedemption,
    DpopNonceRecord, DpopNonceStore, FamilyId, LogoutSession, LogoutSessionStore, NewRefreshToken,
    NonceOutcome, ParOutcome, ParStore, PushedRequest, RefreshGrant, RefreshLookup,
    RefreshTokenStore, ReplayNamespace, ReplayOutcome, ReplayStore, RotationOutcome,
    SealedSuccessor, StoreError, TokenHash,
};

const T: UnixTime = 1_700_000_000;

// ---------------------------------------------------------------------------
// The conformance suite on the in-memory stores

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stores_pass_the_whole_conformance_suite() {
    let node_a = MemoryStores::new();
    let node_b = node_a.clone();
    conformance::run_all(&node_a, &node_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_authorization_code_store_conforms() {
    conformance::authorization_codes(Arc::new(MemoryAuthorizationCodeStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_refresh_token_store_conforms() {
    conformance::refresh_tokens(Arc::new(MemoryRefreshTokenStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_par_store_conforms() {
    conformance::par(Arc::new(MemoryParStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_nonce_and_replay_stores_conform() {
    conformance::dpop_nonces(Arc::new(MemoryDpopNonceStore::new())).await;
    conformance::replay(Arc::new(MemoryReplayStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_device_consent_logout_and_cimd_stores_conform() {
    let stores = MemoryStores::new();
    conformance::device_codes(Arc::clone(&stores.device_codes)).await;
    conformance::consent_grants(Arc::clone(&stores.consent_grants)).await;
    conformance::logout_sessions(Arc::clone(&stores.logout_sessions)).await;
    conformance::client_metadata(Arc::clone(&stores.client_metadata)).await;
}

// ---------------------------------------------------------------------------
// Fixtures

fn code(raw: &str) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        code_hash: TokenHash::of(raw),
        client_id: "client-a".into(),
        redirect_uri: Some("https://rp.example/cb".into()),
        scope: vec!["openid".into(), "profile".into()],
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        nonce: Some("n-0S6_WzA2Mj".into()),
        subject: "user-1".into(),
        auth_time: Some(T - 10),
        acr: None,
        amr: vec!["pwd".into()],
        sid: Some("sid-1".into()),
        resource: vec!["https://api.example/".into()],
        confirmation: Confirmation::dpop("jkt-1"),
        claims: Some(serde_json::json!({"userinfo": {"email": null}})),
        issued_at: T,
        expires_at: T + 60,
    }
}

fn grant() -> RefreshGrant {
    RefreshGrant {
        client_id: "client-a".into(),
        subject: "user-1".into(),
        scope: vec!["openid".into(), "offline_access".into()],
        resource: vec![],
        confirmation: Confirmation::none(),
        auth_time: Some(T - 10),
        acr: Some("loa2".into()),
        amr: vec![],
        sid: None,
        claims: None,
    }
}

fn refresh(raw: &str, issued_at: UnixTime) -> NewRefreshToken {
    NewRefreshToken {
        token_hash: TokenHash::of(raw),
        issued_at,
        expires_at: issued_at + 3600,
        grant: grant(),
    }
}

async fn new_family(store: &MemoryRefreshTokenStore, id: &str, raw: &str) -> FamilyId {
    let family = FamilyId::new(id);
    store
        .issue_family(family.clone(), T + 86_400, refresh(raw, T))
        .await
        .unwrap();
    family
}

async fn rotate(
    store: &MemoryRefreshTokenStore,
    presented: &str,
    next: &str,
    now: UnixTime,
    grace: u32,
) -> RotationOutcome {
    let sealed = SealedSuccessor::new(format!("sealed:{next}").into_bytes());
    store
        .rotate(
            TokenHash::of(presented),
            refresh(next, now),
            Some(sealed),
            now,
            grace,
        )
        .await
        .unwrap()
}

fn one() -> NonZeroU32 {
    NonZeroU32::new(100).unwrap()
}

// ---------------------------------------------------------------------------
// Authorization codes (seed-catalog-3b §1, §7)

// seed-catalog-3b Must-test 1
#[tokio::test]
async fn duplicate_code_insert_is_rejected_without_overwriting() {
    let store = MemoryAuthorizationCodeStore::new();
    store.insert(code("abc123")).await.unwrap();
    let mut other = code("abc123");
    other.client_id = "client-b".into();
    assert!(matches!(
        store.insert(other).await,
        Err(StoreError::Duplicate)
    ));
    let kept = store
        .get(TokenHash::of("abc123"), T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.client_id, "client-a");
}

// seed-catalog-3b Must-test 2
#[tokio::test]
async fn non_s256_challenge_and_missing_fields_are_rejected() {
    let store = MemoryAuthorizationCodeStore::new();
    let mut plain = code("c1");
    plain.code_challenge = Some("plain-verifier-used-as-challenge".into());
    assert!(matches!(
        store.insert(plain).await,
        Err(StoreError::Invalid(_))
    ));
    let mut no_client = code("c2");
    no_client.client_id.clear();
    assert!(matches!(
        store.insert(no_client).await,
        Err(StoreError::Invalid(_))
    ));
    let mut no_subject = code("c3");
    no_subject.subject.clear();
    assert!(matches!(
        store.insert(no_subject).await,
        Err(StoreError::Invalid(_))
    ));
    let mut no_expiry = code("c4");
    no_expiry.expires_at = no_expiry.issued_at;
    assert!(matches!(
        store.insert(no_expiry).await,
        Err(StoreError::Invalid(_))
    ));
    let mut no_pkce = code("c5");
    no_pkce.code_challenge = None;
    store.insert(no_pkce).await.unwrap();
    assert!(
        store
            .get(TokenHash::of("c5"), T)
            .await
            .unwrap()
            .unwrap()
            .code_challenge
            .is_none()
    );
}

// seed-catalog-3b Must-test 3
#[test]
fn store_records_carry_only_the_code_hash() {
    let record = code("abc123");
    assert_eq!(record.code_hash, TokenHash::of("abc123"));
    let persisted = serde_json::to_string(&record).unwrap();
    assert!(
        !persisted.contains("abc123"),
        "the raw code must not appear in what a store persists"
    );
    assert!(persisted.contains(&TokenHash::of("abc123").to_b64url()));
    assert!(!format!("{record:?}").contains("abc123"));
}

// seed-catalog-3b Must-test 4 (repeated 100 times, 50-way)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_code_redemptions_have_exactly_one_winner() {
    let store = Arc::new(MemoryAuthorizationCodeStore::new());
    for round in 0..100 {
        let raw = format!("race-{round}");
        store.insert(code(&raw)).await.unwrap();
        let hash = TokenHash::of(&raw);
        let barrier = Arc::new(tokio::sync::Barrier::new(50));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.redeem(hash, T + 1).await.unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            match task.await.unwrap() {
                CodeRedemption::Redeemed(_) => winners += 1,
                CodeRedemption::AlreadyRedeemed { .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(winners, 1, "round {round}: double win");
    }
}

// seed-catalog-3b Must-test 5
#[tokio::test]
async fn failed_redemption_still_spends_the_code() {
    let store = MemoryAuthorizationCodeStore::new();
    store.insert(code("c")).await.unwrap();
    let CodeRedemption::Redeemed(record) = store.redeem(TokenHash::of("c"), T + 1).await.unwrap()
    else {
        panic!("first redemption wins");
    };
    // The server now finds a PKCE / redirect mismatch and issues nothing.
    assert_ne!(
        record.redirect_uri.as_deref(),
        Some("https://evil.example/cb")
    );
    assert_eq!(
        store.redeem(TokenHash::of("c"), T + 2).await.unwrap(),
        CodeRedemption::AlreadyRedeemed { issued: None }
    );
}

// seed-catalog-3b Must-test 6 (RFC 6749 §4.1.2: replay → revoke what was issued)
#[tokio::test]
async fn replayed_code_reports_the_family_it_issued() {
    let store = MemoryAuthorizationCodeStore::new();
    store.insert(code("c")).await.unwrap();
    assert!(matches!(
        store.redeem(TokenHash::of("c"), T + 1).await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    let issued = CodeIssuance {
        family_id: Some(FamilyId::new("fam-1")),
        access_token_jti: Some("at-jti".into()),
        access_token_expires_at: Some(T + 900),
    };
    assert!(
        store
            .record_issued(TokenHash::of("c"), issued.clone())
            .await
            .unwrap()
    );
    assert_eq!(
        store.redeem(TokenHash::of("c"), T + 2).await.unwrap(),
        CodeRedemption::AlreadyRedeemed {
            issued: Some(issued)
        }
    );
}

// seed-catalog-3b Must-test 7
#[tokio::test]
async fn get_does_not_consume_the_code() {
    let store = MemoryAuthorizationCodeStore::new();
    store.insert(code("c")).await.unwrap();
    assert!(store.get(TokenHash::of("c"), T).await.unwrap().is_some());
    assert!(matches!(
        store.redeem(TokenHash::of("c"), T).await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    assert!(store.get(TokenHash::of("c"), T).await.unwrap().is_none());
}

// seed-catalog-3b Must-test 8 and 36: attesto's stores re-check expiry themselves,
// so an expired code is never handed out (stricter than the seed's take/1).
#[tokio::test]
async fn expired_code_is_never_redeemed() {
    let store = MemoryAuthorizationCodeStore::new();
    store.insert(code("c")).await.unwrap();
    assert_eq!(
        store.redeem(TokenHash::of("c"), T + 60).await.unwrap(),
        CodeRedemption::Expired
    );
    assert!(
        store
            .get(TokenHash::of("c"), T + 60)
            .await
            .unwrap()
            .is_none()
    );
}

// seed-catalog-3b Must-test 9
#[test]
fn code_record_round_trips_through_json_losslessly() {
    let mut record = code("c");
    record.confirmation = Confirmation::dpop("jkt");
    record.confirmation.x5t_s256 = Some("x5t".into());
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(
        json["confirmation"],
        serde_json::json!({"jkt": "jkt", "x5t#S256": "x5t"})
    );
    let back: AuthorizationCodeRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, record);
}

// ---------------------------------------------------------------------------
// DPoP nonces (seed-catalog-3b §2, §8)

fn nonce(raw: &str, issued_at: UnixTime, ttl: i64) -> DpopNonceRecord {
    DpopNonceRecord {
        nonce_hash: TokenHash::of(raw),
        issued_at,
        expires_at: issued_at + ttl,
    }
}

// seed-catalog-3b Must-test 10 and 11
#[tokio::test]
async fn nonce_is_valid_until_accepted_once() {
    let store = MemoryDpopNonceStore::new();
    store.issue(nonce("n", T, 60)).await.unwrap();
    assert!(store.is_valid(TokenHash::of("n"), T + 1).await.unwrap());
    assert_eq!(
        store.accept(TokenHash::of("n"), T + 1).await.unwrap(),
        NonceOutcome::Accepted
    );
    assert_eq!(
        store.accept(TokenHash::of("n"), T + 1).await.unwrap(),
        NonceOutcome::Used
    );
    assert!(!store.is_valid(TokenHash::of("n"), T + 1).await.unwrap());
}

// seed-catalog-3b Must-test 12
#[tokio::test]
async fn never_issued_nonce_is_unknown() {
    let store = MemoryDpopNonceStore::new();
    assert_eq!(
        store
            .accept(TokenHash::of("never-issued"), T)
            .await
            .unwrap(),
        NonceOutcome::Unknown
    );
}

// seed-catalog-3b Must-test 13. Deliberate deviation: one boundary rule for every
// store (live while now < expires_at), so a nonce issued at T with a 60 s
// lifetime is accepted at T+59 and expired at T+60 (the seed accepts at T+60).
#[tokio::test]
async fn nonce_expires_exactly_at_its_expiry() {
    let store = MemoryDpopNonceStore::new();
    store.issue(nonce("a", T, 60)).await.unwrap();
    store.issue(nonce("b", T, 60)).await.unwrap();
    assert_eq!(
        store.accept(TokenHash::of("a"), T + 59).await.unwrap(),
        NonceOutcome::Accepted
    );
    assert_eq!(
        store.accept(TokenHash::of("b"), T + 60).await.unwrap(),
        NonceOutcome::Expired
    );
}

// seed-catalog-3b Must-test 14
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_nonce_accepts_have_one_winner() {
    let store = Arc::new(MemoryDpopNonceStore::new());
    store.issue(nonce("n", T, 60)).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.accept(TokenHash::of("n"), T + 1).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == NonceOutcome::Accepted)
            .count(),
        1
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == NonceOutcome::Used)
            .count(),
        49
    );
}

// seed-catalog-3b Must-test 15
#[tokio::test]
async fn nonce_issued_on_one_node_is_accepted_on_another() {
    let node_a = MemoryStores::new();
    let node_b = node_a.clone();
    node_a.dpop_nonces.issue(nonce("n", T, 60)).await.unwrap();
    assert_eq!(
        node_b
            .dpop_nonces
            .accept(TokenHash::of("n"), T + 1)
            .await
            .unwrap(),
        NonceOutcome::Accepted
    );
}

// seed-catalog-3b Must-test 16
#[tokio::test]
async fn colliding_nonce_is_reported_for_retry_and_unbounded_nonce_rejected() {
    let store = MemoryDpopNonceStore::new();
    store.issue(nonce("n", T, 60)).await.unwrap();
    assert!(matches!(
        store.issue(nonce("n", T, 60)).await,
        Err(StoreError::Duplicate)
    ));
    assert!(matches!(
        store.issue(nonce("m", T, 0)).await,
        Err(StoreError::Invalid(_))
    ));
}

// ---------------------------------------------------------------------------
// Refresh tokens (seed-catalog-3b §3, §10)

// seed-catalog-3b Must-test 17
#[tokio::test]
async fn rotation_reports_unrotated_parent_and_reuse_names_the_family() {
    let store = MemoryRefreshTokenStore::new();
    let family = new_family(&store, "F", "r1").await;
    let RotationOutcome::Rotated { parent, successor } = rotate(&store, "r1", "r2", T + 1, 0).await
    else {
        panic!("first rotation wins");
    };
    assert_eq!(
        store.get(TokenHash::of("r1"), T).await.unwrap(),
        RefreshLookup::Rotated(parent.clone())
    );
    assert_eq!(parent.generation, 0);
    assert_eq!(successor.generation, 1);
    let RotationOutcome::ReuseDetected { presented } = rotate(&store, "r1", "r3", T + 2, 0).await
    else {
        panic!("reuse is detected");
    };
    assert_eq!(presented.family_id, family);
    assert_eq!(
        rotate(&store, "nope", "r4", T + 3, 0).await,
        RotationOutcome::NotFound
    );
}

// seed-catalog-3b Must-test 18 (strict mode) and 24 (grace mode), 64-way
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_yield_exactly_one_successor() {
    for grace in [0, 60] {
        let store = Arc::new(MemoryRefreshTokenStore::new());
        new_family(&store, "F", "r1").await;
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    rotate(&store, "r1", &format!("next-{i}"), T + 5, grace).await
                })
            })
            .collect();
        let mut rotated = Vec::new();
        let mut retries = HashSet::new();
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                RotationOutcome::Rotated { successor, .. } => rotated.push(successor.token_hash),
                RotationOutcome::Retry {
                    successor, sealed, ..
                } => {
                    retries.insert((successor.token_hash, sealed.into_bytes()));
                }
                RotationOutcome::ReuseDetected { .. } | RotationOutcome::Revoked(_) => refused += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(rotated.len(), 1, "grace {grace}: one successor per token");
        if grace == 0 {
            assert_eq!(refused, 63);
            assert!(matches!(
                store.get(rotated[0], T + 6).await.unwrap(),
                RefreshLookup::Revoked(_)
            ));
        } else {
            assert_eq!(retries.len(), 1, "every retry returns the same successor");
            assert_eq!(retries.iter().next().unwrap().0, rotated[0]);
            assert!(matches!(
                store.get(rotated[0], T + 6).await.unwrap(),
                RefreshLookup::Active(_)
            ));
        }
    }
}

// seed-catalog-3b Must-test 19
#[tokio::test]
async fn revoked_family_refuses_rotation_and_new_members() {
    let store = MemoryRefreshTokenStore::new();
    let family = new_family(&store, "F", "r1").await;
    store.revoke_family(family.clone(), T + 1).await.unwrap();
    assert!(matches!(
        store.get(TokenHash::of("r1"), T + 2).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
    assert!(matches!(
        rotate(&store, "r1", "r2", T + 2, 60).await,
        RotationOutcome::Revoked(_)
    ));
    assert_eq!(
        store.get(TokenHash::of("r2"), T + 2).await.unwrap(),
        RefreshLookup::NotFound,
        "r2 not written"
    );
    let restart = store
        .issue_family(family, T + 86_400, refresh("r9", T + 3))
        .await;
    assert!(matches!(restart, Err(StoreError::Duplicate)));
}

// seed-catalog-3b Must-test 20
#[tokio::test]
async fn revoke_family_is_idempotent_and_unknown_family_is_ok() {
    let store = MemoryRefreshTokenStore::new();
    store
        .revoke_family(FamilyId::new("unknown"), T)
        .await
        .unwrap();
    let family = new_family(&store, "F", "r1").await;
    store.revoke_family(family.clone(), T + 1).await.unwrap();
    store.revoke_family(family, T + 2).await.unwrap();
    assert!(matches!(
        store.get(TokenHash::of("r1"), T + 3).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
}

// seed-catalog-3b Must-test 21 (500 iterations of rotate ‖ revoke)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_racing_revocation_never_leaves_a_live_token() {
    let store = Arc::new(MemoryRefreshTokenStore::new());
    for i in 0..500 {
        let (parent, next) = (format!("p{i}"), format!("s{i}"));
        let family = new_family(&store, &format!("F{i}"), &parent).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let rotating = {
            let (store, barrier, parent, next) = (
                Arc::clone(&store),
                Arc::clone(&barrier),
                parent.clone(),
                next.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                rotate(&store, &parent, &next, T + 1, 60).await
            })
        };
        let revoking = {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.revoke_family(family, T + 1).await.unwrap();
            })
        };
        rotating.await.unwrap();
        revoking.await.unwrap();
        for raw in [&parent, &next] {
            let state = store.get(TokenHash::of(raw), T + 2).await.unwrap();
            assert!(
                matches!(state, RefreshLookup::Revoked(_) | RefreshLookup::NotFound),
                "iteration {i}: {raw} left {state:?}"
            );
        }
    }
}

// seed-catalog-3b Must-test 23: the successor marker exists only through a
// rotation (a rotated parent), is opaque, and without it a retry fails closed.
#[tokio::test]
async fn retry_without_a_sealed_successor_fails_closed() {
    let store = MemoryRefreshTokenStore::new();
    new_family(&store, "F", "r1").await;
    let outcome = store
        .rotate(TokenHash::of("r1"), refresh("r2", T + 1), None, T + 1, 60)
        .await
        .unwrap();
    assert!(matches!(outcome, RotationOutcome::Rotated { .. }));
    assert!(matches!(
        rotate(&store, "r1", "r3", T + 2, 60).await,
        RotationOutcome::ReuseDetected { .. }
    ));
    let sealed = SealedSuccessor::new(b"ciphertext-not-the-token".to_vec());
    assert_eq!(format!("{sealed:?}"), "SealedSuccessor(<24 bytes>)");
}

// seed-catalog-3b Must-test 24 (store level; the server unseals and checks the client)
#[tokio::test]
async fn retry_within_grace_returns_the_same_successor_and_later_reuse_revokes() {
    let store = MemoryRefreshTokenStore::new();
    new_family(&store, "F", "r1").await;
    assert!(matches!(
        rotate(&store, "r1", "r2", T + 100, 60).await,
        RotationOutcome::Rotated { .. }
    ));
    let RotationOutcome::Retry {
        successor, sealed, ..
    } = rotate(&store, "r1", "r3", T + 110, 60).await
    else {
        panic!("retry within the grace window");
    };
    assert_eq!(successor.token_hash, TokenHash::of("r2"));
    assert_eq!(sealed.as_bytes(), b"sealed:r2");
    assert!(matches!(
        store.get(TokenHash::of("r2"), T + 110).await.unwrap(),
        RefreshLookup::Active(_)
    ));
    assert!(matches!(
        rotate(&store, "r1", "r4", T + 161, 60).await,
        RotationOutcome::ReuseDetected { .. }
    ));
    assert!(matches!(
        store.get(TokenHash::of("r2"), T + 162).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
    assert!(
        matches!(
            rotate(&store, "r2", "r5", T + 163, 60).await,
            RotationOutcome::Revoked(_)
        ),
        "sticky"
    );
}

// seed-catalog-3b Must-test 24 (grace = 0: strict)
#[tokio::test]
async fn strict_mode_reuse_revokes_the_family_immediately() {
    let store = MemoryRefreshTokenStore::new();
    new_family(&store, "F", "r1").await;
    assert!(matches!(
        rotate(&store, "r1", "r2", T + 100, 0).await,
        RotationOutcome::Rotated { .. }
    ));
    assert!(matches!(
        rotate(&store, "r1", "r3", T + 100, 0).await,
        RotationOutcome::ReuseDetected { .. }
    ));
    assert!(matches!(
        store.get(TokenHash::of("r2"), T + 101).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
}

// seed-catalog-3b Must-test 25
#[test]
fn confirmation_serializes_as_rfc7800_cnf() {
    let bound = Confirmation::dpop("abc");
    assert_eq!(
        serde_json::to_value(&bound).unwrap(),
        serde_json::json!({"jkt": "abc"})
    );
    let back: Confirmation = serde_json::from_value(serde_json::json!({"jkt": "abc"})).unwrap();
    assert_eq!(back.jkt.as_deref(), Some("abc"));
    assert_eq!(
        serde_json::to_value(Confirmation::none()).unwrap(),
        serde_json::json!({})
    );
    assert_eq!(
        serde_json::to_value(Confirmation::mtls("t")).unwrap(),
        serde_json::json!({"x5t#S256": "t"})
    );
}

// seed-catalog-3b Must-test 26
#[tokio::test]
async fn refresh_token_at_its_expiry_is_refused_and_stays_unrotated() {
    let store = MemoryRefreshTokenStore::new();
    new_family(&store, "F", "r1").await;
    let expiry = T + 3600;
    assert_eq!(
        rotate(&store, "r1", "r2", expiry, 60).await,
        RotationOutcome::Expired
    );
    assert!(matches!(
        store.get(TokenHash::of("r1"), expiry - 1).await.unwrap(),
        RefreshLookup::Active(_)
    ));
    assert_eq!(
        store.get(TokenHash::of("r2"), expiry - 1).await.unwrap(),
        RefreshLookup::NotFound
    );
}

// ---------------------------------------------------------------------------
// Replay (seed-catalog-3b §4, §9)

// seed-catalog-3b Must-test 27
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replayed_jti_is_detected_and_one_of_many_concurrent_checks_is_fresh() {
    let store = Arc::new(MemoryReplayStore::new());
    let ns = ReplayNamespace::DpopProof;
    let j1 = TokenHash::of_parts(&["jkt", "j1"]);
    assert_eq!(
        store.check_and_record(ns, j1, T + 60, T).await.unwrap(),
        ReplayOutcome::Fresh
    );
    assert_eq!(
        store.check_and_record(ns, j1, T + 60, T).await.unwrap(),
        ReplayOutcome::Replayed
    );
    let j2 = TokenHash::of_parts(&["jkt", "j2"]);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.check_and_record(ns, j2, T + 60, T).await.unwrap() })
        })
        .collect();
    let mut fresh = 0;
    for task in tasks {
        if task.await.unwrap() == ReplayOutcome::Fresh {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
}

// seed-catalog-3b Must-test 28
#[tokio::test]
async fn jti_recorded_on_one_node_is_a_replay_on_another() {
    let node_a = MemoryStores::new();
    let node_b = node_a.clone();
    let ns = ReplayNamespace::ClientAssertion;
    let key = TokenHash::of_parts(&["client-a", "j3"]);
    assert_eq!(
        node_a
            .replay
            .check_and_record(ns, key, T + 60, T)
            .await
            .unwrap(),
        ReplayOutcome::Fresh
    );
    assert_eq!(
        node_b
            .replay
            .check_and_record(ns, key, T + 60, T)
            .await
            .unwrap(),
        ReplayOutcome::Replayed
    );
}

// seed-catalog-3b Must-test 29
#[tokio::test]
async fn expired_unswept_jti_still_counts_as_replay() {
    let store = MemoryReplayStore::new();
    let ns = ReplayNamespace::DpopProof;
    let key = TokenHash::of("j4");
    store.check_and_record(ns, key, T + 60, T).await.unwrap();
    assert_eq!(
        store
            .check_and_record(ns, key, T + 1000, T + 500)
            .await
            .unwrap(),
        ReplayOutcome::Replayed
    );
}

// seed-catalog-3b Must-test 31
#[tokio::test]
async fn sweep_deletes_strictly_expired_rows_and_reports_the_count() {
    let store = MemoryReplayStore::new();
    let ns = ReplayNamespace::DpopProof;
    for (raw, expires_at) in [("old", T - 1), ("boundary", T), ("future", T + 1)] {
        store
            .check_and_record(ns, TokenHash::of(raw), expires_at, T - 100)
            .await
            .unwrap();
    }
    assert_eq!(store.sweep_expired(T, one()).await.unwrap(), 1);
    assert_eq!(
        store
            .check_and_record(ns, TokenHash::of("old"), T + 60, T)
            .await
            .unwrap(),
        ReplayOutcome::Fresh
    );
    assert_eq!(
        store
            .check_and_record(ns, TokenHash::of("boundary"), T + 60, T)
            .await
            .unwrap(),
        ReplayOutcome::Replayed
    );
    assert_eq!(
        store
            .check_and_record(ns, TokenHash::of("future"), T + 60, T)
            .await
            .unwrap(),
        ReplayOutcome::Replayed
    );
}

// seed-catalog-3b Must-test 33: every store sweeps, device codes included,
// and keeps the boundary row.
#[tokio::test]
async fn every_store_sweeps_only_rows_strictly_past_expiry() {
    let stores = MemoryStores::new();
    let mut boundary = code("boundary");
    boundary.issued_at = T - 100;
    boundary.expires_at = T;
    let mut old = code("old");
    old.issued_at = T - 100;
    old.expires_at = T - 1;
    stores.authorization_codes.insert(old).await.unwrap();
    stores.authorization_codes.insert(boundary).await.unwrap();
    assert_eq!(
        stores
            .authorization_codes
            .sweep_expired(T, one())
            .await
            .unwrap(),
        1
    );

    let device = |raw: &str, expires_at| DeviceCodeRecord {
        expires_at,
        ..device_record(raw)
    };
    stores
        .device_codes
        .insert(device("old", T - 1))
        .await
        .unwrap();
    stores
        .device_codes
        .insert(device("boundary", T))
        .await
        .unwrap();
    assert_eq!(
        stores.device_codes.sweep_expired(T, one()).await.unwrap(),
        1
    );

    let session = |client: &str, expires_at| LogoutSession {
        client_id: client.into(),
        expires_at,
        ..logout("s")
    };
    stores
        .logout_sessions
        .record(session("old", T - 1))
        .await
        .unwrap();
    stores
        .logout_sessions
        .record(session("boundary", T))
        .await
        .unwrap();
    assert_eq!(
        stores
            .logout_sessions
            .sweep_expired(T, one())
            .await
            .unwrap(),
        1
    );
}

// seed-catalog-3b Must-test 36: with no sweeper, expired codes, nonces and PAR
// references are still rejected on read.
#[tokio::test]
async fn expired_rows_are_rejected_on_read_without_a_sweeper() {
    let stores = MemoryStores::new();
    stores.authorization_codes.insert(code("c")).await.unwrap();
    assert_eq!(
        stores
            .authorization_codes
            .redeem(TokenHash::of("c"), T + 61)
            .await
            .unwrap(),
        CodeRedemption::Expired
    );
    stores.dpop_nonces.issue(nonce("n", T, 60)).await.unwrap();
    assert_eq!(
        stores
            .dpop_nonces
            .accept(TokenHash::of("n"), T + 61)
            .await
            .unwrap(),
        NonceOutcome::Expired
    );
    stores
        .par
        .insert(pushed("urn:ietf:params:oauth:request_uri:x"))
        .await
        .unwrap();
    let hash = TokenHash::of("urn:ietf:params:oauth:request_uri:x");
    assert_eq!(
        stores.par.fetch(hash, "client-a", T + 61).await.unwrap(),
        ParOutcome::Expired
    );
}

// ---------------------------------------------------------------------------
// PAR (seed-catalog-3b §5, §13)

fn pushed(request_uri: &str) -> PushedRequest {
    let params =
        serde_json::from_value(serde_json::json!({"response_type": "code", "scope": "openid"}))
            .unwrap();
    PushedRequest {
        request_uri_hash: TokenHash::of(request_uri),
        client_id: "client-a".into(),
        params,
        issued_at: T,
        expires_at: T + 60,
    }
}

// seed-catalog-3b Must-test 65
#[tokio::test]
async fn par_fetch_is_repeatable_and_take_is_single_use() {
    let store = MemoryParStore::new();
    let uri = "urn:ietf:params:oauth:request_uri:abc";
    store.insert(pushed(uri)).await.unwrap();
    let hash = TokenHash::of(uri);
    assert_eq!(
        store.fetch(hash, "client-a", T + 1).await.unwrap(),
        ParOutcome::Found(pushed(uri))
    );
    assert_eq!(
        store.fetch(hash, "client-a", T + 2).await.unwrap(),
        ParOutcome::Found(pushed(uri))
    );
    assert_eq!(
        store.take(hash, "client-a", T + 3).await.unwrap(),
        ParOutcome::Found(pushed(uri))
    );
    assert_eq!(
        store.fetch(hash, "client-a", T + 4).await.unwrap(),
        ParOutcome::NotFound
    );
    assert_eq!(
        store.take(hash, "client-a", T + 4).await.unwrap(),
        ParOutcome::NotFound
    );
}

// seed-catalog-3b Must-test 66
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_par_takes_have_one_winner() {
    let store = Arc::new(MemoryParStore::new());
    let uri = "urn:ietf:params:oauth:request_uri:race";
    store.insert(pushed(uri)).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .take(TokenHash::of(uri), "client-a", T + 1)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut found = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), ParOutcome::Found(_)) {
            found += 1;
        }
    }
    assert_eq!(found, 1);
}

// RFC 9126 §4: the reference is bound to the client that pushed it.
#[tokio::test]
async fn par_reference_is_bound_to_the_pushing_client() {
    let store = MemoryParStore::new();
    let uri = "urn:ietf:params:oauth:request_uri:bound";
    store.insert(pushed(uri)).await.unwrap();
    let hash = TokenHash::of(uri);
    assert_eq!(
        store.take(hash, "client-b", T + 1).await.unwrap(),
        ParOutcome::ClientMismatch
    );
    assert!(matches!(
        store.take(hash, "client-a", T + 1).await.unwrap(),
        ParOutcome::Found(_)
    ));
}

// ---------------------------------------------------------------------------
// Device codes (seed-catalog-2 §27.3, §28.2)

fn device_record(raw: &str) -> DeviceCodeRecord {
    DeviceCodeRecord {
        device_code_hash: TokenHash::of(&format!("device:{raw}")),
        user_code_hash: TokenHash::of(&format!("user:{raw}")),
        client_id: "tv-client".into(),
        scope: vec!["openid".into()],
        resource: vec![],
        confirmation: Confirmation::dpop("jkt"),
        interval_seconds: 5,
        issued_at: T - 100,
        expires_at: T + 600,
        status: DeviceCodeStatus::Pending,
        approval: None,
        last_polled_at: None,
    }
}

fn approval() -> DeviceApproval {
    DeviceApproval {
        subject: "user-1".into(),
        scope: vec!["openid".into()],
        auth_time: Some(T),
        acr: None,
        amr: vec![],
        claims: None,
        approved_at: T,
    }
}

// seed-catalog-2 Must-test 93
#[test]
fn device_record_holds_only_hashes_of_the_codes() {
    let json = serde_json::to_string(&device_record("WDJB-MJHT")).unwrap();
    assert!(!json.contains("device:WDJB-MJHT") && !json.contains("user:WDJB-MJHT"));
}

// seed-catalog-2 Must-test 99
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_device_decisions_record_exactly_one() {
    let store = Arc::new(MemoryDeviceCodeStore::new());
    store.insert(device_record("d")).await.unwrap();
    let user = TokenHash::of("user:d");
    let tasks: Vec<_> = (0..50)
        .map(|i: usize| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                if i.is_multiple_of(2) {
                    store.approve(user, approval(), T).await.unwrap()
                } else {
                    store.deny(user, T).await.unwrap()
                }
            })
        })
        .collect();
    let mut recorded = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), DeviceDecision::Recorded(_)) {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 1);
}

// seed-catalog-2 Must-test 102 (RFC 8628 §3.5)
#[tokio::test]
async fn device_poll_within_the_interval_is_slow_down_and_raises_it() {
    let store = MemoryDeviceCodeStore::new();
    store.insert(device_record("d")).await.unwrap();
    let code = TokenHash::of("device:d");
    assert_eq!(store.poll(code, T).await.unwrap(), DevicePoll::Pending);
    assert_eq!(
        store.poll(code, T + 1).await.unwrap(),
        DevicePoll::SlowDown {
            interval_seconds: 10
        }
    );
    assert_eq!(store.poll(code, T + 11).await.unwrap(), DevicePoll::Pending);
    assert_eq!(
        store
            .poll(TokenHash::of("device:unknown"), T)
            .await
            .unwrap(),
        DevicePoll::NotFound
    );
}

// seed-catalog-2 Must-test 103
#[tokio::test]
async fn approved_device_code_redeems_exactly_once() {
    let store = MemoryDeviceCodeStore::new();
    store.insert(device_record("d")).await.unwrap();
    let code = TokenHash::of("device:d");
    assert_eq!(
        store.redeem(code, T).await.unwrap(),
        DeviceRedemption::NotApproved
    );
    store
        .approve(TokenHash::of("user:d"), approval(), T)
        .await
        .unwrap();
    assert!(matches!(
        store.poll(code, T).await.unwrap(),
        DevicePoll::Approved(_)
    ));
    assert!(matches!(
        store.redeem(code, T).await.unwrap(),
        DeviceRedemption::Redeemed(_)
    ));
    assert_eq!(
        store.redeem(code, T).await.unwrap(),
        DeviceRedemption::AlreadyRedeemed
    );
}

// ---------------------------------------------------------------------------
// Consent grants (seed-catalog-2 §16, §17, §28.1)

fn consent(raw: &str, binding: &str) -> ConsentGrantRecord {
    ConsentGrantRecord {
        token_hash: TokenHash::of(raw),
        binding_hash: TokenHash::of(binding),
        subject: "user-1".into(),
        issued_at: T,
        expires_at: T + 60,
    }
}

// seed-catalog-2 Must-test 110
#[tokio::test]
async fn consent_grant_is_consumed_once() {
    let store = MemoryConsentGrantStore::new();
    store.mint(consent("t", "b")).await.unwrap();
    let (t, b) = (TokenHash::of("t"), TokenHash::of("b"));
    assert!(matches!(
        store.consume(t, b, T).await.unwrap(),
        ConsentOutcome::Consumed(_)
    ));
    assert_eq!(
        store.consume(t, b, T).await.unwrap(),
        ConsentOutcome::AlreadyConsumed
    );
}

// seed-catalog-2 Must-test 111
#[tokio::test]
async fn consent_binding_mismatch_does_not_spend_the_grant() {
    let store = MemoryConsentGrantStore::new();
    store.mint(consent("t", "b")).await.unwrap();
    let t = TokenHash::of("t");
    assert_eq!(
        store
            .consume(t, TokenHash::of("other request"), T)
            .await
            .unwrap(),
        ConsentOutcome::BindingMismatch
    );
    assert!(matches!(
        store.consume(t, TokenHash::of("b"), T).await.unwrap(),
        ConsentOutcome::Consumed(_)
    ));
}

// seed-catalog-2 Must-test 112 and 113
#[tokio::test]
async fn expired_or_unknown_consent_is_refused() {
    let store = MemoryConsentGrantStore::new();
    store.mint(consent("t", "b")).await.unwrap();
    let b = TokenHash::of("b");
    assert_eq!(
        store.consume(TokenHash::of("t"), b, T + 60).await.unwrap(),
        ConsentOutcome::Expired
    );
    assert_eq!(
        store.consume(TokenHash::of("unknown"), b, T).await.unwrap(),
        ConsentOutcome::NotFound
    );
}

// seed-catalog-2 Must-test 114
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_consent_consumes_have_one_winner() {
    let store = Arc::new(MemoryConsentGrantStore::new());
    store.mint(consent("t", "b")).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .consume(TokenHash::of("t"), TokenHash::of("b"), T)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, ConsentOutcome::Consumed(_)))
            .count(),
        1
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == ConsentOutcome::AlreadyConsumed)
            .count(),
        49
    );
}

// ---------------------------------------------------------------------------
// Logout sessions (seed-catalog-2 §27.4, §28.3)

fn logout(sid: &str) -> LogoutSession {
    LogoutSession {
        sid: sid.into(),
        client_id: "rp-a".into(),
        subject: "user-1".into(),
        backchannel_logout_uri: "https://rp-a.example/bcl".into(),
        session_required: true,
        recorded_at: T - 3600,
        expires_at: T + 3600,
    }
}

// seed-catalog-2 Must-test 168
#[tokio::test]
async fn logout_target_is_upserted_per_session_and_client() {
    let store = MemoryLogoutSessionStore::new();
    store.record(logout("s1")).await.unwrap();
    let newer = LogoutSession {
        backchannel_logout_uri: "https://rp-a.example/v2".into(),
        ..logout("s1")
    };
    store.record(newer.clone()).await.unwrap();
    store
        .record(LogoutSession {
            sid: "s2".into(),
            ..logout("s2")
        })
        .await
        .unwrap();
    store
        .record(LogoutSession {
            expires_at: T - 1,
            recorded_at: T - 10,
            ..logout("s3")
        })
        .await
        .unwrap();
    assert_eq!(store.take_session("s1", T).await.unwrap(), vec![newer]);
    let by_subject = store.take_subject("user-1", T).await.unwrap();
    assert_eq!(
        by_subject.len(),
        1,
        "only the live s2 row remains: {by_subject:?}"
    );
    assert_eq!(by_subject[0].sid, "s2");
}

// seed-catalog-2 Must-test 160
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_logouts_deliver_each_target_once() {
    let store = Arc::new(MemoryLogoutSessionStore::new());
    for rp in 0..8 {
        store
            .record(LogoutSession {
                client_id: format!("rp-{rp}"),
                ..logout("s1")
            })
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.take_session("s1", T).await.unwrap() })
        })
        .collect();
    let mut delivered = Vec::new();
    for task in tasks {
        delivered.extend(task.await.unwrap().into_iter().map(|s| s.client_id));
    }
    delivered.sort();
    let expected: Vec<String> = (0..8).map(|rp| format!("rp-{rp}")).collect();
    assert_eq!(delivered, expected);
}

// ---------------------------------------------------------------------------
// Failure behaviour

#[test]
fn store_error_reports_outages_with_their_cause() {
    let err = StoreError::unavailable(std::io::Error::other("connection reset"));
    assert!(err.is_unavailable());
    let source = std::error::Error::source(&err).unwrap();
    assert_eq!(source.to_string(), "connection reset");
    assert!(!StoreError::Duplicate.is_unavailable());
    assert!(!StoreError::corrupt(std::io::Error::other("bad json")).is_unavailable());
}
