//! Conformance checks for [`RefreshTokenStore`].

use std::sync::Arc;

use super::{RACE_ROUNDS, RACE_WIDTH, SWEEP_T, T0, alternate, batch, fresh_hash, race, unique};
use crate::clock::UnixTime;
use crate::store::{
    Confirmation, FamilyId, NewRefreshToken, RefreshGrant, RefreshLookup, RefreshTokenRecord,
    RefreshTokenStore, RotationOutcome, SealedSuccessor, StoreError, TokenHash,
};

const TTL: i64 = 86_400;
const FAMILY_TTL: i64 = 30 * 86_400;
const GRACE: u32 = 60;

fn grant() -> RefreshGrant {
    RefreshGrant {
        client_id: unique("client"),
        subject: unique("user"),
        scope: vec![
            "openid".to_owned(),
            "offline_access".to_owned(),
            "documents.read".to_owned(),
        ],
        resource: vec!["https://api.example/".to_owned()],
        confirmation: Confirmation::dpop("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
        auth_time: Some(T0 - 100),
        acr: Some("urn:example:loa:2".to_owned()),
        amr: vec!["pwd".to_owned()],
        sid: Some(unique("sid")),
        claims: Some(serde_json::json!({"tenant": "acme", "roles": ["a", "b"]})),
    }
}

fn token(token_hash: TokenHash, issued_at: UnixTime, expires_at: UnixTime) -> NewRefreshToken {
    NewRefreshToken {
        token_hash,
        issued_at,
        expires_at,
        grant: grant(),
    }
}

fn sealed(label: &str) -> SealedSuccessor {
    SealedSuccessor::new(unique(label).into_bytes())
}

/// A fresh family issued at `T0`; returns its first token.
async fn family<S: RefreshTokenStore>(store: &S) -> RefreshTokenRecord {
    let first = token(fresh_hash("rt"), T0, T0 + TTL);
    store
        .issue_family(FamilyId::new(unique("family")), T0 + FAMILY_TTL, first)
        .await
        .unwrap()
}

async fn rotate<S: RefreshTokenStore>(
    store: &S,
    presented: TokenHash,
    now: UnixTime,
    grace: u32,
) -> (RotationOutcome, TokenHash, SealedSuccessor) {
    let next = fresh_hash("rt-next");
    let seal = sealed("seal");
    let outcome = store
        .rotate(
            presented,
            token(next, now, now + TTL),
            Some(seal.clone()),
            now,
            grace,
        )
        .await
        .unwrap();
    (outcome, next, seal)
}

fn is_active(lookup: &RefreshLookup) -> bool {
    matches!(lookup, RefreshLookup::Active(_))
}

/// The whole [`RefreshTokenStore`] contract on one store (seed-catalog-3b
/// must-test 17–24 and 26, store level).
pub async fn refresh_tokens<S: RefreshTokenStore>(store: Arc<S>) {
    issued_family_is_active_and_round_trips(&*store).await;
    duplicate_family_or_token_is_rejected(&*store).await;
    invalid_tokens_are_rejected(&*store).await;
    rotation_links_successor_into_family(&*store).await;
    unknown_token_is_not_found(&*store).await;
    failed_successor_insert_leaves_token_unrotated(&*store).await;
    retry_within_grace_returns_same_successor(&*store).await;
    grace_window_is_exclusive_at_its_end(&*store).await;
    reuse_after_grace_revokes_family_sticky(&*store).await;
    strict_mode_revokes_on_any_reuse(&*store).await;
    retry_after_successor_was_used_is_reuse(&*store).await;
    retry_without_sealed_successor_is_reuse(&*store).await;
    expired_token_is_refused_without_being_consumed(&*store).await;
    family_lifetime_bounds_every_generation(&*store).await;
    revoke_family_is_idempotent_and_sticky(&*store).await;
    revoke_by_token_revokes_its_family(&*store).await;
    concurrent_rotations_yield_one_successor(&store).await;
    concurrent_strict_rotations_revoke_family(&store).await;
    rotation_racing_revocation_leaves_nothing_live(&store).await;
    sweep_deletes_only_expired_tokens_in_batches(&*store).await;
}

/// Cross-node checks: a family issued through `a` rotates through `b`, and a
/// rotation race split across both nodes yields one successor.
pub async fn refresh_tokens_shared<S: RefreshTokenStore>(a: Arc<S>, b: Arc<S>) {
    let first = family(&*a).await;
    let (outcome, next, _) = rotate(&*b, first.token_hash, T0 + 1, GRACE).await;
    assert!(
        matches!(outcome, RotationOutcome::Rotated { .. }),
        "rotation through node B: {outcome:?}"
    );
    assert!(
        is_active(&a.get(next, T0 + 2).await.unwrap()),
        "node A must see node B's successor"
    );
    let (outcome, _, _) = rotate(&*a, first.token_hash, T0 + 1000, GRACE).await;
    assert!(matches!(outcome, RotationOutcome::ReuseDetected { .. }));
    assert!(
        matches!(
            b.get(next, T0 + 1001).await.unwrap(),
            RefreshLookup::Revoked(_)
        ),
        "revocation is shared"
    );

    for _ in 0..RACE_ROUNDS {
        let first = family(&*a).await;
        let presented = first.token_hash;
        let results = race(RACE_WIDTH, |i| {
            let s = alternate(i, &a, &b);
            async move { rotate(&*s, presented, T0 + 5, GRACE).await.0 }
        })
        .await;
        assert_one_successor_and_retries(&results);
    }
}

fn assert_one_successor_and_retries(results: &[RotationOutcome]) -> TokenHash {
    let winners: Vec<&RefreshTokenRecord> = results
        .iter()
        .filter_map(|r| match r {
            RotationOutcome::Rotated { successor, .. } => Some(successor),
            _ => None,
        })
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one concurrent rotation must win: {results:?}"
    );
    let winner = winners[0].token_hash;
    for r in results {
        match r {
            RotationOutcome::Rotated { .. } => {}
            RotationOutcome::Retry { successor, .. } => {
                assert_eq!(
                    successor.token_hash, winner,
                    "every retry must return the winner's successor"
                );
            }
            other => panic!("within the grace window every loser must get Retry, got {other:?}"),
        }
    }
    winner
}

