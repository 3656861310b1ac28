//! [`StoreError`]: failures of the storage boundary.

/// A boxed error from a store backend.
type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store operation failed.
///
/// Protocol outcomes ("already redeemed", "expired", "replayed") are **not**
/// errors: they are the `Ok` values of each method. A `StoreError` means the
/// store could not give an answer, and the server must fail closed.
///
/// ```
/// use attesto::store::StoreError;
/// let e = StoreError::unavailable(std::io::Error::other("connection refused"));
/// assert!(e.is_unavailable());
/// assert_eq!(e.to_string(), "the store backend is unavailable");
/// assert!(std::error::Error::source(&e).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or failed (connection, pool timeout,
    /// I/O, lock poisoning). Transient: the server answers
    /// `503 Service Unavailable` and may retry.
    #[error("the store backend is unavailable")]
    Unavailable(#[source] BoxError),
    /// A stored row could not be decoded into a record (bad JSON, a hash of the
    /// wrong length, an unknown status). The row is never honoured.
    #[error("a stored record is corrupt")]
    Corrupt(#[source] BoxError),
    /// The caller passed input that violates the store contract (empty
    /// identifier, `expires_at` not after the issue time, malformed PKCE
    /// challenge, a device code inserted in a non-pending state, …). Nothing
    /// was written.
    #[error("invalid store input: {0}")]
    Invalid(&'static str),
    /// A record with the same key already exists. Stores never overwrite a
    /// credential; the caller mints a fresh value and retries (a collision of
    /// 256-bit random values means the random source is broken, so retry at
    /// most a few times).
    #[error("a record with this key already exists")]
    Duplicate,
}

impl StoreError {
    /// A backend outage, wrapping its cause.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::Unavailable(source.into())
    }

    /// A corrupt row, wrapping the decoding error.
    pub fn corrupt(source: impl Into<BoxError>) -> Self {
        Self::Corrupt(source.into())
    }

    /// Whether this is a backend outage (answer 503).
    #[must_use]
    pub const fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}
