//! `jti` replay detection for DPoP proofs and client assertions
//! ([RFC 9449 §11.1](https://www.rfc-editor.org/rfc/rfc9449#section-11.1),
//! [RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3)).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::UnixTime;

/// Which kind of JWT a [`ReplayKey`] belongs to. Keys of different scopes
/// never collide, so a DPoP `jti` cannot block a client assertion with the
/// same `jti` (or the other way round).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReplayScope {
    /// DPoP proof JWTs ([RFC 9449 §11.1](https://www.rfc-editor.org/rfc/rfc9449#section-11.1)).
    /// Key parts: `[jkt, jti]`.
    DpopProof,
    /// `private_key_jwt` client assertions
    /// ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3)).
    /// Key parts: `[client_id, jti]`.
    ClientAssertion,
}

impl ReplayScope {
    /// A stable name, e.g. for a SQL column.
    ///
    /// ```
    /// use attesto::dpop::ReplayScope;
    /// assert_eq!(ReplayScope::DpopProof.as_str(), "dpop_proof");
    /// assert_eq!(ReplayScope::ClientAssertion.as_str(), "client_assertion");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DpopProof => "dpop_proof",
            Self::ClientAssertion => "client_assertion",
        }
    }
}

/// A scoped, hashed replay key.
///
/// The `jti` is never stored as sent: the key is the SHA-256 of the parts,
/// each prefixed with its length as 8 big-endian bytes, so the parts cannot
/// be confused (`["ab","c"]` ≠ `["a","bc"]`), attacker-chosen strings are
/// never persisted, and the key has a fixed size. Scoping by the signer
/// (the DPoP key thumbprint, or the client id) means nobody can "poison" a
/// `jti` that somebody else will use: only the holder of the signing key can
/// produce a proof that lands on a given key.
///
/// ```
/// use attesto::dpop::{ReplayKey, ReplayScope};
/// let a = ReplayKey::of_parts(ReplayScope::DpopProof, &["ab", "c"]);
/// let b = ReplayKey::of_parts(ReplayScope::DpopProof, &["a", "bc"]);
/// let c = ReplayKey::of_parts(ReplayScope::ClientAssertion, &["ab", "c"]);
/// assert_ne!(a, b);
/// assert_ne!(a, c);
/// assert_eq!(a.digest(), c.digest()); // same parts, different scope
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplayKey {
    scope: ReplayScope,
    digest: [u8; 32],
}

impl ReplayKey {
    /// The key for `parts` in `scope`.
    #[must_use]
    pub fn of_parts(scope: ReplayScope, parts: &[&str]) -> Self {
        let mut hasher = openssl::sha::Sha256::new();
        for part in parts {
            let len = u64::try_from(part.len()).unwrap_or(u64::MAX);
            hasher.update(&len.to_be_bytes());
            hasher.update(part.as_bytes());
        }
        Self {
            scope,
            digest: hasher.finish(),
        }
    }

    /// The scope.
    #[must_use]
    pub const fn scope(&self) -> ReplayScope {
        self.scope
    }

    /// The SHA-256 digest of the length-prefixed parts.
    #[must_use]
    pub const fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// `"<scope>:<base64url digest>"`, for stores keyed by a single string.
    #[must_use]
    pub fn to_key_string(&self) -> String {
        format!(
            "{}:{}",
            self.scope.as_str(),
            URL_SAFE_NO_PAD.encode(self.digest)
        )
    }
}

impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReplayKey")
            .field(&self.to_key_string())
            .finish()
    }
}

/// Records which `jti`s have been seen, atomically.
///
/// The DPoP verifier and the client-assertion verifier depend on this small
/// trait rather than on a concrete store, so any shared store (SQL, Redis)
/// can back it.
///
/// # Atomic contract
///
/// [`check_and_record`](Self::check_and_record) must be **one atomic
/// insert-if-absent** on the key (SQL: `INSERT … ON CONFLICT DO NOTHING` and
/// `rows_affected() == 1`): of any number of concurrent callers with the same
/// key, on any node, exactly one gets `Ok(true)`. A per-node cache is no
/// protection behind a load balancer (a captured proof would replay once per
/// node).
///
/// `expires_at` is the end of the JWT's acceptance window (always greater
/// than `now` when attesto calls it); the record must be kept at least until
/// then. An expired record that has not been swept yet must still count as a
/// collision (fail closed).
///
/// Errors mean "could not decide": callers fail closed.
pub trait JtiReplayGuard: Send + Sync {
    /// Why the guard could not decide.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Record `key` until `expires_at`. `Ok(true)`: first sighting, now
    /// recorded. `Ok(false)`: already recorded, refuse the JWT.
    fn check_and_record(
        &self,
        key: ReplayKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

impl<G: JtiReplayGuard> JtiReplayGuard for &G {
    type Error = G::Error;

    fn check_and_record(
        &self,
        key: ReplayKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).check_and_record(key, expires_at, now)
    }
}

impl<G: JtiReplayGuard> JtiReplayGuard for Arc<G> {
    type Error = G::Error;

