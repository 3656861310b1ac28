//! Refresh-token families with rotation and reuse detection
//! ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6),
//! [§10.4](https://www.rfc-editor.org/rfc/rfc6749#section-10.4),
//! [RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2)).

use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::{
    Confirmation, FamilyId, StoreError, TokenHash, require, require_lifetime, require_tokens,
};
use crate::clock::UnixTime;

/// What a refresh token grants. Carried from token to token within a family;
/// a successor's scope and resources may only narrow (the core enforces this),
/// and `acr` / `auth_time` are replayed, never re-stamped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshGrant {
    /// The client the token was issued to; rotation is confined to it
    /// ([RFC 6749 §10.4](https://www.rfc-editor.org/rfc/rfc6749#section-10.4)).
    pub client_id: String,
    /// The resource owner.
    pub subject: String,
    /// Granted scope tokens.
    pub scope: Vec<String>,
    /// Resource indicators ([RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)).
    pub resource: Vec<String>,
    /// Holder-of-key binding. DPoP-bound refresh tokens are for public clients
    /// only ([RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5)).
    pub confirmation: Confirmation,
    /// Original authentication time (OIDC `auth_time`).
    pub auth_time: Option<UnixTime>,
    /// Original authentication context (`acr`, [RFC 9470](https://www.rfc-editor.org/rfc/rfc9470)).
    pub acr: Option<String>,
    /// Original authentication methods (`amr`).
    pub amr: Vec<String>,
    /// The host session id (OIDC `sid`).
    pub sid: Option<String>,
    /// Opaque issuer context carried into the next access token.
    pub claims: Option<serde_json::Value>,
}

impl RefreshGrant {
    fn validate(&self) -> Result<(), StoreError> {
        require(!self.client_id.is_empty(), "refresh: empty client_id")?;
        require(!self.subject.is_empty(), "refresh: empty subject")?;
        require_tokens(&self.scope, "refresh: empty scope token")?;
        require_tokens(&self.resource, "refresh: empty resource")?;
        require_tokens(&self.amr, "refresh: empty amr value")?;
        self.confirmation.validate()
    }
}

/// A refresh token the server has just minted: the input of
/// [`RefreshTokenStore::issue_family`] and [`RefreshTokenStore::rotate`].
/// Lineage (family, generation, parent, family lifetime) is assigned by the
/// store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRefreshToken {
    /// SHA-256 of the raw refresh token.
    pub token_hash: TokenHash,
    /// When it was minted.
    pub issued_at: UnixTime,
    /// This token's own expiry. The family's absolute expiry also applies.
    pub expires_at: UnixTime,
    /// What it grants.
    pub grant: RefreshGrant,
}

impl NewRefreshToken {
    /// Check the token before it is written; stores call this.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty `client_id` / `subject` / scope or
    /// resource entry, an empty thumbprint, or `expires_at <= issued_at`.
    pub fn validate(&self) -> Result<(), StoreError> {
        self.grant.validate()?;
        require_lifetime(self.issued_at, self.expires_at)
    }

    /// The checks of [`RefreshTokenStore::issue_family`]: [`validate`](Self::validate),
    /// a non-empty family id, and a family lifetime ending after the token's
    /// issue time.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate_first(
        &self,
        family_id: &FamilyId,
        family_expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        self.validate()?;
        require(!family_id.as_str().is_empty(), "refresh: empty family id")?;
        require_lifetime(self.issued_at, family_expires_at)
    }

    /// The checks of [`RefreshTokenStore::rotate`]: [`validate`](Self::validate),
    /// and a hash different from the presented token's.
    ///
    /// # Errors
    /// [`StoreError::Invalid`].
    pub fn validate_successor(&self, presented: TokenHash) -> Result<(), StoreError> {
        self.validate()?;
        require(
            self.token_hash != presented,
            "refresh: successor reuses the presented hash",
        )
    }
}

