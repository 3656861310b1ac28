//! Conformance checks for [`ConsentGrantStore`].

use std::sync::Arc;

use super::dpop::assert_sweeps_3_in_batches_of_2;
use super::{RACE_ROUNDS, RACE_WIDTH, SWEEP_T, T0, alternate, fresh_hash, race, unique};
use crate::clock::UnixTime;
use crate::store::{ConsentGrantRecord, ConsentGrantStore, ConsentOutcome, StoreError};

fn grant(issued_at: UnixTime, expires_at: UnixTime) -> ConsentGrantRecord {
    ConsentGrantRecord {
        token_hash: fresh_hash("consent"),
        binding_hash: fresh_hash("binding"),
        subject: unique("user"),
        issued_at,
        expires_at,
    }
}

fn is_consumed(outcome: &ConsentOutcome) -> bool {
    matches!(outcome, ConsentOutcome::Consumed(_))
}

/// The whole [`ConsentGrantStore`] contract on one store (seed-catalog-2
/// must-test 110–114, 116; seed-catalog-3b must-test 33, 36).
pub async fn consent_grants<S: ConsentGrantStore>(store: Arc<S>) {
    // must-test 110 and 111
    let g = grant(T0, T0 + 60);
    store.mint(g.clone()).await.unwrap();
    let other = fresh_hash("other-binding");
    assert_eq!(
        store.consume(g.token_hash, other, T0 + 1).await.unwrap(),
        ConsentOutcome::BindingMismatch
    );
    assert_eq!(
        store
            .consume(g.token_hash, g.binding_hash, T0 + 2)
            .await
            .unwrap(),
        ConsentOutcome::Consumed(g.clone()),
        "a binding mismatch must not spend the grant"
    );
    assert_eq!(
        store
            .consume(g.token_hash, g.binding_hash, T0 + 3)
            .await
            .unwrap(),
        ConsentOutcome::AlreadyConsumed
    );
    assert_eq!(
        store.consume(g.token_hash, other, T0 + 3).await.unwrap(),
        ConsentOutcome::BindingMismatch,
        "precedence: binding_mismatch before consumed"
    );
    // must-test 113
    assert_eq!(
        store
            .consume(fresh_hash("consent-unknown"), g.binding_hash, T0)
            .await
            .unwrap(),
        ConsentOutcome::NotFound
    );
    // must-test 112
    let g = grant(T0, T0 + 1);
    store.mint(g.clone()).await.unwrap();
    assert_eq!(
        store
            .consume(g.token_hash, g.binding_hash, T0 + 2)
            .await
            .unwrap(),
        ConsentOutcome::Expired
    );
    assert_eq!(
        store
            .consume(g.token_hash, g.binding_hash, T0 + 1)
            .await
            .unwrap(),
        ConsentOutcome::Expired,
        "boundary"
    );
    assert!(
        is_consumed(
            &store
                .consume(g.token_hash, g.binding_hash, T0)
                .await
                .unwrap()
        ),
        "expired attempts spend nothing"
    );
    // Duplicates and invalid input (must-test 116: expiry is mandatory and must follow issuance).
    let g = grant(T0, T0 + 60);
    store.mint(g.clone()).await.unwrap();
    let err = store
        .mint(ConsentGrantRecord {
            binding_hash: fresh_hash("b"),
            ..g.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate), "{err:?}");
    assert!(
        is_consumed(
            &store
                .consume(g.token_hash, g.binding_hash, T0)
                .await
                .unwrap()
        ),
        "the original is kept"
    );
    let bad = grant(T0, T0);
    assert!(matches!(
        store.mint(bad.clone()).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
    assert!(matches!(
        store
            .mint(ConsentGrantRecord {
                subject: String::new(),
                ..grant(T0, T0 + 60)
            })
            .await
            .unwrap_err(),
        StoreError::Invalid(_)
    ));
    assert_eq!(
        store
            .consume(bad.token_hash, bad.binding_hash, T0 - 1)
            .await
            .unwrap(),
        ConsentOutcome::NotFound
    );

    // must-test 114
    for _ in 0..RACE_ROUNDS {
        let g = grant(T0, T0 + 60);
        store.mint(g.clone()).await.unwrap();
        let results = race(RACE_WIDTH, |_| {
            let s = Arc::clone(&store);
            let g = g.clone();
            async move {
                s.consume(g.token_hash, g.binding_hash, T0 + 1)
                    .await
                    .unwrap()
            }
        })
        .await;
        assert_single_consume(&results);
    }

    // seed-catalog-3b must-test 31 and 33 (this table)
    let expired: Vec<ConsentGrantRecord> =
        (0..3).map(|_| grant(SWEEP_T - 100, SWEEP_T - 1)).collect();
    for g in &expired {
        store.mint(g.clone()).await.unwrap();
    }
    let boundary = grant(SWEEP_T - 100, SWEEP_T);
    let future = grant(SWEEP_T - 100, SWEEP_T + 1);
    store.mint(boundary.clone()).await.unwrap();
    store.mint(future.clone()).await.unwrap();
    assert_sweeps_3_in_batches_of_2(|b| store.sweep_expired(SWEEP_T, b)).await;
    for g in expired {
        assert_eq!(
            store
                .consume(g.token_hash, g.binding_hash, SWEEP_T - 50)
                .await
                .unwrap(),
            ConsentOutcome::NotFound
        );
    }
    for g in [boundary, future] {
        assert!(
            is_consumed(
                &store
                    .consume(g.token_hash, g.binding_hash, SWEEP_T - 50)
                    .await
                    .unwrap()
            ),
            "kept"
        );
    }
}

fn assert_single_consume(results: &[ConsentOutcome]) {
    assert_eq!(
        results.iter().filter(|r| is_consumed(r)).count(),
        1,
        "exactly one consume wins: {results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| is_consumed(r) || *r == ConsentOutcome::AlreadyConsumed),
        "losers see AlreadyConsumed: {results:?}"
    );
}

/// Cross-node checks: a grant minted on `a` is consumed once across both nodes.
pub async fn consent_grants_shared<S: ConsentGrantStore>(a: Arc<S>, b: Arc<S>) {
    for _ in 0..RACE_ROUNDS {
        let g = grant(T0, T0 + 60);
        a.mint(g.clone()).await.unwrap();
        let results = race(RACE_WIDTH, |i| {
            let s = alternate(i, &a, &b);
            let g = g.clone();
            async move {
                s.consume(g.token_hash, g.binding_hash, T0 + 1)
                    .await
                    .unwrap()
            }
        })
        .await;
        assert_single_consume(&results);
    }
}
