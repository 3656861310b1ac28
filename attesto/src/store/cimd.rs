//! Cache of Client ID Metadata Documents
//! ([draft-ietf-oauth-client-id-metadata-document](https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/)).

use std::future::Future;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::{StoreError, require, require_lifetime};
use crate::clock::UnixTime;

/// A validated metadata document for a URL-shaped `client_id`.
///
/// Only documents that passed validation are cached, with an `expires_at`
/// derived from the response's HTTP freshness
/// ([RFC 9111 §4.2](https://www.rfc-editor.org/rfc/rfc9111#section-4.2)) and
/// clamped to the host's bounds. Errors and invalid documents are never cached.
/// Public metadata: stored in plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedClientMetadata {
    /// The `client_id` URL the document was fetched from (the key).
    pub client_id: String,
    /// The validated document (RFC 7591 client metadata).
    pub document: serde_json::Map<String, serde_json::Value>,
    /// The response's `ETag`, if any.
    pub etag: Option<String>,
    /// When it was fetched.
    pub fetched_at: UnixTime,
    /// When it stops being served.
    pub expires_at: UnixTime,
}

impl CachedClientMetadata {
    /// Check the entry before it is written; stores call this.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty `client_id` or
    /// `expires_at <= fetched_at`.
    pub fn validate(&self) -> Result<(), StoreError> {
        require(!self.client_id.is_empty(), "cimd: empty client_id")?;
        require_lifetime(self.fetched_at, self.expires_at)
    }
}

/// Shared cache of Client ID Metadata Documents.
///
/// A shared cache keeps a cluster coherent and bounds outbound fetch fan-out;
/// a per-node cache is also correct, since a miss only re-fetches.
///
/// # Atomic contract
///
/// * [`put`](Self::put) **upserts** on `client_id`, replacing the document,
///   `etag` and expiry: the latest accepted fetch wins (SQL: `INSERT … ON
///   CONFLICT (client_id) DO UPDATE`).
/// * [`get`](Self::get) is never stale: it returns an entry only while
///   `now < expires_at`.
pub trait ClientMetadataCache: Send + Sync + 'static {
    /// The fresh entry for `client_id`, or `None` (absent or expired).
    ///
    /// # Errors
    /// Backend errors only (the resolver then fetches, or fails closed).
    fn get(
        &self,
        client_id: &str,
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<CachedClientMetadata>, StoreError>> + Send;

    /// Insert or replace the entry for its `client_id`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`], or a backend error.
    fn put(
        &self,
        entry: CachedClientMetadata,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Remove the entry for `client_id` (e.g. after the document became
    /// invalid). Removing an absent entry is a no-op.
    ///
    /// # Errors
    /// Backend errors only.
    fn remove(&self, client_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

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
