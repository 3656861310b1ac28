//! Conformance checks for [`ParStore`].

use std::sync::Arc;

use super::{RACE_ROUNDS, RACE_WIDTH, SWEEP_T, T0, alternate, batch, fresh_hash, race, unique};
use crate::clock::UnixTime;
use crate::store::{ParOutcome, ParStore, PushedRequest, StoreError, TokenHash};

fn request(
    request_uri_hash: TokenHash,
    issued_at: UnixTime,
    expires_at: UnixTime,
) -> PushedRequest {
    let params = serde_json::json!({
        "response_type": "code",
        "redirect_uri": "https://rp.example/cb",
        "scope": "openid profile",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "resource": ["https://a.example/", "https://b.example/"],
        "claims": {"id_token": {"acr": {"essential": true, "values": ["x"]}}},
        "dpop_jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
    });
    let params = serde_json::from_value(params).unwrap();
    PushedRequest {
        request_uri_hash,
        client_id: unique("client"),
        params,
        issued_at,
        expires_at,
    }
}

fn is_found(outcome: &ParOutcome) -> bool {
    matches!(outcome, ParOutcome::Found(_))
}

/// The whole [`ParStore`] contract on one store (seed-catalog-3b must-test 65,
/// 66, 36; seed-catalog-2 §28.4).
pub async fn par<S: ParStore>(store: Arc<S>) {
    duplicate_request_uri_is_rejected(&*store).await;
    invalid_requests_are_rejected(&*store).await;
    fetch_is_repeatable_and_take_is_single_use(&*store).await;
    request_uri_is_bound_to_its_client(&*store).await;
    expired_request_is_never_returned(&*store).await;
    concurrent_takes_have_one_winner(&store).await;
    sweep_deletes_only_expired_requests_in_batches(&*store).await;
}

/// Cross-node checks: a request pushed to `a` resolves and is taken on `b`
/// exactly once.
pub async fn par_shared<S: ParStore>(a: Arc<S>, b: Arc<S>) {
    let hash = fresh_hash("par-shared");
    let pushed = request(hash, T0, T0 + 60);
    a.insert(pushed.clone()).await.unwrap();
    assert_eq!(
        b.fetch(hash, &pushed.client_id, T0 + 1).await.unwrap(),
        ParOutcome::Found(pushed.clone())
    );
    for _ in 0..RACE_ROUNDS {
        let hash = fresh_hash("par-shared-race");
        let pushed = request(hash, T0, T0 + 60);
        let client = pushed.client_id.clone();
        a.insert(pushed).await.unwrap();
        let results = race(RACE_WIDTH, |i| {
            let s = alternate(i, &a, &b);
            let client = client.clone();
            async move { s.take(hash, &client, T0 + 1).await.unwrap() }
        })
        .await;
        assert_eq!(
            results.iter().filter(|r| is_found(r)).count(),
            1,
            "one take wins across nodes: {results:?}"
        );
    }
}

async fn duplicate_request_uri_is_rejected<S: ParStore>(store: &S) {
    let hash = fresh_hash("par-dup");
    let original = request(hash, T0, T0 + 60);
    store.insert(original.clone()).await.unwrap();
    let err = store.insert(request(hash, T0, T0 + 90)).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate),
        "duplicate request_uri: {err:?}"
    );
    assert_eq!(
        store.fetch(hash, &original.client_id, T0).await.unwrap(),
        ParOutcome::Found(original)
    );
}

