//! Single-use races on real pools: 64 tasks released together behind a
//! barrier, alternating between two pools over one database (two "nodes"),
//! each pool with many connections so the statements really run
//! concurrently. Every test runs on SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::future::Future;
use std::sync::Arc;

use attesto::clock::UnixTime;
use attesto::store::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CodeRedemption, Confirmation,
    ConsentGrantRecord, ConsentGrantStore, ConsentOutcome, DeviceApproval, DeviceCodeRecord,
    DeviceCodeStatus, DeviceCodeStore, DeviceDecision, DeviceRedemption, DpopNonceRecord,
    DpopNonceStore, FamilyId, NewRefreshToken, NonceOutcome, ParOutcome, ParStore, PushedRequest,
    RefreshGrant, RefreshLookup, RefreshTokenStore, ReplayNamespace, ReplayOutcome, ReplayStore,
    RotationOutcome, SealedSuccessor, Stores, TokenHash,
};
use common::random_hex;

const WIDTH: usize = 64;
const ROUNDS: usize = 8;
const T0: UnixTime = 1_700_000_000;
const GRACE: u32 = 60;

fn fresh(label: &str) -> TokenHash {
    TokenHash::of(&format!("{label}-{}", random_hex(16)))
}

/// Release `WIDTH` tasks at once; task `i` runs on node A for even `i` and
/// node B for odd `i`.
async fn race<B, T, Fut>(a: &B, b: &B, op: impl Fn(usize, B) -> Fut) -> Vec<T>
where
    B: Stores + Clone,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(WIDTH));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..WIDTH {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let barrier = Arc::clone(&barrier);
        let fut = op(i, node);
        tasks.spawn(async move {
            barrier.wait().await;
            fut.await
        });
    }
    let mut out = Vec::with_capacity(WIDTH);
    while let Some(r) = tasks.join_next().await {
        out.push(r.expect("race task panicked"));
    }
    out
}

fn code(hash: TokenHash) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        code_hash: hash,
        client_id: "client-race".into(),
        redirect_uri: Some("https://client.example/cb".into()),
        scope: vec!["openid".into()],
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        nonce: Some("n-0S6_WzA2Mj".into()),
        subject: "user-race".into(),
        auth_time: Some(T0 - 10),
        acr: None,
        amr: vec!["pwd".into()],
        sid: None,
        resource: vec![],
        confirmation: Confirmation::dpop("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
        claims: None,
        issued_at: T0,
        expires_at: T0 + 60,
    }
}

fn grant() -> RefreshGrant {
    RefreshGrant {
        client_id: "client-race".into(),
        subject: "user-race".into(),
        scope: vec!["openid".into(), "offline_access".into()],
        resource: vec![],
        confirmation: Confirmation::none(),
        auth_time: None,
        acr: None,
        amr: vec![],
        sid: None,
        claims: Some(serde_json::json!({"tenant": "acme"})),
    }
}

fn refresh_token(hash: TokenHash, issued_at: UnixTime) -> NewRefreshToken {
    NewRefreshToken {
        token_hash: hash,
        issued_at,
        expires_at: issued_at + 86_400,
        grant: grant(),
    }
}

async fn new_family<B: Stores>(node: &B) -> TokenHash {
    let first = fresh("rt");
    node.refresh_tokens()
        .issue_family(
            FamilyId::new(format!("fam-{}", random_hex(8))),
            T0 + 30 * 86_400,
            refresh_token(first, T0),
        )
        .await
        .unwrap();
    first
}

// seed-catalog-3b Must-test 4
async fn concurrent_redemptions_of_one_code_have_exactly_one_winner<B: Stores + Clone>(
    a: &B,
    b: &B,
) {
    for _ in 0..ROUNDS {
        let hash = fresh("code");
        a.authorization_codes().insert(code(hash)).await.unwrap();
        let results = race(a, b, |_, node| async move {
            node.authorization_codes()
                .redeem(hash, T0 + 5)
                .await
                .unwrap()
        })
        .await;
        let winners = results
            .iter()
            .filter(|r| matches!(r, CodeRedemption::Redeemed(_)))
            .count();
        assert_eq!(winners, 1, "exactly one redemption wins: {results:?}");
        assert!(
            results.iter().all(|r| matches!(
                r,
                CodeRedemption::Redeemed(_) | CodeRedemption::AlreadyRedeemed { issued: None }
            )),
            "every loser sees the code already redeemed: {results:?}"
        );
    }
}

