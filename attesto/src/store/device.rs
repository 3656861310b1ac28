//! Device authorization codes ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)).

use std::future::Future;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::{Confirmation, StoreError, TokenHash, require, require_lifetime, require_tokens};
use crate::clock::UnixTime;

/// How much `slow_down` adds to the polling interval
/// ([RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5)).
pub(crate) const SLOW_DOWN_STEP_SECONDS: u32 = 5;

/// Where a device code is in its life: `Pending → (Approved | Denied)`, and
/// `Approved → Redeemed`. Every transition is a guarded atomic update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeviceCodeStatus {
    /// Waiting for the user's decision.
    Pending,
    /// The user approved; the device may redeem it once.
    Approved,
    /// The user denied.
    Denied,
    /// Redeemed for tokens; nothing more.
    Redeemed,
}

impl DeviceCodeStatus {
    /// A stable name, for a SQL column.
    ///
    /// ```
    /// use attesto::store::DeviceCodeStatus;
    /// assert_eq!(DeviceCodeStatus::Approved.as_str(), "approved");
    /// assert_eq!(DeviceCodeStatus::parse("approved"), Some(DeviceCodeStatus::Approved));
    /// assert_eq!(DeviceCodeStatus::parse("APPROVED"), None);
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Redeemed => "redeemed",
        }
    }

    /// The inverse of [`as_str`](Self::as_str); exact match only.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "denied" => Some(Self::Denied),
            "redeemed" => Some(Self::Redeemed),
            _ => None,
        }
    }
}

/// The user's approval, recorded by [`DeviceCodeStore::approve`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceApproval {
    /// The approving resource owner.
    pub subject: String,
    /// The scope the user granted (at most the requested scope).
    pub scope: Vec<String>,
    /// When the user authenticated (OIDC `auth_time`).
    pub auth_time: Option<UnixTime>,
    /// Authentication context (`acr`).
    pub acr: Option<String>,
    /// Authentication methods (`amr`).
    pub amr: Vec<String>,
    /// Opaque claims context for the minted tokens.
    pub claims: Option<serde_json::Value>,
    /// When the user approved.
    pub approved_at: UnixTime,
}

impl DeviceApproval {
    /// Check the approval before it is written; stores call this.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty subject, scope token or amr value.
    pub fn validate(&self) -> Result<(), StoreError> {
        require(!self.subject.is_empty(), "device: empty approving subject")?;
        require_tokens(&self.scope, "device: empty granted scope token")?;
        require_tokens(&self.amr, "device: empty amr value")
    }
}

/// A device authorization, keyed by the hash of the `device_code` (the device's
/// polling credential) and by the hash of the normalised `user_code` (what the
/// user types) ([RFC 8628 §3.2](https://www.rfc-editor.org/rfc/rfc8628#section-3.2)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCodeRecord {
    /// SHA-256 of the `device_code`.
    pub device_code_hash: TokenHash,
    /// SHA-256 of the normalised `user_code` (normalise before hashing, e.g.
    /// upper-case and strip separators, so `bcdf-ghjk` finds `BCDFGHJK`).
    pub user_code_hash: TokenHash,
    /// The requesting client.
    pub client_id: String,
    /// The requested scope.
    pub scope: Vec<String>,
    /// Requested resource indicators ([RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)).
    pub resource: Vec<String>,
    /// DPoP key pre-bound at the device authorization endpoint (required for
    /// public clients); the token request must prove the same key.
    pub confirmation: Confirmation,
    /// Minimum seconds between polls; raised by 5 on every `slow_down`.
    pub interval_seconds: u32,
    /// When the device code was issued.
    pub issued_at: UnixTime,
    /// When it expires (`issued_at + expires_in`).
    pub expires_at: UnixTime,
    /// Where it is in its life.
    pub status: DeviceCodeStatus,
    /// The approval; `Some` exactly when the status is `Approved` or `Redeemed`.
    pub approval: Option<DeviceApproval>,
    /// When the device last polled.
    pub last_polled_at: Option<UnixTime>,
}

impl DeviceCodeRecord {
    /// Check a new record before it is inserted; stores call this.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] unless the record is `Pending` with no approval
    /// and no poll yet, has a non-empty `client_id`, non-empty scope / resource
    /// entries, a positive interval, and `expires_at > issued_at`.
    pub fn validate(&self) -> Result<(), StoreError> {
        require(!self.client_id.is_empty(), "device: empty client_id")?;
        require(
            self.status == DeviceCodeStatus::Pending,
            "device: a new code must be pending",
        )?;
        require(
            self.approval.is_none(),
            "device: a new code cannot carry an approval",
        )?;
        require(
            self.last_polled_at.is_none(),
            "device: a new code cannot have been polled",
        )?;
        require(
            self.interval_seconds > 0,
            "device: interval must be positive",
        )?;
        require_tokens(&self.scope, "device: empty scope token")?;
        require_tokens(&self.resource, "device: empty resource")?;
        require(
            self.device_code_hash != self.user_code_hash,
            "device: device and user code hashes collide",
        )?;
        self.confirmation.validate()?;
        require_lifetime(self.issued_at, self.expires_at)
    }
}

