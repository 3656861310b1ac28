//! Store traits with atomic contracts, and in-memory implementations.
//!
//! Every piece of mutable server state lives behind one trait in this module:
//!
//! | trait | state | single-use / atomic primitive |
//! |---|---|---|
//! | [`AuthorizationCodeStore`] | authorization codes ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2)) | `redeem`: one conditional update, exactly one winner |
//! | [`RefreshTokenStore`] | refresh-token families ([RFC 6749 §10.4](https://www.rfc-editor.org/rfc/rfc6749#section-10.4)) | `rotate`: compare-and-set claim + successor insert, sticky family revocation |
//! | [`ParStore`] | pushed authorization requests ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)) | `take`: one delete-returning, client-bound |
//! | [`DpopNonceStore`] | server-issued DPoP nonces ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)) | `accept`: one conditional update, exactly one winner |
//! | [`ReplayStore`] | seen `jti`s of DPoP proofs and client assertions ([RFC 9449 §11.1](https://www.rfc-editor.org/rfc/rfc9449#section-11.1)) | `check_and_record`: insert-if-absent |
//! | [`DeviceCodeStore`] | device codes ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)) | guarded status transitions, poll-interval guard |
//! | [`ConsentGrantStore`] | request-bound consent grants | `consume`: one conditional update bound to the request |
//! | [`LogoutSessionStore`] | back-channel logout targets ([OIDC Back-Channel Logout 1.0](https://openid.net/specs/openid-connect-backchannel-1_0.html)) | `take_*`: delete-returning, each target delivered once |
//! | [`ClientMetadataCache`] | Client ID Metadata Documents | upsert, never stale on read |
//!
//! # Why atomicity is the whole point
//!
//! An attesto deployment may be N stateless nodes behind a load balancer, and a
//! single OAuth flow may hop between nodes at every step. "This code may be
//! redeemed once" is therefore a property of the *shared store*, not of any
//! process: two token requests carrying the same captured code can arrive at two
//! nodes in the same millisecond. The only way both cannot succeed is if the
//! store decides, in **one atomic operation**, who wins:
//!
//! * SQL stores use one conditional statement (`UPDATE … WHERE consumed_at IS
//!   NULL RETURNING …`, `DELETE … RETURNING …`, `INSERT … ON CONFLICT DO
//!   NOTHING`) and read the affected-row count, or a short transaction holding
//!   a lock where several rows must change together (refresh rotation);
//! * the in-memory stores in [`memory`] hold one mutex for the whole check and
//!   update.
//!
//! What an implementation must **never** do is read a row in Rust, decide, and
//! then write: between the read and the write another node can read the same
//! state, and both "win". Every method doc below names the operation that must
//! be atomic and what concurrent callers observe. The conformance suite
//! (`attesto::store::conformance`, feature `__test-util`) checks these
//! contracts with 64-way races against any implementation.
//!
//! # Conventions shared by every store
//!
//! * **Hashes, never secrets.** Codes, tokens, request URIs, nonces and consent
//!   tokens reach a store only as a [`TokenHash`] (SHA-256 of the raw value), so a
//!   leaked database yields no usable credential
//!   ([RFC 6749 §10.5](https://www.rfc-editor.org/rfc/rfc6749#section-10.5),
//!   [RFC 6819 §5.1.4.1.3](https://www.rfc-editor.org/rfc/rfc6819#section-5.1.4.1.3)).
//! * **Time is an argument.** Stores never read a clock: every method that
//!   depends on time takes `now` ([`UnixTime`]) from the
//!   caller's [`Clock`](crate::clock::Clock). Tests are exact.
//! * **One expiry rule.** A record is live while `now < expires_at`. Expiry is
//!   re-checked on *every* read, so an expired row that no sweeper has removed
//!   yet is never honoured. Sweeping is housekeeping, not correctness.
//! * **Sweeping.** Every trait has `sweep_expired(now, batch)`, which deletes at
//!   most `batch` rows whose `expires_at < now` (strictly) and returns how many it
//!   deleted. A row with `expires_at == now` is already dead to readers but kept
//!   by the sweeper, so a sweep can never widen an acceptance window. A sweeper
//!   calls it in a loop until it returns fewer than `batch`.
//! * **No upserts of credentials.** Inserting a key that already exists fails
//!   with [`StoreError::Duplicate`]; the caller mints a fresh value. Only the
//!   logout-session map and the metadata cache upsert, by design.
//! * **Validation fails closed.** Each input record has a `validate` method
//!   (empty identifiers, `expires_at <= issued_at`, malformed PKCE challenge, …)
//!   that every implementation calls before writing and maps to
//!   [`StoreError::Invalid`].
//! * **Outages are errors, not answers.** A backend failure is
//!   [`StoreError::Unavailable`] (the server answers 503), never a
//!   "not found" that could be mistaken for a protocol outcome.
//!
//! Records are plain structs with public fields and serde support (SQL stores
//! keep some of them, or parts of them, as JSON). They are deliberately **not**
//! `#[non_exhaustive]`: adding a field is meant to break every store
//! implementation at compile time, so that none silently drops it.
//!
//! # Example
//!
//! ```
//! # tokio_test_shim::block_on(async {
//! use attesto::store::{AuthorizationCodeStore, CodeRedemption, TokenHash};
//! use attesto::store::memory::MemoryAuthorizationCodeStore;
//! # use attesto::store::{AuthorizationCodeRecord, Confirmation};
//! let store = MemoryAuthorizationCodeStore::new();
//! let hash = TokenHash::of("the-raw-code-sent-to-the-client");
//! # let record = AuthorizationCodeRecord {
//! #     code_hash: hash, client_id: "client-a".into(), redirect_uri: None,
//! #     scope: vec!["openid".into()], code_challenge: None, nonce: None,
//! #     subject: "user-1".into(), auth_time: None, acr: None, amr: vec![], sid: None,
//! #     resource: vec![], confirmation: Confirmation::none(), claims: None,
//! #     issued_at: 1_000, expires_at: 1_060,
//! # };
//! store.insert(record).await?;
//! assert!(matches!(store.redeem(hash, 1_010).await?, CodeRedemption::Redeemed(_)));
//! assert!(matches!(store.redeem(hash, 1_011).await?, CodeRedemption::AlreadyRedeemed { .. }));
//! # Ok::<(), attesto::store::StoreError>(())
//! # }).unwrap();
//! # mod tokio_test_shim {
//! #     pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #         use std::task::{Context, Poll, Waker};
//! #         let mut f = std::pin::pin!(f);
//! #         let mut cx = Context::from_waker(Waker::noop());
//! #         loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! #     }
//! # }
//! ```