async fn invalid_requests_are_rejected<S: ParStore>(store: &S) {
    let hash = fresh_hash("par-invalid");
    let mut bad = request(hash, T0, T0 + 60);
    bad.client_id.clear();
    assert!(matches!(
        store.insert(bad).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
    let mut bad = request(hash, T0, T0);
    let client = bad.client_id.clone();
    assert!(matches!(
        store.insert(bad.clone()).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
    bad.expires_at = T0 - 1;
    assert!(matches!(
        store.insert(bad).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
    assert_eq!(
        store.fetch(hash, &client, T0 - 10).await.unwrap(),
        ParOutcome::NotFound
    );
}

// seed-catalog-3b must-test 65
async fn fetch_is_repeatable_and_take_is_single_use<S: ParStore>(store: &S) {
    let hash = fresh_hash("par");
    let pushed = request(hash, T0, T0 + 60);
    let client = pushed.client_id.clone();
    store.insert(pushed.clone()).await.unwrap();
    assert_eq!(
        store.fetch(hash, &client, T0 + 1).await.unwrap(),
        ParOutcome::Found(pushed.clone())
    );
    assert_eq!(
        store.fetch(hash, &client, T0 + 2).await.unwrap(),
        ParOutcome::Found(pushed.clone()),
        "fetch must not consume (login/consent re-entry)"
    );
    assert_eq!(
        store.take(hash, &client, T0 + 3).await.unwrap(),
        ParOutcome::Found(pushed)
    );
    assert_eq!(
        store.fetch(hash, &client, T0 + 4).await.unwrap(),
        ParOutcome::NotFound
    );
    assert_eq!(
        store.take(hash, &client, T0 + 4).await.unwrap(),
        ParOutcome::NotFound,
        "take is single use"
    );
}

async fn request_uri_is_bound_to_its_client<S: ParStore>(store: &S) {
    let hash = fresh_hash("par-bound");
    let pushed = request(hash, T0, T0 + 60);
    store.insert(pushed.clone()).await.unwrap();
    let intruder = unique("intruder");
    assert_eq!(
        store.fetch(hash, &intruder, T0 + 1).await.unwrap(),
        ParOutcome::ClientMismatch
    );
    assert_eq!(
        store.take(hash, &intruder, T0 + 1).await.unwrap(),
        ParOutcome::ClientMismatch
    );
    assert_eq!(
        store.take(hash, &pushed.client_id, T0 + 2).await.unwrap(),
        ParOutcome::Found(pushed.clone()),
        "another client's attempt must not consume the reference"
    );
    // Precedence: another client learns nothing about expiry.
    let hash = fresh_hash("par-bound-expired");
    store.insert(request(hash, T0, T0 + 60)).await.unwrap();
    assert_eq!(
        store.fetch(hash, &intruder, T0 + 61).await.unwrap(),
        ParOutcome::ClientMismatch
    );
}

// seed-catalog-3b must-test 65 (after the TTL) and 36
async fn expired_request_is_never_returned<S: ParStore>(store: &S) {
    let hash = fresh_hash("par-expired");
    let pushed = request(hash, T0, T0 + 60);
    let client = pushed.client_id.clone();
    store.insert(pushed.clone()).await.unwrap();
    assert_eq!(
        store.fetch(hash, &client, T0 + 60).await.unwrap(),
        ParOutcome::Expired,
        "now == expires_at is expired"
    );
    assert_eq!(
        store.take(hash, &client, T0 + 60).await.unwrap(),
        ParOutcome::Expired
    );
    assert_eq!(
        store.take(hash, &client, T0 + 59).await.unwrap(),
        ParOutcome::Found(pushed),
        "an expired take consumes nothing"
    );
}

// seed-catalog-3b must-test 66
async fn concurrent_takes_have_one_winner<S: ParStore>(store: &Arc<S>) {
    for _ in 0..RACE_ROUNDS {
        let hash = fresh_hash("par-race");
        let pushed = request(hash, T0, T0 + 60);
        let client = pushed.client_id.clone();
        store.insert(pushed).await.unwrap();
        let results = race(RACE_WIDTH, |_| {
            let s = Arc::clone(store);
            let client = client.clone();
            async move { s.take(hash, &client, T0 + 1).await.unwrap() }
        })
        .await;
        assert_eq!(
            results.iter().filter(|r| is_found(r)).count(),
            1,
            "exactly one take wins: {results:?}"
        );
        assert!(
            results
                .iter()
                .all(|r| is_found(r) || *r == ParOutcome::NotFound),
            "losers see NotFound: {results:?}"
        );
    }
}

// seed-catalog-3b must-test 31 and 33 (this table)
async fn sweep_deletes_only_expired_requests_in_batches<S: ParStore>(store: &S) {
    let mut expired = Vec::new();
    for _ in 0..3 {
        let r = request(fresh_hash("par-sweep"), SWEEP_T - 100, SWEEP_T - 1);
        store.insert(r.clone()).await.unwrap();
        expired.push(r);
    }
    let boundary = request(fresh_hash("par-sweep"), SWEEP_T - 100, SWEEP_T);
    let future = request(fresh_hash("par-sweep"), SWEEP_T - 100, SWEEP_T + 1);
    store.insert(boundary.clone()).await.unwrap();
    store.insert(future.clone()).await.unwrap();
    assert_eq!(
        store.sweep_expired(SWEEP_T, batch(2)).await.unwrap(),
        2,
        "a sweep deletes at most `batch` rows"
    );
    assert_eq!(store.sweep_expired(SWEEP_T, batch(2)).await.unwrap(), 1);
    assert_eq!(store.sweep_expired(SWEEP_T, batch(2)).await.unwrap(), 0);
    for r in expired {
        assert_eq!(
            store
                .fetch(r.request_uri_hash, &r.client_id, SWEEP_T - 50)
                .await
                .unwrap(),
            ParOutcome::NotFound
        );
    }
    for r in [boundary, future] {
        assert!(
            is_found(
                &store
                    .fetch(r.request_uri_hash, &r.client_id, SWEEP_T - 50)
                    .await
                    .unwrap()
            ),
            "kept: {r:?}"
        );
    }
}
