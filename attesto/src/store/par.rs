//! Pushed authorization requests ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)).

use std::future::Future;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::{StoreError, TokenHash, require, require_lifetime};
use crate::clock::UnixTime;

/// A pushed authorization request, keyed by the hash of its `request_uri`
/// ([RFC 9126 §2.2](https://www.rfc-editor.org/rfc/rfc9126#section-2.2)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedRequest {
    /// SHA-256 of the full `request_uri`
    /// (`urn:ietf:params:oauth:request_uri:…`).
    pub request_uri_hash: TokenHash,
    /// The authenticated client that pushed the request. The reference resolves
    /// only for this client
    /// ([RFC 9126 §4](https://www.rfc-editor.org/rfc/rfc9126#section-4)).
    pub client_id: String,
    /// The validated, normalised authorization request parameters, with client
    /// authentication parameters removed. Opaque to the store.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// When it was pushed.
    pub issued_at: UnixTime,
    /// When the reference expires (`issued_at + expires_in`).
    pub expires_at: UnixTime,
}

impl PushedRequest {
    /// Check the record before it is written; stores call this.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty `client_id` or
    /// `expires_at <= issued_at`.
    pub fn validate(&self) -> Result<(), StoreError> {
        require(!self.client_id.is_empty(), "par: empty client_id")?;
        require_lifetime(self.issued_at, self.expires_at)
    }
}

/// The result of [`ParStore::fetch`] and [`ParStore::take`], decided in this
/// order: `NotFound`, `ClientMismatch`, `Expired`, `Found` (another client
/// learns nothing about a reference's expiry).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParOutcome {
    /// The live request, pushed by the requesting client.
    Found(PushedRequest),
    /// The reference exists and is live but was pushed by another client. Not
    /// consumed, so whoever merely saw the URL cannot burn it.
    ClientMismatch,
    /// The reference exists but is past its expiry.
    Expired,
    /// No such reference (never pushed, already taken, or swept).
    NotFound,
}

/// Storage of pushed authorization requests.
///
/// The authorization endpoint resolves a `request_uri` with
/// [`fetch`](Self::fetch), which does **not** consume it: hosts re-enter the
/// endpoint with the same reference after a login or consent detour. The
/// reference is single use overall: the server [`take`](Self::take)s it when it
/// issues the authorization code, so a completed flow cannot be replayed.
///
/// # Atomic contract
///
/// * [`take`](Self::take) is **one atomic delete-returning** guarded by client
///   and expiry (SQL: `DELETE … WHERE request_uri_hash = $1 AND client_id = $2
///   AND expires_at > $now RETURNING …`). Of any number of concurrent callers,
///   on any node, **exactly one** gets [`ParOutcome::Found`]; the others get
///   `NotFound`. A caller with the wrong client gets `ClientMismatch` and
///   consumes nothing.
/// * [`insert`](Self::insert) never overwrites ([`StoreError::Duplicate`]).
/// * Reads re-check expiry and client binding every time.
pub trait ParStore: Send + Sync + 'static {
    /// Store a pushed request.
    ///
    /// # Errors
    /// [`StoreError::Invalid`], [`StoreError::Duplicate`], or a backend error.
    fn insert(&self, request: PushedRequest)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Non-consuming, client-bound read at `now`.
    ///
    /// # Errors
    /// Backend errors only.
    fn fetch(
        &self,
        request_uri_hash: TokenHash,
        client_id: &str,
        now: UnixTime,
    ) -> impl Future<Output = Result<ParOutcome, StoreError>> + Send;

    /// Atomically consume the reference; see the trait's atomic contract.
    ///
    /// # Errors
    /// Backend errors only.
    fn take(
        &self,
        request_uri_hash: TokenHash,
        client_id: &str,
        now: UnixTime,
    ) -> impl Future<Output = Result<ParOutcome, StoreError>> + Send;

    /// Delete at most `batch` requests with `expires_at < now`; returns how many
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