// seed-catalog-3b must-test 17 (first part)
async fn issued_family_is_active_and_round_trips<S: RefreshTokenStore>(store: &S) {
    let first = token(fresh_hash("rt"), T0, T0 + TTL);
    let family_id = FamilyId::new(unique("family"));
    let record = store
        .issue_family(family_id.clone(), T0 + FAMILY_TTL, first.clone())
        .await
        .unwrap();
    assert_eq!(record.token_hash, first.token_hash);
    assert_eq!(record.family_id, family_id);
    assert_eq!(record.generation, 0);
    assert_eq!(record.parent_hash, None);
    assert_eq!(record.family_expires_at, T0 + FAMILY_TTL);
    assert_eq!(
        record.grant, first.grant,
        "the grant must round-trip losslessly"
    );
    assert_eq!(
        store.get(first.token_hash, T0 + 1).await.unwrap(),
        RefreshLookup::Active(record)
    );
}

async fn duplicate_family_or_token_is_rejected<S: RefreshTokenStore>(store: &S) {
    let first = family(store).await;
    let same_token = token(first.token_hash, T0, T0 + TTL);
    let err = store
        .issue_family(FamilyId::new(unique("family")), T0 + FAMILY_TTL, same_token)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate),
        "duplicate token hash: {err:?}"
    );
    let err = store
        .issue_family(
            first.family_id.clone(),
            T0 + FAMILY_TTL,
            token(fresh_hash("rt"), T0, T0 + TTL),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate),
        "duplicate family id: {err:?}"
    );
    assert_eq!(
        store.get(first.token_hash, T0 + 1).await.unwrap(),
        RefreshLookup::Active(first)
    );
}