/// A stored refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    /// SHA-256 of the raw refresh token (the lookup key).
    pub token_hash: TokenHash,
    /// The family it belongs to.
    pub family_id: FamilyId,
    /// Rotation generation: 0 for the first token of a family.
    pub generation: u32,
    /// The predecessor's hash (diagnostic lineage, never a lookup key).
    pub parent_hash: Option<TokenHash>,
    /// When it was minted.
    pub issued_at: UnixTime,
    /// This token's own expiry.
    pub expires_at: UnixTime,
    /// The family's absolute expiry: no token of the family outlives it,
    /// however often it rotates.
    pub family_expires_at: UnixTime,
    /// What it grants.
    pub grant: RefreshGrant,
}

impl RefreshTokenRecord {
    /// The earlier of the token's and the family's expiry: the `exp` to report
    /// (e.g. in introspection).
    #[must_use]
    pub fn effective_expires_at(&self) -> UnixTime {
        self.expires_at.min(self.family_expires_at)
    }
}

/// The successor refresh token, sealed by the server (for example AES-256-GCM
/// under a server key, with the parent's hash as associated data), kept by the
/// store so that a retry inside the grace window can be answered with the
/// **same** successor.
///
/// The store treats it as opaque bytes. It must never be the plaintext token:
/// the store contract is "hashes, never secrets", and this is the one place a
/// credential is stored in recoverable form, so it must be encrypted. `Debug`
/// shows only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSuccessor(Vec<u8>);

impl SealedSuccessor {
    /// Wrap sealed bytes.
    #[must_use]
    pub const fn new(sealed: Vec<u8>) -> Self {
        Self(sealed)
    }

    /// The sealed bytes (to persist, or to unseal).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Take the sealed bytes.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for SealedSuccessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSuccessor(<{} bytes>)", self.0.len())
    }
}

/// The result of [`RefreshTokenStore::get`]: the token's state at `now`,
/// checked in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshLookup {
    /// No such token (never issued, or swept).
    NotFound,
    /// Its family is revoked (sticky: forever).
    Revoked(RefreshTokenRecord),
    /// The family's absolute lifetime is over, or the token is unrotated and
    /// past its own expiry.
    Expired(RefreshTokenRecord),
    /// Already rotated: presenting it again is a grace-window retry or reuse.
    Rotated(RefreshTokenRecord),
    /// Live and unrotated: the only state introspection reports as active.
    Active(RefreshTokenRecord),
}

/// The result of [`RefreshTokenStore::rotate`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotationOutcome {
    /// This caller won the claim: `parent` (as it stood before the claim) is now
    /// rotated and `successor` has been stored in the same family. Send the
    /// caller's freshly minted token.
    Rotated {
        /// The presented token, as it was before the claim.
        parent: RefreshTokenRecord,
        /// The stored successor (generation `parent.generation + 1`).
        successor: RefreshTokenRecord,
    },
    /// An honest retry: the presented token was rotated less than
    /// `grace_seconds` ago, its successor is still unused and live, and the
    /// winner stored a sealed copy. Unseal `sealed` and send that **same**
    /// successor again; the caller's own freshly minted token was discarded.
    /// The server should still check that the retry comes from the same client
    /// and binding as `parent`.
    Retry {
        /// The presented (already rotated) token.
        parent: RefreshTokenRecord,
        /// The successor the first rotation stored.
        successor: RefreshTokenRecord,
        /// The sealed successor token to send again.
        sealed: SealedSuccessor,
    },
    /// The presented token had already been rotated and this is not a
    /// grace-window retry: the captured-token signal. The store has revoked the
    /// **whole family** in the same atomic operation.
    ReuseDetected {
        /// The presented token.
        presented: RefreshTokenRecord,
    },
    /// The family is revoked; nothing in it ever rotates again.
    Revoked(RefreshTokenRecord),
    /// The family's lifetime is over, or the (unrotated) token is past its
    /// expiry. Not consumed.
    Expired,
    /// No such token.
    NotFound,
}

