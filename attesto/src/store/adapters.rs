//! Adapters from the store traits to the protocol core's guard traits, so a
//! shared store (SQLite, PostgreSQL) makes DPoP and assertion replay
//! protection, and single-use DPoP nonces, hold across every node.

use std::sync::Arc;

use super::{
    DpopNonceRecord, DpopNonceStore, NonceOutcome, ReplayNamespace, ReplayOutcome, ReplayStore,
    StoreError, TokenHash,
};
use crate::clock::UnixTime;
use crate::dpop::{DpopNonceSource, JtiReplayGuard, ReplayKey, ReplayScope};
use crate::secret::RandomSource;

/// A [`JtiReplayGuard`] backed by a [`ReplayStore`].
///
/// ```
/// # tokio_test_block_on(async {
/// use std::sync::Arc;
/// use attesto::dpop::{JtiReplayGuard, ReplayKey, ReplayScope};
/// use attesto::store::{adapters::StoreReplayGuard, memory::MemoryReplayStore};
/// let guard = StoreReplayGuard::new(Arc::new(MemoryReplayStore::default()));
/// let key = ReplayKey::of_parts(ReplayScope::DpopProof, &["jkt", "jti-1"]);
/// assert!(guard.check_and_record(key, 1_060, 1_000).await.unwrap());
/// assert!(!guard.check_and_record(key, 1_060, 1_001).await.unwrap());
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug)]
pub struct StoreReplayGuard<R>(Arc<R>);

impl<R> StoreReplayGuard<R> {
    /// Wrap a replay store.
    pub fn new(store: Arc<R>) -> Self {
        StoreReplayGuard(store)
    }
}

impl<R> Clone for StoreReplayGuard<R> {
    fn clone(&self) -> Self {
        StoreReplayGuard(Arc::clone(&self.0))
    }
}

fn namespace(scope: ReplayScope) -> ReplayNamespace {
    match scope {
        ReplayScope::ClientAssertion => ReplayNamespace::ClientAssertion,
        // DPoP and any scope added later: the DPoP namespace never collides
        // with assertions because the key digest includes the scope's parts.
        _ => ReplayNamespace::DpopProof,
    }
}

impl<R: ReplayStore> JtiReplayGuard for StoreReplayGuard<R> {
    type Error = StoreError;

    async fn check_and_record(
        &self,
        key: ReplayKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let outcome = self
            .0
            .check_and_record(
                namespace(key.scope()),
                TokenHash::from_bytes(*key.digest()),
                expires_at,
                now,
            )
            .await?;
        Ok(outcome == ReplayOutcome::Fresh)
    }
}

/// Single-use DPoP nonces backed by a [`DpopNonceStore`]: each issued nonce
/// is recorded (as a hash) and consumed atomically by the first proof that
/// carries it.
pub struct StoreNonceSource<N> {
    store: Arc<N>,
    rng: Arc<dyn RandomSource>,
    lifetime: i64,
}

impl<N> std::fmt::Debug for StoreNonceSource<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreNonceSource")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl<N> StoreNonceSource<N> {
    /// Nonces valid for `lifetime_secs` (at least 1).
    pub fn new(store: Arc<N>, rng: Arc<dyn RandomSource>, lifetime_secs: i64) -> Self {
        StoreNonceSource {
            store,
            rng,
            lifetime: lifetime_secs.max(1),
        }
    }
}

/// Why a nonce could not be issued or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NonceSourceError {
    /// The store failed.
    #[error("nonce store unavailable")]
    Store(#[from] StoreError),
    /// The random source failed.
    #[error("random source failed")]
    Random(#[from] crate::secret::RandomError),
}

impl<N: DpopNonceStore> DpopNonceSource for StoreNonceSource<N> {
    type Error = NonceSourceError;

    async fn issue_nonce(&self, now: UnixTime) -> Result<String, NonceSourceError> {
        // A collision of 128 random bits means a broken RNG; retry a couple of
        // times, then fail closed.
        let mut last = StoreError::Duplicate;
        for _ in 0..3 {
            let nonce = self.rng.token(16)?;
            let record = DpopNonceRecord {
                nonce_hash: TokenHash::of(&nonce),
                issued_at: now,
                expires_at: now.saturating_add(self.lifetime),
            };
            match self.store.issue(record).await {
                Ok(()) => return Ok(nonce),
                Err(StoreError::Duplicate) => last = StoreError::Duplicate,
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.into())
    }

    async fn check_nonce(&self, nonce: &str, now: UnixTime) -> Result<bool, NonceSourceError> {
        Ok(self.store.accept(TokenHash::of(nonce), now).await? == NonceOutcome::Accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::OsRandom;
    use crate::store::memory::{MemoryDpopNonceStore, MemoryReplayStore};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn store_replay_guard_accepts_a_jti_once_per_scope() {
        rt().block_on(async {
            let guard = StoreReplayGuard::new(Arc::new(MemoryReplayStore::default()));
            let dpop = ReplayKey::of_parts(ReplayScope::DpopProof, &["k", "j"]);
            let assertion = ReplayKey::of_parts(ReplayScope::ClientAssertion, &["k", "j"]);
            assert!(guard.check_and_record(dpop, 2_000, 1_000).await.unwrap());
            assert!(!guard.check_and_record(dpop, 2_000, 1_000).await.unwrap());
            assert!(
                guard
                    .check_and_record(assertion, 2_000, 1_000)
                    .await
                    .unwrap()
            );
        });
    }

    #[test]
    fn store_nonces_are_single_use_and_expire() {
        rt().block_on(async {
            let src = StoreNonceSource::new(
                Arc::new(MemoryDpopNonceStore::default()),
                Arc::new(OsRandom),
                60,
            );
            let n = src.issue_nonce(1_000).await.unwrap();
            assert!(src.check_nonce(&n, 1_010).await.unwrap());
            assert!(!src.check_nonce(&n, 1_011).await.unwrap(), "second use");
            let m = src.issue_nonce(1_000).await.unwrap();
            assert!(!src.check_nonce(&m, 1_060).await.unwrap(), "expired");
            assert!(!src.check_nonce("never-issued", 1_000).await.unwrap());
        });
    }
}
