//! Single-use, request-bound consent grants
//! ([RFC 6749 §4.1.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1)).

use std::future::Future;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::{StoreError, TokenHash, require, require_lifetime};
use crate::clock::UnixTime;

/// A consent grant minted by the host's consent screen when the user clicks
/// "Authorize", keyed by the hash of the unguessable consent token.
///
/// The grant approves **exactly** the request the user saw: `binding_hash` is
/// the SHA-256 of the canonical binding (subject, client, redirect URI, sorted
/// scope, PKCE challenge and method), recomputed from the live request when
/// the grant is consumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentGrantRecord {
    /// SHA-256 of the consent token (a credential: never logged or displayed).
    pub token_hash: TokenHash,
    /// SHA-256 of the canonical request binding.
    pub binding_hash: TokenHash,
    /// The consenting user (diagnostic; also part of the binding).
    pub subject: String,
    /// When it was minted.
    pub issued_at: UnixTime,
    /// Short expiry.
    pub expires_at: UnixTime,
}

impl ConsentGrantRecord {
    /// Check the record before it is written; stores call this.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty subject or `expires_at <= issued_at`.
    pub fn validate(&self) -> Result<(), StoreError> {
        require(!self.subject.is_empty(), "consent: empty subject")?;
        require_lifetime(self.issued_at, self.expires_at)
    }
}

/// The result of [`ConsentGrantStore::consume`], decided in this order. Every
/// variant but `Consumed` refuses consent; they differ only for audit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsentOutcome {
    /// Never minted, swept, or mistyped.
    NotFound,
    /// The live request differs from the one the user approved — the attack this
    /// primitive defends against. The grant is **not** spent.
    BindingMismatch,
    /// Already consumed (a replay).
    AlreadyConsumed,
    /// Past its expiry.
    Expired,
    /// This caller consumed the grant.
    Consumed(ConsentGrantRecord),
}

/// Storage of consent grants.
///
/// # Atomic contract
///
/// [`consume`](Self::consume) is **one conditional update** checking existence,
/// binding, single use and expiry together (SQL: `UPDATE … SET consumed_at =
/// $now WHERE token_hash = $1 AND binding_hash = $2 AND consumed_at IS NULL AND
/// expires_at > $now`). Of any number of concurrent presentations, on any node,
/// **exactly one** gets [`ConsentOutcome::Consumed`]; the others get
/// `AlreadyConsumed`. A read after zero affected rows only classifies the
/// refusal. A mismatched binding never spends the grant.
///
/// [`mint`](Self::mint) never overwrites ([`StoreError::Duplicate`]).
pub trait ConsentGrantStore: Send + Sync + 'static {
    /// Store a freshly minted grant.
    ///
    /// # Errors
    /// [`StoreError::Invalid`], [`StoreError::Duplicate`], or a backend error.
    fn mint(
        &self,
        grant: ConsentGrantRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically consume the grant for the request whose binding hashes to
    /// `binding_hash`; see the atomic contract.
    ///
    /// # Errors
    /// Backend errors only.
    fn consume(
        &self,
        token_hash: TokenHash,
        binding_hash: TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<ConsentOutcome, StoreError>> + Send;

    /// Delete at most `batch` grants with `expires_at < now`; returns how many
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