mod cimd;
mod code;
mod consent;
mod device;
mod dpop;
mod error;
mod hash;
mod logout;
mod par;
mod refresh;

pub mod adapters;
pub mod memory;

#[cfg(any(test, feature = "__test-util"))]
#[doc(hidden)]
pub mod conformance;

pub use cimd::{CachedClientMetadata, ClientMetadataCache};
pub use code::{AuthorizationCodeRecord, AuthorizationCodeStore, CodeIssuance, CodeRedemption};
pub use consent::{ConsentGrantRecord, ConsentGrantStore, ConsentOutcome};
pub use device::{
    DeviceApproval, DeviceCodeRecord, DeviceCodeStatus, DeviceCodeStore, DeviceDecision,
    DevicePoll, DeviceRedemption,
};
pub use dpop::{
    DpopNonceRecord, DpopNonceStore, NonceOutcome, ReplayNamespace, ReplayOutcome, ReplayStore,
    validate_replay_window,
};
pub use error::StoreError;
pub use hash::{FamilyId, TokenHash, TokenHashParseError};
pub use logout::{LogoutSession, LogoutSessionStore};
pub use par::{ParOutcome, ParStore, PushedRequest};
pub use refresh::{
    NewRefreshToken, RefreshGrant, RefreshLookup, RefreshTokenRecord, RefreshTokenStore,
    RotationOutcome, SealedSuccessor,
};

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// The proof-of-possession binding of a code or token: the RFC 7800 `cnf`
/// members attesto uses.
///
/// * `jkt`: JWK SHA-256 thumbprint of the DPoP key
///   ([RFC 9449 §6](https://www.rfc-editor.org/rfc/rfc9449#section-6)).
/// * `x5t#S256`: SHA-256 thumbprint of the client certificate
///   ([RFC 8705 §3.1](https://www.rfc-editor.org/rfc/rfc8705#section-3.1)).
///
/// Both absent means a bearer (unbound) artefact. Serialises as the RFC 7800
/// `cnf` JSON object (`{}` when unbound).
///
/// ```
/// use attesto::store::Confirmation;
/// let c = Confirmation::dpop("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
/// assert!(c.is_bound());
/// assert_eq!(
///     serde_json::to_string(&c).unwrap(),
///     r#"{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}"#
/// );
/// assert!(!Confirmation::none().is_bound());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Confirmation {
    /// DPoP key thumbprint (`cnf.jkt`).
    #[serde(rename = "jkt", default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// Certificate thumbprint (`cnf.x5t#S256`).
    #[serde(rename = "x5t#S256", default, skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
}

impl Confirmation {
    /// No binding: a bearer artefact.
    #[must_use]
    pub const fn none() -> Self {
        Self {
            jkt: None,
            x5t_s256: None,
        }
    }

    /// Bound to a DPoP key by its JWK thumbprint.
    pub fn dpop(jkt: impl Into<String>) -> Self {
        Self {
            jkt: Some(jkt.into()),
            x5t_s256: None,
        }
    }

    /// Bound to a client certificate by its SHA-256 thumbprint.
    pub fn mtls(x5t_s256: impl Into<String>) -> Self {
        Self {
            jkt: None,
            x5t_s256: Some(x5t_s256.into()),
        }
    }

    /// Whether any binding is present.
    #[must_use]
    pub const fn is_bound(&self) -> bool {
        self.jkt.is_some() || self.x5t_s256.is_some()
    }