// seed-catalog-3b Must-test 18 and 24 (store level: retries inside the grace
// window get the same successor)
async fn concurrent_rotations_of_one_refresh_token_yield_one_successor<B: Stores + Clone>(
    a: &B,
    b: &B,
) {
    for _ in 0..ROUNDS {
        let presented = new_family(a).await;
        let results = race(a, b, |i, node| async move {
            let seal = SealedSuccessor::new(format!("sealed-{i}").into_bytes());
            let outcome = node
                .refresh_tokens()
                .rotate(
                    presented,
                    refresh_token(fresh("rt-next"), T0 + 5),
                    Some(seal),
                    T0 + 5,
                    GRACE,
                )
                .await
                .unwrap();
            (i, outcome)
        })
        .await;
        let winners: Vec<_> = results
            .iter()
            .filter_map(|(i, r)| match r {
                RotationOutcome::Rotated { successor, .. } => Some((*i, successor.token_hash)),
                _ => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "one successor: {results:?}");
        let (winner_task, winner) = winners[0];
        let winner_seal = format!("sealed-{winner_task}").into_bytes();
        for (_, r) in &results {
            match r {
                RotationOutcome::Rotated { .. } => {}
                RotationOutcome::Retry {
                    successor, sealed, ..
                } => {
                    assert_eq!(successor.token_hash, winner, "retries get that successor");
                    assert_eq!(
                        sealed.as_bytes(),
                        winner_seal.as_slice(),
                        "every retry carries the winner's sealed copy"
                    );
                }
                other => panic!("within the grace window a loser retries: {other:?}"),
            }
        }
        assert!(matches!(
            b.refresh_tokens().get(winner, T0 + 6).await.unwrap(),
            RefreshLookup::Active(_)
        ));
        assert!(matches!(
            a.refresh_tokens().get(presented, T0 + 6).await.unwrap(),
            RefreshLookup::Rotated(_)
        ));
    }
}

// seed-catalog-3b Must-test 24 (+61 s → the family is revoked)
async fn reuse_after_the_grace_window_revokes_the_family<B: Stores + Clone>(a: &B, b: &B) {
    let presented = new_family(a).await;
    let successor = fresh("rt-next");
    let outcome = a
        .refresh_tokens()
        .rotate(
            presented,
            refresh_token(successor, T0 + 5),
            Some(SealedSuccessor::new(b"sealed".to_vec())),
            T0 + 5,
            GRACE,
        )
        .await
        .unwrap();
    assert!(matches!(outcome, RotationOutcome::Rotated { .. }));
    let late = T0 + 5 + i64::from(GRACE) + 1;
    let results = race(a, b, |_, node| async move {
        node.refresh_tokens()
            .rotate(
                presented,
                refresh_token(fresh("rt-late"), late),
                Some(SealedSuccessor::new(b"late".to_vec())),
                late,
                GRACE,
            )
            .await
            .unwrap()
    })
    .await;
    assert!(
        results
            .iter()
            .any(|r| matches!(r, RotationOutcome::ReuseDetected { .. })),
        "the reuse is detected: {results:?}"
    );
    assert!(
        results.iter().all(|r| matches!(
            r,
            RotationOutcome::ReuseDetected { .. } | RotationOutcome::Revoked(_)
        )),
        "after the grace window no re-presentation rotates or retries: {results:?}"
    );
    for hash in [presented, successor] {
        assert!(
            matches!(
                b.refresh_tokens().get(hash, late + 1).await.unwrap(),
                RefreshLookup::Revoked(_)
            ),
            "the whole family is revoked"
        );
    }
}

// seed-catalog-3b Must-test 21 (the phantom race, at READ COMMITTED on PostgreSQL)
async fn rotation_racing_revocation_leaves_no_live_token<B: Stores + Clone>(a: &B, b: &B) {
    // 500 iterations, as the seed asks.
    for _ in 0..500 {
        let presented = new_family(a).await;
        let family_id = match a.refresh_tokens().get(presented, T0).await.unwrap() {
            RefreshLookup::Active(r) => r.family_id,
            other => panic!("{other:?}"),
        };
        let next = fresh("rt-phantom");
        let (rotated, ()) = tokio::join!(
            async {
                a.refresh_tokens()
                    .rotate(
                        presented,
                        refresh_token(next, T0 + 1),
                        Some(SealedSuccessor::new(b"s".to_vec())),
                        T0 + 1,
                        GRACE,
                    )
                    .await
                    .unwrap()
            },
            async {
                b.refresh_tokens()
                    .revoke_family(family_id.clone(), T0 + 1)
                    .await
                    .unwrap();
            }
        );
        assert!(matches!(
            rotated,
            RotationOutcome::Rotated { .. } | RotationOutcome::Revoked(_)
        ));
        for hash in [presented, next] {
            let state = a.refresh_tokens().get(hash, T0 + 2).await.unwrap();
            assert!(
                matches!(state, RefreshLookup::Revoked(_) | RefreshLookup::NotFound),
                "no token of a revoked family stays live: {state:?}"
            );
        }
    }
}

async fn concurrent_takes_of_one_request_uri_have_one_winner<B: Stores + Clone>(a: &B, b: &B) {
    for _ in 0..ROUNDS {
        let hash = fresh("par");
        a.par()
            .insert(PushedRequest {
                request_uri_hash: hash,
                client_id: "client-race".into(),
                params: serde_json::json!({"response_type": "code", "state": "xyz"})
                    .as_object()
                    .cloned()
                    .unwrap(),
                issued_at: T0,
                expires_at: T0 + 60,
            })
            .await
            .unwrap();
        let results = race(a, b, |i, node| async move {
            // Every fourth task is another client: it must never consume.
            let client = if i % 4 == 3 {
                "client-other"
            } else {
                "client-race"
            };
            (
                i % 4 == 3,
                node.par().take(hash, client, T0 + 5).await.unwrap(),
            )
        })
        .await;
        let found = results
            .iter()
            .filter(|(_, r)| matches!(r, ParOutcome::Found(_)))
            .count();
        assert_eq!(found, 1, "one take wins: {results:?}");
        for (other_client, r) in &results {
            if *other_client {
                assert!(
                    matches!(r, ParOutcome::ClientMismatch | ParOutcome::NotFound),
                    "{r:?}"
                );
            } else {
                assert!(
                    matches!(r, ParOutcome::Found(_) | ParOutcome::NotFound),
                    "{r:?}"
                );
            }
        }
    }
}

// seed-catalog-3b Must-test 14 and 15
async fn concurrent_accepts_of_one_dpop_nonce_have_one_winner<B: Stores + Clone>(a: &B, b: &B) {
    for _ in 0..ROUNDS {
        let hash = fresh("nonce");
        a.dpop_nonces()
            .issue(DpopNonceRecord {
                nonce_hash: hash,
                issued_at: T0,
                expires_at: T0 + 60,
            })
            .await
            .unwrap();
        let results = race(a, b, |_, node| async move {
            node.dpop_nonces().accept(hash, T0 + 5).await.unwrap()
        })
        .await;
        let accepted = results
            .iter()
            .filter(|r| **r == NonceOutcome::Accepted)
            .count();
        assert_eq!(accepted, 1, "{results:?}");
        assert_eq!(
            results.iter().filter(|r| **r == NonceOutcome::Used).count(),
            WIDTH - 1
        );
    }
}

// seed-catalog-3b Must-test 27 and 28
async fn concurrent_replays_of_one_jti_have_one_fresh<B: Stores + Clone>(a: &B, b: &B) {
    for ns in [ReplayNamespace::DpopProof, ReplayNamespace::ClientAssertion] {
        for _ in 0..ROUNDS {
            let key = TokenHash::of_parts(&["jkt", &random_hex(16)]);
            let results = race(a, b, |_, node| async move {
                node.replay()
                    .check_and_record(ns, key, T0 + 60, T0)
                    .await
                    .unwrap()
            })
            .await;
            assert_eq!(
                results
                    .iter()
                    .filter(|r| **r == ReplayOutcome::Fresh)
                    .count(),
                1,
                "{results:?}"
            );
        }
    }
}

async fn concurrent_device_redemptions_mint_one_family<B: Stores + Clone>(a: &B, b: &B) {
    for _ in 0..ROUNDS {
        let device = fresh("device");
        let user = fresh("user-code");
        a.device_codes()
            .insert(DeviceCodeRecord {
                device_code_hash: device,
                user_code_hash: user,
                client_id: "client-race".into(),
                scope: vec!["openid".into()],
                resource: vec![],
                confirmation: Confirmation::none(),
                interval_seconds: 5,
                issued_at: T0,
                expires_at: T0 + 600,
                status: DeviceCodeStatus::Pending,
                approval: None,
                last_polled_at: None,
            })
            .await
            .unwrap();
        let approval = DeviceApproval {
            subject: "user-race".into(),
            scope: vec!["openid".into()],
            auth_time: Some(T0),
            acr: None,
            amr: vec!["pwd".into()],
            claims: None,
            approved_at: T0 + 1,
        };
        let decisions = race(a, b, |i, node| {
            let approval = approval.clone();
            async move {
                if i % 2 == 0 {
                    node.device_codes().approve(user, approval, T0 + 1).await
                } else {
                    node.device_codes().deny(user, T0 + 1).await
                }
                .unwrap()
            }
        })
        .await;
        let recorded: Vec<_> = decisions
            .iter()
            .filter_map(|d| match d {
                DeviceDecision::Recorded(r) => Some(r.status),
                _ => None,
            })
            .collect();
        assert_eq!(recorded.len(), 1, "one decision is recorded: {decisions:?}");
        if recorded[0] != DeviceCodeStatus::Approved {
            continue;
        }
        let redemptions = race(a, b, |_, node| async move {
            node.device_codes().redeem(device, T0 + 10).await.unwrap()
        })
        .await;
        assert_eq!(
            redemptions
                .iter()
                .filter(|r| matches!(r, DeviceRedemption::Redeemed(_)))
                .count(),
            1,
            "{redemptions:?}"
        );
        assert!(redemptions.iter().all(|r| matches!(
            r,
            DeviceRedemption::Redeemed(_) | DeviceRedemption::AlreadyRedeemed
        )));
    }
}

async fn concurrent_consent_consumption_has_one_winner<B: Stores + Clone>(a: &B, b: &B) {
    for _ in 0..ROUNDS {
        let token = fresh("consent");
        let binding = fresh("binding");
        a.consent_grants()
            .mint(ConsentGrantRecord {
                token_hash: token,
                binding_hash: binding,
                subject: "user-race".into(),
                issued_at: T0,
                expires_at: T0 + 120,
            })
            .await
            .unwrap();
        let results = race(a, b, |_, node| async move {
            node.consent_grants()
                .consume(token, binding, T0 + 1)
                .await
                .unwrap()
        })
        .await;
        assert_eq!(
            results
                .iter()
                .filter(|r| matches!(r, ConsentOutcome::Consumed(_)))
                .count(),
            1
        );
        assert!(results.iter().all(|r| matches!(
            r,
            ConsentOutcome::Consumed(_) | ConsentOutcome::AlreadyConsumed
        )));
    }
}

/// One `#[tokio::test]` per behaviour and backend: `sqlite::<name>` runs on a
/// temporary file (WAL, two pools of 8), `postgres::<name>` in a schema of
/// its own (two pools of 16).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use attesto_sqlx::TablePrefix;
            use crate::common::SqliteDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = SqliteDb::new();
                    let prefix = TablePrefix::default();
                    let a = db.node(&prefix).await;
                    let b = db.node(&prefix).await;
                    super::$name(&a, &b).await;
                }
            )*
        }

        mod postgres {
            use attesto_sqlx::TablePrefix;
            use crate::common::PgDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = PgDb::new(concat!("postgres::", stringify!($name))).await else {
                        return;
                    };
                    let prefix = TablePrefix::default();
                    let a = db.node(&prefix).await;
                    let b = db.node(&prefix).await;
                    super::$name(&a, &b).await;
                }
            )*
        }
    };
}

on_both_backends!(
    concurrent_redemptions_of_one_code_have_exactly_one_winner,
    concurrent_rotations_of_one_refresh_token_yield_one_successor,
    reuse_after_the_grace_window_revokes_the_family,
    rotation_racing_revocation_leaves_no_live_token,
    concurrent_takes_of_one_request_uri_have_one_winner,
    concurrent_accepts_of_one_dpop_nonce_have_one_winner,
    concurrent_replays_of_one_jti_have_one_fresh,
    concurrent_device_redemptions_mint_one_family,
    concurrent_consent_consumption_has_one_winner,
);