/// Storage of refresh-token families.
///
/// # Atomic contract
///
/// [`rotate`](Self::rotate) is **one atomic operation** (SQL: a transaction
/// holding a per-family lock, e.g. `pg_advisory_xact_lock`, or `BEGIN
/// IMMEDIATE` on SQLite, around a conditional `UPDATE … WHERE token_hash = $1
/// AND rotated_at IS NULL AND NOT family_revoked RETURNING …` and the
/// successor `INSERT`). For the presented token it decides, in this order:
///
/// 1. unknown → [`RotationOutcome::NotFound`];
/// 2. family revoked → [`RotationOutcome::Revoked`];
/// 3. family lifetime over (`now >= family_expires_at`) → `Expired`;
/// 4. already rotated:
///    * if `now < rotated_at + grace_seconds`, the winner stored a
///      [`SealedSuccessor`], and the successor is unrotated and live →
///      [`RotationOutcome::Retry`] with that same successor (the caller's new
///      token is discarded);
///    * otherwise → **revoke the family** and return
///      [`RotationOutcome::ReuseDetected`];
/// 5. token past its own expiry → `Expired`, **not** consumed;
/// 6. otherwise → mark it rotated at `now`, remember the successor's hash and
///    sealed copy, insert the successor (same family, generation + 1, parent
///    hash, family expiry inherited) → [`RotationOutcome::Rotated`].
///
/// Consequences every implementation must guarantee, across nodes:
///
/// * **One successor per token.** Of N concurrent rotations of one token,
///   exactly one gets `Rotated`. With a grace window the others get `Retry`
///   carrying that one successor; with `grace_seconds == 0` they get
///   `ReuseDetected` or `Revoked`.
/// * **Sticky revocation.** Once [`revoke_family`](Self::revoke_family) (or a
///   detected reuse) has run, no token of the family is ever `Active` again and
///   none rotates; a rotation racing with the revocation either completes
///   before it (and its successor is then revoked too) or sees it. No successor
///   can be inserted into a revoked family (the "phantom" race of READ
///   COMMITTED is why SQL needs the per-family lock, not `FOR UPDATE`).
/// * **All or nothing.** If the successor cannot be inserted (duplicate hash,
///   invalid input, outage), the presented token stays unrotated.
///
/// `grace_seconds == 0` is strict mode: any re-presentation of a rotated token
/// revokes the family.
pub trait RefreshTokenStore: Send + Sync + 'static {
    /// Start a family with its first token (generation 0). The family's
    /// absolute lifetime ends at `family_expires_at`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for invalid input (see
    /// [`NewRefreshToken::validate`], an empty family id, or `family_expires_at`
    /// not after the token's issue time), [`StoreError::Duplicate`] if the
    /// token hash or the family id exists, or a backend error.
    fn issue_family(
        &self,
        family_id: FamilyId,
        family_expires_at: UnixTime,
        first: NewRefreshToken,
    ) -> impl Future<Output = Result<RefreshTokenRecord, StoreError>> + Send;

    /// Non-consuming read of a token's state at `now`: used to validate client
    /// and binding before rotating (so a recoverable failure does not burn the
    /// token), and for introspection ([RFC 7662](https://www.rfc-editor.org/rfc/rfc7662)).
    ///
    /// # Errors
    /// Backend errors only.
    fn get(
        &self,
        token_hash: TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<RefreshLookup, StoreError>> + Send;

    /// Atomically rotate `presented` into `successor`; see the trait's atomic
    /// contract.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if `successor` is invalid or reuses the presented
    /// hash, [`StoreError::Duplicate`] if the successor hash exists (nothing
    /// changes), or a backend error.
    fn rotate(
        &self,
        presented: TokenHash,
        successor: NewRefreshToken,
        sealed_successor: Option<SealedSuccessor>,
        now: UnixTime,
        grace_seconds: u32,
    ) -> impl Future<Output = Result<RotationOutcome, StoreError>> + Send;

    /// Revoke every token of the family, present and future (sticky).
    /// Idempotent; an unknown family is a no-op.
    ///
    /// # Errors
    /// Backend errors only.
    fn revoke_family(
        &self,
        family_id: FamilyId,
        now: UnixTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Revoke the family of the given token
    /// ([RFC 7009 §2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.1)).
    /// Returns the family id, or `None` for an unknown token.
    ///
    /// # Errors
    /// Backend errors only.
    fn revoke_by_token(
        &self,
        token_hash: TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<FamilyId>, StoreError>> + Send;

    /// Delete at most `batch` tokens whose effective expiry (the earlier of the
    /// token's and the family's) is `< now`; returns how many were deleted.
    ///
    /// # Errors
    /// Backend errors only.
    fn sweep_expired(
        &self,
        now: UnixTime,
        batch: NonZeroU32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
