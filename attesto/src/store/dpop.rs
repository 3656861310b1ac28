//! Server-issued DPoP nonces ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8))
//! and `jti` replay detection ([RFC 9449 §11.1](https://www.rfc-editor.org/rfc/rfc9449#section-11.1),
//! [RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3)).

use std::future::Future;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::{StoreError, TokenHash, require, require_lifetime};
use crate::clock::UnixTime;

/// A server-issued DPoP nonce, keyed by its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpopNonceRecord {
    /// SHA-256 of the nonce sent in the `DPoP-Nonce` header.
    pub nonce_hash: TokenHash,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it stops being accepted.
    pub expires_at: UnixTime,
}

impl DpopNonceRecord {
    /// Check the record before it is written; stores call this.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if `expires_at <= issued_at`.
    pub fn validate(&self) -> Result<(), StoreError> {
        require_lifetime(self.issued_at, self.expires_at)
    }
}

/// The result of [`DpopNonceStore::accept`]. The refusals are distinguished so
/// the server can answer with the right `use_dpop_nonce` error and a fresh
/// nonce instead of a silent rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonceOutcome {
    /// This caller consumed the nonce.
    Accepted,
    /// The nonce was already consumed (this wins over `Expired`).
    Used,
    /// The nonce was issued here but is past its expiry.
    Expired,
    /// This store never issued the nonce (or it was swept).
    Unknown,
}

/// Storage of server-issued DPoP nonces.
///
/// # Single use
///
/// RFC 9449 §8 leaves nonce lifetime to the server. attesto follows the seed:
/// a nonce is **single use** — [`accept`](Self::accept) consumes it — and
/// expires at `expires_at`. Any node honours a nonce issued by any other, which
/// is why nonces live in a shared store at all. [`is_valid`](Self::is_valid)
/// is a read-only probe for places that must not consume.
///
/// # Atomic contract
///
/// [`accept`](Self::accept) is **one conditional update** (SQL: `UPDATE … SET
/// used_at = $now WHERE nonce_hash = $1 AND used_at IS NULL AND expires_at >
/// $now`). Of any number of concurrent callers presenting the same nonce, on
/// any node, **exactly one** gets [`NonceOutcome::Accepted`]; the others get
/// `Used`. A follow-up read after zero affected rows only classifies the
/// refusal (`Used` before `Expired` before `Unknown`). A read-then-write cannot
/// make a nonce single use: two requests could both see it unused.
///
/// [`issue`](Self::issue) never overwrites: a colliding hash is
/// [`StoreError::Duplicate`] and the caller mints another nonce.
pub trait DpopNonceStore: Send + Sync + 'static {
    /// Store a freshly minted nonce.
    ///
    /// # Errors
    /// [`StoreError::Invalid`], [`StoreError::Duplicate`], or a backend error.
    fn issue(&self, nonce: DpopNonceRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Read-only: whether the nonce was issued here, is unused and is live at
    /// `now`. Does not consume.
    ///
    /// # Errors
    /// Backend errors only.
    fn is_valid(
        &self,
        nonce_hash: TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Atomically consume the nonce; see the trait's atomic contract.
    ///
    /// # Errors
    /// Backend errors only.
    fn accept(
        &self,
        nonce_hash: TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<NonceOutcome, StoreError>> + Send;

    /// Delete at most `batch` nonces with `expires_at < now`; returns how many
    /// were deleted.
    ///
    /// # Errors
    /// Backend errors only.
    fn sweep_expired(
        &self,
        now: UnixTime,
        batch: NonZeroU32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Which kind of JWT a replay key belongs to. Keys of different namespaces
/// never collide.
///
/// Recommended keys (see [`TokenHash::of_parts`]):
/// * [`DpopProof`](Self::DpopProof): `of_parts(&[jkt, jti])`;
/// * [`ClientAssertion`](Self::ClientAssertion): `of_parts(&[client_id, jti])`
///   ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3): a `jti`
///   is unique per issuer);
/// * [`JwtBearerGrant`](Self::JwtBearerGrant): `of_parts(&[iss, jti])`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReplayNamespace {
    /// DPoP proof JWTs ([RFC 9449 §11.1](https://www.rfc-editor.org/rfc/rfc9449#section-11.1)).
    DpopProof,
    /// `private_key_jwt` / `client_secret_jwt` client assertions
    /// ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2)).
    ClientAssertion,
    /// JWT authorization grants, e.g. ID-JAG
    /// ([RFC 7523 §2.1](https://www.rfc-editor.org/rfc/rfc7523#section-2.1)).
    JwtBearerGrant,
}

impl ReplayNamespace {
    /// A stable name, for a SQL column.
    ///
    /// ```
    /// use attesto::store::ReplayNamespace;
    /// assert_eq!(ReplayNamespace::DpopProof.as_str(), "dpop_proof");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DpopProof => "dpop_proof",
            Self::ClientAssertion => "client_assertion",
            Self::JwtBearerGrant => "jwt_bearer_grant",
        }
    }
}

/// The result of [`ReplayStore::check_and_record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayOutcome {
    /// First sighting: the key is now recorded until `expires_at`.
    Fresh,
    /// The key was already recorded: refuse the JWT.
    Replayed,
}

/// Records which JWT `jti`s have been seen, so a captured proof or assertion
/// cannot be replayed within its acceptance window.
///
/// A per-node cache is no protection behind a load balancer (a captured proof
/// replays once per node); clustered deployments need a shared store.
///
/// # Atomic contract
///
/// [`check_and_record`](Self::check_and_record) is **one atomic
/// insert-if-absent** on `(namespace, key)` (SQL: `INSERT … ON CONFLICT DO
/// NOTHING` and `rows_affected() == 1`). Of any number of concurrent callers
/// with the same key, on any node, **exactly one** gets
/// [`ReplayOutcome::Fresh`].
///
/// An entry keeps blocking its key until it is **swept**, even after
/// `expires_at` (fail closed; never `ON CONFLICT DO UPDATE … WHERE expired`).
/// This is unreachable for honest traffic: a JWT whose acceptance window has
/// closed is rejected by the freshness check before the replay check runs, so
/// `expires_at` = end of the acceptance window is the only retention needed.
pub trait ReplayStore: Send + Sync + 'static {
    /// Record `key` in `namespace` until `expires_at`, or report it as replayed.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if `expires_at <= now` (the JWT's window has
    /// already closed), or a backend error.
    fn check_and_record(
        &self,
        namespace: ReplayNamespace,
        key: TokenHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<ReplayOutcome, StoreError>> + Send;

    /// Delete at most `batch` entries with `expires_at < now`; returns how many
    /// were deleted.
    ///
    /// # Errors
    /// Backend errors only.
    fn sweep_expired(
        &self,
        now: UnixTime,
        batch: NonZeroU32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The argument check of [`ReplayStore::check_and_record`], shared by every
/// implementation: the entry must expire after `now`.
///
/// ```
/// use attesto::store::validate_replay_window;
/// assert!(validate_replay_window(61, 60).is_ok());
/// assert!(validate_replay_window(60, 60).is_err());
/// ```
///
/// # Errors
/// [`StoreError::Invalid`] if `expires_at <= now`.
pub fn validate_replay_window(expires_at: UnixTime, now: UnixTime) -> Result<(), StoreError> {
    require(expires_at > now, "replay: expires_at must be in the future")
}