/// The result of [`DeviceCodeStore::approve`] and [`DeviceCodeStore::deny`],
/// decided in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // returned once per request; boxing would only add an allocation
pub enum DeviceDecision {
    /// No such user code.
    NotFound,
    /// Someone already decided (approved, denied or redeemed): nothing changed.
    AlreadyDecided,
    /// The code is past its expiry.
    Expired,
    /// This caller's decision was recorded; the updated record.
    Recorded(DeviceCodeRecord),
}

/// The result of [`DeviceCodeStore::poll`]
/// ([RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5)),
/// decided in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // returned once per request; boxing would only add an allocation
pub enum DevicePoll {
    /// No such device code → `invalid_grant`.
    NotFound,
    /// Past its expiry → `expired_token`.
    Expired,
    /// Polled again within the interval → `slow_down`; the interval has been
    /// raised by 5 seconds for this and all later polls.
    SlowDown {
        /// The new interval.
        interval_seconds: u32,
    },
    /// Still waiting → `authorization_pending`.
    Pending,
    /// The user denied → `access_denied`.
    Denied,
    /// Approved: call [`DeviceCodeStore::redeem`] to mint tokens.
    Approved(DeviceCodeRecord),
    /// Already redeemed → `invalid_grant`.
    AlreadyRedeemed,
}

/// The result of [`DeviceCodeStore::redeem`], decided in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // returned once per request; boxing would only add an allocation
pub enum DeviceRedemption {
    /// No such device code.
    NotFound,
    /// Already redeemed (by a concurrent or earlier request).
    AlreadyRedeemed,
    /// Past its expiry.
    Expired,
    /// Pending or denied: nothing to redeem.
    NotApproved,
    /// This caller won: mint exactly one token family from the record.
    Redeemed(DeviceCodeRecord),
}

/// Storage of device authorizations.
///
/// # Atomic contract
///
/// Every transition is **one guarded atomic update**, race-free across nodes:
///
/// * [`approve`](Self::approve) / [`deny`](Self::deny): `UPDATE … SET status =
///   'approved' | 'denied' … WHERE user_code_hash = $1 AND status = 'pending'
///   AND expires_at > $now RETURNING …`. Of concurrent decisions on one code,
///   **exactly one** is `Recorded`; the rest are `AlreadyDecided`.
/// * [`poll`](Self::poll): the interval guard and the state read are one
///   statement (`UPDATE … SET last_polled_at = $now [, interval = interval + 5]
///   … RETURNING …`), so a poll racing an approval sees either the old or the new
///   state, never a torn one. Every poll, `slow_down` included, updates
///   `last_polled_at`: the interval is measured from the previous request.
/// * [`redeem`](Self::redeem): `UPDATE … SET status = 'redeemed' WHERE
///   device_code_hash = $1 AND status = 'approved' AND expires_at > $now
///   RETURNING …`. Of concurrent redemptions, **exactly one** is `Redeemed`, so
///   an approval mints exactly one token family.
/// * [`insert`](Self::insert) never overwrites: a colliding device-code or
///   user-code hash is [`StoreError::Duplicate`] (mint another user code).
pub trait DeviceCodeStore: Send + Sync + 'static {
    /// Store a new, pending device authorization.
    ///
    /// # Errors
    /// [`StoreError::Invalid`], [`StoreError::Duplicate`], or a backend error.
    fn insert(
        &self,
        record: DeviceCodeRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Non-consuming read for the verification page: the pending, live record
    /// with this user code, or `None`.
    ///
    /// # Errors
    /// Backend errors only.
    fn find_pending(
        &self,
        user_code_hash: TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<DeviceCodeRecord>, StoreError>> + Send;

    /// Record the user's approval; see the atomic contract.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if the approval is invalid, or a backend error.
    fn approve(
        &self,
        user_code_hash: TokenHash,
        approval: DeviceApproval,
        now: UnixTime,
    ) -> impl Future<Output = Result<DeviceDecision, StoreError>> + Send;

    /// Record the user's denial; see the atomic contract.
    ///
    /// # Errors
    /// Backend errors only.
    fn deny(
        &self,
        user_code_hash: TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<DeviceDecision, StoreError>> + Send;

    /// A token-endpoint poll; see the atomic contract.
    ///
    /// # Errors
    /// Backend errors only.
    fn poll(
        &self,
        device_code_hash: TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<DevicePoll, StoreError>> + Send;

    /// Atomically redeem an approved code; see the atomic contract.
    ///
    /// # Errors
    /// Backend errors only.
    fn redeem(
        &self,
        device_code_hash: TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<DeviceRedemption, StoreError>> + Send;

    /// Delete at most `batch` records with `expires_at < now`; returns how many
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