// seed-catalog-3b must-test 22 (an insert cannot smuggle in a rotated or revoked token:
// NewRefreshToken has no such state) and input validation
async fn invalid_tokens_are_rejected<S: RefreshTokenStore>(store: &S) {
    let cases: Vec<super::Mutation<NewRefreshToken>> = vec![
        ("empty client_id", |t| t.grant.client_id.clear()),
        ("empty subject", |t| t.grant.subject.clear()),
        ("empty scope token", |t| t.grant.scope.push(String::new())),
        ("empty thumbprint", |t| {
            t.grant.confirmation = Confirmation::dpop("")
        }),
        ("expires before issue", |t| t.expires_at = t.issued_at),
    ];
    for (what, mutate) in cases {
        let mut first = token(fresh_hash("rt-invalid"), T0, T0 + TTL);
        mutate(&mut first);
        let hash = first.token_hash;
        let err = store
            .issue_family(FamilyId::new(unique("family")), T0 + FAMILY_TTL, first)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid(_)),
            "{what}: expected Invalid, got {err:?}"
        );
        assert_eq!(
            store.get(hash, T0).await.unwrap(),
            RefreshLookup::NotFound,
            "{what}: nothing stored"
        );

        let parent = family(store).await;
        let mut next = token(fresh_hash("rt-invalid"), T0 + 1, T0 + TTL);
        mutate(&mut next);
        let err = store
            .rotate(parent.token_hash, next, None, T0 + 1, GRACE)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid(_)),
            "{what} (rotate): expected Invalid, got {err:?}"
        );
        assert!(
            is_active(&store.get(parent.token_hash, T0 + 2).await.unwrap()),
            "{what}: parent untouched"
        );
    }
    let err = store
        .issue_family(
            FamilyId::new(""),
            T0 + FAMILY_TTL,
            token(fresh_hash("rt"), T0, T0 + TTL),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(_)),
        "empty family id: {err:?}"
    );
    let err = store
        .issue_family(
            FamilyId::new(unique("family")),
            T0,
            token(fresh_hash("rt"), T0, T0 + TTL),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(_)),
        "family lifetime ending at issue: {err:?}"
    );
    let parent = family(store).await;
    let err = store
        .rotate(
            parent.token_hash,
            token(parent.token_hash, T0 + 1, T0 + TTL),
            None,
            T0 + 1,
            GRACE,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(_)),
        "a successor reusing the presented hash: {err:?}"
    );
}

// seed-catalog-3b must-test 17
async fn rotation_links_successor_into_family<S: RefreshTokenStore>(store: &S) {
    let first = family(store).await;
    let next = token(fresh_hash("rt-next"), T0 + 10, T0 + 10 + TTL);
    let outcome = store
        .rotate(
            first.token_hash,
            next.clone(),
            Some(sealed("s")),
            T0 + 10,
            GRACE,
        )
        .await
        .unwrap();
    let RotationOutcome::Rotated { parent, successor } = outcome else {
        panic!("expected Rotated, got {outcome:?}");
    };
    assert_eq!(
        parent, first,
        "the parent is reported as it stood before the claim"
    );
    assert_eq!(successor.token_hash, next.token_hash);
    assert_eq!(
        successor.family_id, first.family_id,
        "the successor joins the parent's family"
    );
    assert_eq!(successor.generation, 1);
    assert_eq!(successor.parent_hash, Some(first.token_hash));
    assert_eq!(
        successor.family_expires_at, first.family_expires_at,
        "the family lifetime is inherited"
    );
    assert_eq!(successor.expires_at, next.expires_at);
    assert_eq!(successor.grant, next.grant);
    assert_eq!(
        store.get(first.token_hash, T0 + 11).await.unwrap(),
        RefreshLookup::Rotated(first.clone())
    );
    assert_eq!(
        store.get(next.token_hash, T0 + 11).await.unwrap(),
        RefreshLookup::Active(successor.clone())
    );

    let (outcome, _, _) = rotate(store, next.token_hash, T0 + 20, GRACE).await;
    let RotationOutcome::Rotated {
        successor: third, ..
    } = outcome
    else {
        panic!("the successor must rotate in turn, got {outcome:?}");
    };
    assert_eq!(third.generation, 2);
    assert_eq!(third.family_id, first.family_id);
}

async fn unknown_token_is_not_found<S: RefreshTokenStore>(store: &S) {
    let hash = fresh_hash("rt-unknown");
    assert_eq!(store.get(hash, T0).await.unwrap(), RefreshLookup::NotFound);
    assert_eq!(
        rotate(store, hash, T0, GRACE).await.0,
        RotationOutcome::NotFound
    );
    assert_eq!(store.revoke_by_token(hash, T0).await.unwrap(), None);
}

