//! Conformance checks for [`DpopNonceStore`] and [`ReplayStore`].

use std::sync::Arc;

use super::{RACE_ROUNDS, RACE_WIDTH, SWEEP_T, T0, alternate, batch, fresh_hash, race};
use crate::clock::UnixTime;
use crate::store::{
    DpopNonceRecord, DpopNonceStore, NonceOutcome, ReplayNamespace, ReplayOutcome, ReplayStore,
    StoreError, TokenHash,
};

fn nonce(issued_at: UnixTime, expires_at: UnixTime) -> DpopNonceRecord {
    DpopNonceRecord {
        nonce_hash: fresh_hash("nonce"),
        issued_at,
        expires_at,
    }
}

/// The whole [`DpopNonceStore`] contract on one store (seed-catalog-3b
/// must-test 10–14, 16, 36).
pub async fn dpop_nonces<S: DpopNonceStore>(store: Arc<S>) {
    // must-test 10 and 11
    let n = nonce(T0, T0 + 60);
    store.issue(n.clone()).await.unwrap();
    assert!(
        store.is_valid(n.nonce_hash, T0 + 1).await.unwrap(),
        "an issued nonce is valid"
    );
    assert!(
        store.is_valid(n.nonce_hash, T0 + 1).await.unwrap(),
        "is_valid must not consume"
    );
    assert_eq!(
        store.accept(n.nonce_hash, T0 + 1).await.unwrap(),
        NonceOutcome::Accepted
    );
    assert_eq!(
        store.accept(n.nonce_hash, T0 + 2).await.unwrap(),
        NonceOutcome::Used,
        "a nonce is single use"
    );
    assert!(
        !store.is_valid(n.nonce_hash, T0 + 2).await.unwrap(),
        "a used nonce is not valid"
    );
    // Used wins over Expired.
    assert_eq!(
        store.accept(n.nonce_hash, T0 + 600).await.unwrap(),
        NonceOutcome::Used
    );

    // must-test 12
    assert_eq!(
        store.accept(fresh_hash("never-issued"), T0).await.unwrap(),
        NonceOutcome::Unknown
    );
    assert!(
        !store
            .is_valid(fresh_hash("never-issued"), T0)
            .await
            .unwrap()
    );

    // must-test 13 (attesto's single boundary rule: live while now < expires_at)
    let n = nonce(T0, T0 + 60);
    store.issue(n.clone()).await.unwrap();
    assert!(
        !store.is_valid(n.nonce_hash, T0 + 60).await.unwrap(),
        "now == expires_at is expired"
    );
    assert_eq!(
        store.accept(n.nonce_hash, T0 + 60).await.unwrap(),
        NonceOutcome::Expired
    );
    assert_eq!(
        store.accept(n.nonce_hash, T0 + 61).await.unwrap(),
        NonceOutcome::Expired
    );
    assert_eq!(
        store.accept(n.nonce_hash, T0 + 59).await.unwrap(),
        NonceOutcome::Accepted,
        "an expired presentation consumes nothing"
    );

    // must-test 16
    let n = nonce(T0, T0 + 60);
    store.issue(n.clone()).await.unwrap();
    let err = store
        .issue(DpopNonceRecord {
            expires_at: T0 + 600,
            ..n.clone()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate),
        "a colliding nonce is Duplicate (mint another): {err:?}"
    );
    assert!(
        !store.is_valid(n.nonce_hash, T0 + 60).await.unwrap(),
        "the duplicate did not overwrite the expiry"
    );
    let bad = nonce(T0, T0);
    assert!(matches!(
        store.issue(bad.clone()).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
    assert_eq!(
        store.accept(bad.nonce_hash, T0 - 1).await.unwrap(),
        NonceOutcome::Unknown
    );

    // must-test 14
    for _ in 0..RACE_ROUNDS {
        let n = nonce(T0, T0 + 60);
        store.issue(n.clone()).await.unwrap();
        let hash = n.nonce_hash;
        let results = race(RACE_WIDTH, |_| {
            let s = Arc::clone(&store);
            async move { s.accept(hash, T0 + 1).await.unwrap() }
        })
        .await;
        assert_single_accept(&results);
    }

    // must-test 31 and 33 (this table)
    let expired: Vec<DpopNonceRecord> = (0..3).map(|_| nonce(SWEEP_T - 100, SWEEP_T - 1)).collect();
    for n in &expired {
        store.issue(n.clone()).await.unwrap();
    }
    let boundary = nonce(SWEEP_T - 100, SWEEP_T);
    let future = nonce(SWEEP_T - 100, SWEEP_T + 1);
    store.issue(boundary.clone()).await.unwrap();
    store.issue(future.clone()).await.unwrap();
    assert_sweeps_3_in_batches_of_2(|b| store.sweep_expired(SWEEP_T, b)).await;
    for n in expired {
        assert_eq!(
            store.accept(n.nonce_hash, SWEEP_T - 50).await.unwrap(),
            NonceOutcome::Unknown,
            "swept"
        );
    }
    assert!(
        store
            .is_valid(boundary.nonce_hash, SWEEP_T - 50)
            .await
            .unwrap(),
        "expires_at == now is kept"
    );
    assert!(
        store
            .is_valid(future.nonce_hash, SWEEP_T - 50)
            .await
            .unwrap(),
        "future rows are kept"
    );
}

fn assert_single_accept(results: &[NonceOutcome]) {
    let accepted = results
        .iter()
        .filter(|r| **r == NonceOutcome::Accepted)
        .count();
    assert_eq!(
        accepted, 1,
        "exactly one concurrent accept must win: {results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, NonceOutcome::Accepted | NonceOutcome::Used)),
        "every loser sees Used: {results:?}"
    );
}

pub(crate) async fn assert_sweeps_3_in_batches_of_2<F, Fut>(sweep: F)
where
    F: Fn(std::num::NonZeroU32) -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    assert_eq!(
        sweep(batch(2)).await.unwrap(),
        2,
        "a sweep deletes at most `batch` rows"
    );
    assert_eq!(
        sweep(batch(2)).await.unwrap(),
        1,
        "the next sweep deletes the rest"
    );
    assert_eq!(
        sweep(batch(2)).await.unwrap(),
        0,
        "boundary (expires_at == now) and future rows are kept"
    );
}

/// Cross-node checks: a nonce issued on `a` is honoured on `b`, once.
/// (seed-catalog-3b must-test 15)
pub async fn dpop_nonces_shared<S: DpopNonceStore>(a: Arc<S>, b: Arc<S>) {
    let n = nonce(T0, T0 + 60);
    a.issue(n.clone()).await.unwrap();
    assert!(b.is_valid(n.nonce_hash, T0 + 1).await.unwrap());
    assert_eq!(
        b.accept(n.nonce_hash, T0 + 1).await.unwrap(),
        NonceOutcome::Accepted
    );
    assert_eq!(
        a.accept(n.nonce_hash, T0 + 2).await.unwrap(),
        NonceOutcome::Used
    );
    for _ in 0..RACE_ROUNDS {
        let n = nonce(T0, T0 + 60);
        a.issue(n.clone()).await.unwrap();
        let hash = n.nonce_hash;
        let results = race(RACE_WIDTH, |i| {
            let s = alternate(i, &a, &b);
            async move { s.accept(hash, T0 + 1).await.unwrap() }
        })
        .await;
        assert_single_accept(&results);
    }
}

fn key() -> TokenHash {
    fresh_hash("jti")
}

/// The whole [`ReplayStore`] contract on one store (seed-catalog-3b must-test
/// 27, 29, 31, 33).
pub async fn replay<S: ReplayStore>(store: Arc<S>) {
    let ns = ReplayNamespace::DpopProof;
    // must-test 27
    let j1 = key();
    assert_eq!(
        store.check_and_record(ns, j1, T0 + 60, T0).await.unwrap(),
        ReplayOutcome::Fresh
    );
    assert_eq!(
        store
            .check_and_record(ns, j1, T0 + 60, T0 + 1)
            .await
            .unwrap(),
        ReplayOutcome::Replayed
    );
    assert_eq!(
        store
            .check_and_record(ns, j1, T0 + 120, T0 + 59)
            .await
            .unwrap(),
        ReplayOutcome::Replayed,
        "a later expiry does not reset a recorded key"
    );
    // Namespaces are independent.
    assert_eq!(
        store
            .check_and_record(ReplayNamespace::ClientAssertion, j1, T0 + 60, T0)
            .await
            .unwrap(),
        ReplayOutcome::Fresh,
        "the same key in another namespace is a different entry"
    );
    assert_eq!(
        store
            .check_and_record(ReplayNamespace::JwtBearerGrant, j1, T0 + 60, T0)
            .await
            .unwrap(),
        ReplayOutcome::Fresh
    );
    // must-test 29: an expired but unswept entry still collides (fail closed).
    let j4 = key();
    assert_eq!(
        store.check_and_record(ns, j4, T0 + 60, T0).await.unwrap(),
        ReplayOutcome::Fresh
    );
    assert_eq!(
        store
            .check_and_record(ns, j4, T0 + 1000, T0 + 500)
            .await
            .unwrap(),
        ReplayOutcome::Replayed,
        "an expired entry is never overwritten"
    );
    // A window that has already closed is refused.
    let late = key();
    let err = store.check_and_record(ns, late, T0, T0).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(_)),
        "expires_at <= now: {err:?}"
    );
    assert_eq!(
        store.check_and_record(ns, late, T0 + 60, T0).await.unwrap(),
        ReplayOutcome::Fresh,
        "nothing was recorded"
    );

    // must-test 27 (race)
    for _ in 0..RACE_ROUNDS {
        let j2 = key();
        let results = race(RACE_WIDTH, |_| {
            let s = Arc::clone(&store);
            async move { s.check_and_record(ns, j2, T0 + 60, T0).await.unwrap() }
        })
        .await;
        assert_single_fresh(&results);
    }

    // must-test 31 and 33 (this table)
    let expired: Vec<TokenHash> = (0..3).map(|_| key()).collect();
    for &k in &expired {
        assert_eq!(
            store
                .check_and_record(ns, k, SWEEP_T - 1, SWEEP_T - 100)
                .await
                .unwrap(),
            ReplayOutcome::Fresh
        );
    }
    let boundary = key();
    let future = key();
    store
        .check_and_record(ns, boundary, SWEEP_T, SWEEP_T - 100)
        .await
        .unwrap();
    store
        .check_and_record(ns, future, SWEEP_T + 1, SWEEP_T - 100)
        .await
        .unwrap();
    assert_sweeps_3_in_batches_of_2(|b| store.sweep_expired(SWEEP_T, b)).await;
    for k in expired {
        assert_eq!(
            store
                .check_and_record(ns, k, SWEEP_T + 60, SWEEP_T)
                .await
                .unwrap(),
            ReplayOutcome::Fresh,
            "a swept key is free again"
        );
    }
    for k in [boundary, future] {
        assert_eq!(
            store
                .check_and_record(ns, k, SWEEP_T + 60, SWEEP_T)
                .await
                .unwrap(),
            ReplayOutcome::Replayed,
            "kept"
        );
    }
}

fn assert_single_fresh(results: &[ReplayOutcome]) {
    let fresh = results
        .iter()
        .filter(|r| **r == ReplayOutcome::Fresh)
        .count();
    assert_eq!(
        fresh, 1,
        "exactly one concurrent check may be Fresh: {results:?}"
    );
}

/// Cross-node checks: a key recorded on `a` is a replay on `b`
/// (seed-catalog-3b must-test 28), and a race across both has one Fresh.
pub async fn replay_shared<S: ReplayStore>(a: Arc<S>, b: Arc<S>) {
    let ns = ReplayNamespace::ClientAssertion;
    let j3 = key();
    assert_eq!(
        a.check_and_record(ns, j3, T0 + 60, T0).await.unwrap(),
        ReplayOutcome::Fresh
    );
    assert_eq!(
        b.check_and_record(ns, j3, T0 + 60, T0).await.unwrap(),
        ReplayOutcome::Replayed
    );
    for _ in 0..RACE_ROUNDS {
        let j = key();
        let results = race(RACE_WIDTH, |i| {
            let s = alternate(i, &a, &b);
            async move { s.check_and_record(ns, j, T0 + 60, T0).await.unwrap() }
        })
        .await;
        assert_single_fresh(&results);
    }
}
