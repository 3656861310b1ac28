//! Secrets and randomness.
//!
//! [`Secret`] holds credential material (client secrets, refresh tokens,
//! authorization codes). It has a redacted `Debug`, no `Display` and no
//! `Serialize`; the bytes are reachable through one accessor,
//! [`Secret::expose`], so every use is greppable. Comparison is constant-time.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// A credential that must never be logged.
///
/// ```
/// use attesto::secret::Secret;
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
/// assert!(s.ct_eq_str("hunter2"));
/// assert!(!s.ct_eq_str("hunter3"));
/// ```
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Call this only where the value must leave the
    /// process (a response body) or be hashed.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a candidate value.
    #[must_use]
    pub fn ct_eq_str(&self, candidate: &str) -> bool {
        ct_eq(self.0.as_bytes(), candidate.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for Secret {}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the buffer before it is freed.
        // SAFETY-free: we own the String; writing zeros keeps it valid UTF-8.
        let len = self.0.len();
        self.0.clear();
        self.0.extend(std::iter::repeat_n('\0', len));
        self.0.clear();
    }
}

/// Constant-time byte comparison. Lengths are compared in constant time too,
/// but the length itself is not secret (it leaks through timing of the
/// caller's I/O anyway).
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Fill `buf` with cryptographically secure random bytes.
///
/// # Errors
/// Fails only if the operating system's CSPRNG fails; callers must fail closed.
pub fn fill_random(buf: &mut [u8]) -> Result<(), RandomError> {
    openssl::rand::rand_bytes(buf).map_err(|_| RandomError)
}

/// The operating system's random source failed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// A source of random tokens. Injectable so tests can be exact.
pub trait RandomSource: Send + Sync {
    /// Fill `buf` with random bytes.
    ///
    /// # Errors
    /// When the underlying generator fails.
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError>;

    /// A URL-safe random token with `bytes` bytes of entropy (base64url, no padding).
    ///
    /// # Errors
    /// When the underlying generator fails.
    fn token(&self, bytes: usize) -> Result<String, RandomError> {
        let mut buf = vec![0u8; bytes];
        self.fill(&mut buf)?;
        Ok(URL_SAFE_NO_PAD.encode(&buf))
    }
}

/// The operating system CSPRNG (through OpenSSL's `RAND_bytes`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        fill_random(buf)
    }
}

/// SHA-256 of `data`.
#[must_use]
pub fn sha256(data: &[u8]) -> [u8; 32] {
    openssl::sha::sha256(data)
}

/// base64url (no padding) of SHA-256 of `data`: the form used by PKCE
/// `S256`, `ath`, `x5t#S256`, and JWK thumbprints.
#[must_use]
pub fn sha256_b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha256(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("top-secret-value");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("top-secret"));
    }

    #[test]
    fn ct_eq_rejects_different_lengths_and_prefixes() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"", b"a"));
    }

    #[test]
    fn os_random_tokens_are_distinct_and_url_safe() {
        let a = OsRandom.token(32).unwrap();
        let b = OsRandom.token(32).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
