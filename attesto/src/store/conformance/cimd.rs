//! Conformance checks for [`ClientMetadataCache`].

use std::sync::Arc;

use super::dpop::assert_sweeps_3_in_batches_of_2;
use super::{SWEEP_T, T0, unique};
use crate::clock::UnixTime;
use crate::store::{CachedClientMetadata, ClientMetadataCache, StoreError};

fn entry(client_id: &str, fetched_at: UnixTime, expires_at: UnixTime) -> CachedClientMetadata {
    let document = serde_json::json!({
        "client_id": client_id,
        "client_name": "Example ☃ client",
        "redirect_uris": ["https://app.example/cb", "https://app.example/cb2"],
        "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]},
        "nested": {"deep": {"deeper": [1, 2.5, null, true, {"k": "v"}]}},
    });
    CachedClientMetadata {
        client_id: client_id.to_owned(),
        document: serde_json::from_value(document).unwrap(),
        etag: Some("\"abc\"".to_owned()),
        fetched_at,
        expires_at,
    }
}

fn url() -> String {
    format!("https://{}.example/client.json", unique("cimd"))
}

/// The whole [`ClientMetadataCache`] contract on one cache (seed-catalog-2
/// must-test 143–145; seed-catalog-3b must-test 33, 36).
pub async fn client_metadata<S: ClientMetadataCache>(store: Arc<S>) {
    // must-test 145: round trip of a nested document.
    let u = url();
    let first = entry(&u, T0, T0 + 300);
    store.put(first.clone()).await.unwrap();
    assert_eq!(
        store.get(&u, T0 + 1).await.unwrap(),
        Some(first),
        "lossless round trip"
    );
    // must-test 144: put replaces.
    let mut second = entry(&u, T0 + 10, T0 + 600);
    second
        .document
        .insert("client_name".to_owned(), serde_json::json!("renamed"));
    second.etag = None;
    store.put(second.clone()).await.unwrap();
    assert_eq!(
        store.get(&u, T0 + 11).await.unwrap(),
        Some(second.clone()),
        "the latest put wins"
    );
    // must-test 143: never stale.
    assert_eq!(
        store.get(&u, T0 + 600).await.unwrap(),
        None,
        "now == expires_at is a miss"
    );
    assert_eq!(store.get(&u, T0 + 599).await.unwrap(), Some(second));
    store.remove(&u).await.unwrap();
    assert_eq!(store.get(&u, T0 + 11).await.unwrap(), None, "removed");
    store.remove(&u).await.unwrap();
    assert_eq!(store.get(&url(), T0).await.unwrap(), None);
    // Validation.
    let u = url();
    assert!(matches!(
        store.put(entry(&u, T0, T0)).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
    assert!(matches!(
        store.put(entry("", T0, T0 + 60)).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
    assert_eq!(store.get(&u, T0 - 1).await.unwrap(), None);

    // seed-catalog-3b must-test 31 and 33 (this table)
    let expired: Vec<String> = (0..3).map(|_| url()).collect();
    for u in &expired {
        store
            .put(entry(u, SWEEP_T - 100, SWEEP_T - 1))
            .await
            .unwrap();
    }
    let (boundary, future) = (url(), url());
    store
        .put(entry(&boundary, SWEEP_T - 100, SWEEP_T))
        .await
        .unwrap();
    store
        .put(entry(&future, SWEEP_T - 100, SWEEP_T + 1))
        .await
        .unwrap();
    assert_sweeps_3_in_batches_of_2(|b| store.sweep_expired(SWEEP_T, b)).await;
    for u in expired {
        assert_eq!(store.get(&u, SWEEP_T - 50).await.unwrap(), None, "swept");
    }
    for u in [boundary, future] {
        assert!(store.get(&u, SWEEP_T - 50).await.unwrap().is_some(), "kept");
    }
}

/// Cross-node checks: an entry put through `a` is served by `b`, and a
/// replacement through `b` is what `a` serves.
pub async fn client_metadata_shared<S: ClientMetadataCache>(a: Arc<S>, b: Arc<S>) {
    let u = url();
    let first = entry(&u, T0, T0 + 300);
    a.put(first.clone()).await.unwrap();
    assert_eq!(b.get(&u, T0 + 1).await.unwrap(), Some(first));
    let second = entry(&u, T0 + 5, T0 + 900);
    b.put(second.clone()).await.unwrap();
    assert_eq!(a.get(&u, T0 + 6).await.unwrap(), Some(second));
}