    fn check_and_record(
        &self,
        key: ReplayKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).check_and_record(key, expires_at, now)
    }
}

/// The in-memory replay guard could not take its lock (a thread panicked
/// while holding it). The guard fails closed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the in-memory replay guard is unavailable")]
pub struct ReplayGuardUnavailable;

/// A process-local [`JtiReplayGuard`] for tests, examples and **single-node**
/// deployments.
///
/// Behind a load balancer each node would have its own set, and a captured
/// proof could be replayed once per node: clustered deployments must use a
/// shared store. Expired entries are dropped lazily, only once they can no
/// longer matter (their JWT's acceptance window has closed).
///
/// ```
/// # tokio_test_block_on(async {
/// use attesto::dpop::{JtiReplayGuard, ReplayKey, ReplayScope, SingleNodeReplayGuard};
/// let guard = SingleNodeReplayGuard::new();
/// let key = ReplayKey::of_parts(ReplayScope::DpopProof, &["jkt", "jti-1"]);
/// assert!(guard.check_and_record(key, 1_060, 1_000).await.unwrap());
/// assert!(!guard.check_and_record(key, 1_060, 1_001).await.unwrap());
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Default)]
pub struct SingleNodeReplayGuard {
    inner: Mutex<GuardState>,
}

#[derive(Debug, Default)]
struct GuardState {
    seen: HashMap<ReplayKey, UnixTime>,
    purge_at_len: usize,
}

impl SingleNodeReplayGuard {
    /// An empty guard.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys are currently remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.lock().map(|s| s.seen.len()).unwrap_or(0)
    }

    /// Whether no key is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn record(
        &self,
        key: ReplayKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, ReplayGuardUnavailable> {
        let mut state = self.inner.lock().map_err(|_| ReplayGuardUnavailable)?;
        if state.seen.contains_key(&key) {
            return Ok(false);
        }
        if state.seen.len() >= state.purge_at_len {
            // Strictly expired only: an entry at exactly `now` may still guard
            // a JWT that is accepted at `now`.
            state.seen.retain(|_, exp| *exp >= now);
            state.purge_at_len = state.seen.len().saturating_mul(2).max(1024);
        }
        state.seen.insert(key, expires_at);
        Ok(true)
    }
}

impl JtiReplayGuard for SingleNodeReplayGuard {
    type Error = ReplayGuardUnavailable;

    async fn check_and_record(
        &self,
        key: ReplayKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, Self::Error> {
        self.record(key, expires_at, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_keys_are_length_prefixed_and_scoped() {
        let a = ReplayKey::of_parts(ReplayScope::DpopProof, &["ab", "c"]);
        let b = ReplayKey::of_parts(ReplayScope::DpopProof, &["a", "bc"]);
        assert_ne!(a, b);
        let c = ReplayKey::of_parts(ReplayScope::ClientAssertion, &["ab", "c"]);
        assert_ne!(a, c);
        assert!(a.to_key_string().starts_with("dpop_proof:"));
        assert!(!format!("{a:?}").contains("ab"));
    }

    #[test]
    fn single_node_guard_purges_only_strictly_expired_entries() {
        let g = SingleNodeReplayGuard::new();
        for i in 0..2000 {
            let k = ReplayKey::of_parts(ReplayScope::DpopProof, &["k", &i.to_string()]);
            assert!(g.record(k, 100, 50).unwrap());
        }
        // at now = 100 nothing is strictly expired
        let k = ReplayKey::of_parts(ReplayScope::DpopProof, &["k", "x"]);
        assert!(g.record(k, 200, 100).unwrap());
        assert_eq!(g.len(), 2001);
        // the first key is still a replay
        let first = ReplayKey::of_parts(ReplayScope::DpopProof, &["k", "0"]);
        assert!(!g.record(first, 100, 100).unwrap());
    }
}