    fn validate(&self) -> Result<(), StoreError> {
        let empty = |v: &Option<String>| v.as_deref().is_some_and(str::is_empty);
        if empty(&self.jkt) || empty(&self.x5t_s256) {
            return Err(StoreError::Invalid("empty confirmation thumbprint"));
        }
        Ok(())
    }
}

/// Whether a record expiring at `expires_at` is still live at `now`.
///
/// The single expiry rule every store applies on read: live while
/// `now < expires_at`; at or past `expires_at` it is dead.
///
/// ```
/// use attesto::store::is_live;
/// assert!(is_live(100, 99));
/// assert!(!is_live(100, 100));
/// ```
#[must_use]
pub const fn is_live(expires_at: UnixTime, now: UnixTime) -> bool {
    now < expires_at
}

/// Whether a sweeper may delete a record expiring at `expires_at` when the
/// sweep runs at `now`: strictly `expires_at < now`.
///
/// ```
/// use attesto::store::is_sweepable;
/// assert!(is_sweepable(99, 100));
/// assert!(!is_sweepable(100, 100));
/// ```
#[must_use]
pub const fn is_sweepable(expires_at: UnixTime, now: UnixTime) -> bool {
    expires_at < now
}

/// Shared input checks; every store calls the record's `validate`.
pub(crate) fn require(cond: bool, what: &'static str) -> Result<(), StoreError> {
    if cond {
        Ok(())
    } else {
        Err(StoreError::Invalid(what))
    }
}

pub(crate) fn require_lifetime(
    issued_at: UnixTime,
    expires_at: UnixTime,
) -> Result<(), StoreError> {
    require(
        expires_at > issued_at,
        "expires_at must be after the issue time",
    )
}

pub(crate) fn require_tokens(values: &[String], what: &'static str) -> Result<(), StoreError> {
    require(values.iter().all(|v| !v.is_empty()), what)
}

/// One store of each kind, as a deployment wires them: what the server
/// runtime and the conformance suite take.
pub trait Stores: Send + Sync + 'static {
    /// The authorization-code store.
    type Codes: AuthorizationCodeStore;
    /// The refresh-token store.
    type Refresh: RefreshTokenStore;
    /// The PAR store.
    type Par: ParStore;
    /// The DPoP nonce store.
    type Nonces: DpopNonceStore;
    /// The replay store.
    type Replay: ReplayStore;
    /// The device-code store.
    type Device: DeviceCodeStore;
    /// The consent-grant store.
    type Consent: ConsentGrantStore;
    /// The logout-session store.
    type Logout: LogoutSessionStore;
    /// The client-metadata cache.
    type Cimd: ClientMetadataCache;

    /// The authorization-code store.
    fn authorization_codes(&self) -> Arc<Self::Codes>;
    /// The refresh-token store.
    fn refresh_tokens(&self) -> Arc<Self::Refresh>;
    /// The PAR store.
    fn par(&self) -> Arc<Self::Par>;
    /// The DPoP nonce store.
    fn dpop_nonces(&self) -> Arc<Self::Nonces>;
    /// The replay store.
    fn replay(&self) -> Arc<Self::Replay>;
    /// The device-code store.
    fn device_codes(&self) -> Arc<Self::Device>;
    /// The consent-grant store.
    fn consent_grants(&self) -> Arc<Self::Consent>;
    /// The logout-session store.
    fn logout_sessions(&self) -> Arc<Self::Logout>;
    /// The client-metadata cache.
    fn client_metadata(&self) -> Arc<Self::Cimd>;
}

impl Stores for memory::MemoryStores {
    type Codes = memory::MemoryAuthorizationCodeStore;
    type Refresh = memory::MemoryRefreshTokenStore;
    type Par = memory::MemoryParStore;
    type Nonces = memory::MemoryDpopNonceStore;
    type Replay = memory::MemoryReplayStore;
    type Device = memory::MemoryDeviceCodeStore;
    type Consent = memory::MemoryConsentGrantStore;
    type Logout = memory::MemoryLogoutSessionStore;
    type Cimd = memory::MemoryClientMetadataCache;

    fn authorization_codes(&self) -> Arc<Self::Codes> {
        Arc::clone(&self.authorization_codes)
    }
    fn refresh_tokens(&self) -> Arc<Self::Refresh> {
        Arc::clone(&self.refresh_tokens)
    }
    fn par(&self) -> Arc<Self::Par> {
        Arc::clone(&self.par)
    }
    fn dpop_nonces(&self) -> Arc<Self::Nonces> {
        Arc::clone(&self.dpop_nonces)
    }
    fn replay(&self) -> Arc<Self::Replay> {
        Arc::clone(&self.replay)
    }
    fn device_codes(&self) -> Arc<Self::Device> {
        Arc::clone(&self.device_codes)
    }
    fn consent_grants(&self) -> Arc<Self::Consent> {
        Arc::clone(&self.consent_grants)
    }
    fn logout_sessions(&self) -> Arc<Self::Logout> {
        Arc::clone(&self.logout_sessions)
    }
    fn client_metadata(&self) -> Arc<Self::Cimd> {
        Arc::clone(&self.client_metadata)
    }
}