async fn failed_successor_insert_leaves_token_unrotated<S: RefreshTokenStore>(store: &S) {
    let other = family(store).await;
    let first = family(store).await;
    let clash = token(other.token_hash, T0 + 1, T0 + TTL);
    let err = store
        .rotate(first.token_hash, clash, Some(sealed("s")), T0 + 1, GRACE)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate),
        "a successor hash that exists must be Duplicate: {err:?}"
    );
    assert_eq!(
        store.get(first.token_hash, T0 + 2).await.unwrap(),
        RefreshLookup::Active(first.clone()),
        "rotation is all or nothing"
    );
    assert_eq!(
        store.get(other.token_hash, T0 + 2).await.unwrap(),
        RefreshLookup::Active(other)
    );
    assert!(matches!(
        rotate(store, first.token_hash, T0 + 3, GRACE).await.0,
        RotationOutcome::Rotated { .. }
    ));
}

// seed-catalog-3b must-test 24 (store level: +10 s → same successor)
async fn retry_within_grace_returns_same_successor<S: RefreshTokenStore>(store: &S) {
    let first = family(store).await;
    let (outcome, next, seal) = rotate(store, first.token_hash, T0 + 100, GRACE).await;
    assert!(matches!(outcome, RotationOutcome::Rotated { .. }));
    for delay in [0, 10] {
        let (retry, discarded, _) = rotate(store, first.token_hash, T0 + 100 + delay, GRACE).await;
        let RotationOutcome::Retry {
            parent,
            successor,
            sealed,
        } = retry
        else {
            panic!("a retry {delay} s after rotation must be Retry, got {retry:?}");
        };
        assert_eq!(parent.token_hash, first.token_hash);
        assert_eq!(
            successor.token_hash, next,
            "the retry must return the same successor"
        );
        assert_eq!(
            sealed, seal,
            "the retry must return the winner's sealed successor"
        );
        assert_eq!(
            store.get(discarded, T0 + 111).await.unwrap(),
            RefreshLookup::NotFound,
            "a retrying caller's own successor is discarded"
        );
    }
    assert!(
        is_active(&store.get(next, T0 + 111).await.unwrap()),
        "a retry must not revoke the family"
    );
}

async fn grace_window_is_exclusive_at_its_end<S: RefreshTokenStore>(store: &S) {
    let first = family(store).await;
    let (outcome, next, _) = rotate(store, first.token_hash, T0 + 100, GRACE).await;
    assert!(matches!(outcome, RotationOutcome::Rotated { .. }));
    let last = T0 + 100 + i64::from(GRACE) - 1;
    assert!(matches!(
        rotate(store, first.token_hash, last, GRACE).await.0,
        RotationOutcome::Retry { .. }
    ));
    let end = T0 + 100 + i64::from(GRACE);
    assert!(
        matches!(
            rotate(store, first.token_hash, end, GRACE).await.0,
            RotationOutcome::ReuseDetected { .. }
        ),
        "at rotated_at + grace the window is closed"
    );
    assert!(matches!(
        store.get(next, end).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
}

// seed-catalog-3b must-test 24 (+61 s → revoked) and 19
async fn reuse_after_grace_revokes_family_sticky<S: RefreshTokenStore>(store: &S) {
    let first = family(store).await;
    let (_, next, _) = rotate(store, first.token_hash, T0 + 100, GRACE).await;
    let (outcome, discarded, _) = rotate(store, first.token_hash, T0 + 161, GRACE).await;
    let RotationOutcome::ReuseDetected { presented } = outcome else {
        panic!("reuse after the grace window must be ReuseDetected, got {outcome:?}");
    };
    assert_eq!(
        presented.family_id, first.family_id,
        "the outcome names the family to report"
    );
    assert_eq!(
        store.get(discarded, T0 + 162).await.unwrap(),
        RefreshLookup::NotFound
    );
    assert!(
        matches!(
            store.get(next, T0 + 162).await.unwrap(),
            RefreshLookup::Revoked(_)
        ),
        "the successor is revoked"
    );
    assert!(matches!(
        store.get(first.token_hash, T0 + 162).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
    // Sticky: nothing in the family ever rotates again.
    assert!(matches!(
        rotate(store, next, T0 + 163, GRACE).await.0,
        RotationOutcome::Revoked(_)
    ));
    assert!(matches!(
        rotate(store, first.token_hash, T0 + 164, GRACE).await.0,
        RotationOutcome::Revoked(_)
    ));
    assert!(matches!(
        store.get(next, T0 + 165).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
}

// seed-catalog-3b must-test 24 (grace = 0)
async fn strict_mode_revokes_on_any_reuse<S: RefreshTokenStore>(store: &S) {
    let first = family(store).await;
    let (_, next, _) = rotate(store, first.token_hash, T0 + 100, 0).await;
    assert!(matches!(
        rotate(store, first.token_hash, T0 + 100, 0).await.0,
        RotationOutcome::ReuseDetected { .. }
    ));
    assert!(matches!(
        store.get(next, T0 + 101).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
}

async fn retry_after_successor_was_used_is_reuse<S: RefreshTokenStore>(store: &S) {
    let first = family(store).await;
    let (_, next, _) = rotate(store, first.token_hash, T0 + 100, GRACE).await;
    let (outcome, third, _) = rotate(store, next, T0 + 101, GRACE).await;
    assert!(matches!(outcome, RotationOutcome::Rotated { .. }));
    assert!(
        matches!(
            rotate(store, first.token_hash, T0 + 102, GRACE).await.0,
            RotationOutcome::ReuseDetected { .. }
        ),
        "once the successor was used, the client demonstrably received it: re-presenting the parent is reuse"
    );
    assert!(matches!(
        store.get(third, T0 + 103).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
}

async fn retry_without_sealed_successor_is_reuse<S: RefreshTokenStore>(store: &S) {
    let first = family(store).await;
    let next = token(fresh_hash("rt-next"), T0 + 100, T0 + 100 + TTL);
    let outcome = store
        .rotate(first.token_hash, next.clone(), None, T0 + 100, GRACE)
        .await
        .unwrap();
    assert!(matches!(outcome, RotationOutcome::Rotated { .. }));
    assert!(
        matches!(
            rotate(store, first.token_hash, T0 + 101, GRACE).await.0,
            RotationOutcome::ReuseDetected { .. }
        ),
        "without a sealed successor a retry cannot be answered and fails closed"
    );
    assert!(matches!(
        store.get(next.token_hash, T0 + 102).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
}

// seed-catalog-3b must-test 26 (store level) and 36
async fn expired_token_is_refused_without_being_consumed<S: RefreshTokenStore>(store: &S) {
    let first = family(store).await;
    let at_expiry = first.expires_at;
    assert_eq!(
        store.get(first.token_hash, at_expiry).await.unwrap(),
        RefreshLookup::Expired(first.clone())
    );
    assert_eq!(
        rotate(store, first.token_hash, at_expiry, GRACE).await.0,
        RotationOutcome::Expired
    );
    assert_eq!(
        rotate(store, first.token_hash, at_expiry + 1, GRACE)
            .await
            .0,
        RotationOutcome::Expired
    );
    assert_eq!(
        store.get(first.token_hash, at_expiry - 1).await.unwrap(),
        RefreshLookup::Active(first.clone()),
        "a refused expired token must stay unrotated"
    );
    assert!(matches!(
        rotate(store, first.token_hash, at_expiry - 1, GRACE)
            .await
            .0,
        RotationOutcome::Rotated { .. }
    ));
}

async fn family_lifetime_bounds_every_generation<S: RefreshTokenStore>(store: &S) {
    let family_end = T0 + 1000;
    let first = store
        .issue_family(
            FamilyId::new(unique("family")),
            family_end,
            token(fresh_hash("rt"), T0, T0 + TTL),
        )
        .await
        .unwrap();
    assert_eq!(first.effective_expires_at(), family_end);
    let (outcome, next, _) = rotate(store, first.token_hash, T0 + 10, GRACE).await;
    let RotationOutcome::Rotated { successor, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        successor.effective_expires_at(),
        family_end,
        "a successor never outlives its family"
    );
    assert!(matches!(
        store.get(next, family_end).await.unwrap(),
        RefreshLookup::Expired(_)
    ));
    assert_eq!(
        rotate(store, next, family_end, GRACE).await.0,
        RotationOutcome::Expired
    );
    // A rotated token of an expired family is just expired: nothing left to revoke.
    assert!(matches!(
        store.get(first.token_hash, family_end).await.unwrap(),
        RefreshLookup::Expired(_)
    ));
    assert_eq!(
        rotate(store, first.token_hash, family_end, GRACE).await.0,
        RotationOutcome::Expired
    );
    assert!(
        is_active(&store.get(next, family_end - 1).await.unwrap()),
        "no revocation happened"
    );
}

// seed-catalog-3b must-test 19 and 20
async fn revoke_family_is_idempotent_and_sticky<S: RefreshTokenStore>(store: &S) {
    store
        .revoke_family(FamilyId::new(unique("no-such-family")), T0)
        .await
        .unwrap();
    let first = family(store).await;
    let (_, next, _) = rotate(store, first.token_hash, T0 + 1, GRACE).await;
    store
        .revoke_family(first.family_id.clone(), T0 + 2)
        .await
        .unwrap();
    store
        .revoke_family(first.family_id.clone(), T0 + 3)
        .await
        .unwrap();
    assert!(matches!(
        store.get(first.token_hash, T0 + 4).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
    assert!(matches!(
        store.get(next, T0 + 4).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
    assert!(matches!(
        rotate(store, next, T0 + 5, GRACE).await.0,
        RotationOutcome::Revoked(_)
    ));
    assert!(matches!(
        rotate(store, first.token_hash, T0 + 5, GRACE).await.0,
        RotationOutcome::Revoked(_)
    ));
    let err = store
        .issue_family(
            first.family_id.clone(),
            T0 + FAMILY_TTL,
            token(fresh_hash("rt"), T0 + 6, T0 + TTL),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate),
        "a revoked family cannot be restarted: {err:?}"
    );
}

async fn revoke_by_token_revokes_its_family<S: RefreshTokenStore>(store: &S) {
    let first = family(store).await;
    let (_, next, _) = rotate(store, first.token_hash, T0 + 1, GRACE).await;
    let bystander = family(store).await;
    assert_eq!(
        store
            .revoke_by_token(first.token_hash, T0 + 2)
            .await
            .unwrap(),
        Some(first.family_id.clone())
    );
    assert!(matches!(
        store.get(next, T0 + 3).await.unwrap(),
        RefreshLookup::Revoked(_)
    ));
    assert!(
        is_active(&store.get(bystander.token_hash, T0 + 3).await.unwrap()),
        "other families are untouched"
    );
}

// seed-catalog-3b must-test 18 and 24
async fn concurrent_rotations_yield_one_successor<S: RefreshTokenStore>(store: &Arc<S>) {
    for _ in 0..RACE_ROUNDS {
        let first = family(&**store).await;
        let presented = first.token_hash;
        let results = race(RACE_WIDTH, |_| {
            let s = Arc::clone(store);
            async move { rotate(&*s, presented, T0 + 5, GRACE).await.0 }
        })
        .await;
        let winner = assert_one_successor_and_retries(&results);
        assert!(
            is_active(&store.get(winner, T0 + 6).await.unwrap()),
            "retries must not revoke the family"
        );
    }
}

// seed-catalog-3b must-test 18 (strict mode)
async fn concurrent_strict_rotations_revoke_family<S: RefreshTokenStore>(store: &Arc<S>) {
    for _ in 0..RACE_ROUNDS {
        let first = family(&**store).await;
        let presented = first.token_hash;
        let results = race(RACE_WIDTH, |_| {
            let s = Arc::clone(store);
            async move { rotate(&*s, presented, T0 + 5, 0).await.0 }
        })
        .await;
        let winners: Vec<TokenHash> = results
            .iter()
            .filter_map(|r| match r {
                RotationOutcome::Rotated { successor, .. } => Some(successor.token_hash),
                _ => None,
            })
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "exactly one strict rotation must win: {results:?}"
        );
        let detected = results
            .iter()
            .filter(|r| matches!(r, RotationOutcome::ReuseDetected { .. }))
            .count();
        assert!(
            detected >= 1,
            "a strict-mode loser must detect reuse: {results:?}"
        );
        assert!(
            results.iter().all(|r| matches!(
                r,
                RotationOutcome::Rotated { .. }
                    | RotationOutcome::ReuseDetected { .. }
                    | RotationOutcome::Revoked(_)
            )),
            "strict-mode losers see ReuseDetected or Revoked: {results:?}"
        );
        assert!(matches!(
            store.get(winners[0], T0 + 6).await.unwrap(),
            RefreshLookup::Revoked(_)
        ));
    }
}

// seed-catalog-3b must-test 21 (the phantom race: rotation ‖ revocation)
async fn rotation_racing_revocation_leaves_nothing_live<S: RefreshTokenStore>(store: &Arc<S>) {
    for _ in 0..(RACE_ROUNDS * 16) {
        let first = family(&**store).await;
        let next = fresh_hash("rt-phantom");
        let presented = first.token_hash;
        let family_id = first.family_id.clone();
        let results = race(2, |i| {
            let s = Arc::clone(store);
            let family_id = family_id.clone();
            async move {
                if i == 0 {
                    let t = token(next, T0 + 5, T0 + TTL);
                    Some(
                        s.rotate(presented, t, Some(sealed("s")), T0 + 5, GRACE)
                            .await
                            .unwrap(),
                    )
                } else {
                    s.revoke_family(family_id, T0 + 5).await.unwrap();
                    None
                }
            }
        })
        .await;
        let rotated = results.iter().flatten().next().cloned();
        assert!(
            matches!(
                rotated,
                Some(RotationOutcome::Rotated { .. } | RotationOutcome::Revoked(_))
            ),
            "a rotation racing a revocation either wins or sees it: {rotated:?}"
        );
        for hash in [presented, next] {
            let state = store.get(hash, T0 + 6).await.unwrap();
            assert!(
                matches!(state, RefreshLookup::Revoked(_) | RefreshLookup::NotFound),
                "no token of a revoked family may stay live: {state:?}"
            );
        }
    }
}

// seed-catalog-3b must-test 31 and 33 (this table)
async fn sweep_deletes_only_expired_tokens_in_batches<S: RefreshTokenStore>(store: &S) {
    let issue = |expires_at: UnixTime| async move {
        let first = token(fresh_hash("rt-sweep"), SWEEP_T - 100, expires_at);
        store
            .issue_family(
                FamilyId::new(unique("family-sweep")),
                SWEEP_T + FAMILY_TTL,
                first,
            )
            .await
            .unwrap()
            .token_hash
    };
    let mut expired = Vec::new();
    for _ in 0..2 {
        expired.push(issue(SWEEP_T - 1).await);
    }
    // A token whose own expiry is later but whose family ended: swept too.
    let family_ended = store
        .issue_family(
            FamilyId::new(unique("family-sweep")),
            SWEEP_T - 1,
            token(fresh_hash("rt-sweep"), SWEEP_T - 100, SWEEP_T + TTL),
        )
        .await
        .unwrap();
    expired.push(family_ended.token_hash);
    let boundary = issue(SWEEP_T).await;
    let future = issue(SWEEP_T + 1).await;

    assert_eq!(
        store.sweep_expired(SWEEP_T, batch(2)).await.unwrap(),
        2,
        "a sweep deletes at most `batch` rows"
    );
    assert_eq!(store.sweep_expired(SWEEP_T, batch(2)).await.unwrap(), 1);
    assert_eq!(store.sweep_expired(SWEEP_T, batch(2)).await.unwrap(), 0);
    for hash in expired {
        assert_eq!(
            store.get(hash, SWEEP_T - 50).await.unwrap(),
            RefreshLookup::NotFound,
            "expired rows are swept"
        );
    }
    assert!(
        is_active(&store.get(boundary, SWEEP_T - 50).await.unwrap()),
        "expires_at == now is kept"
    );
    assert!(
        is_active(&store.get(future, SWEEP_T - 50).await.unwrap()),
        "future rows are kept"
    );
}
