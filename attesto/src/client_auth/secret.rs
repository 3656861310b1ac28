//! Registered client secrets: generation, keyed hashing, constant-time verification.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::secret::{HmacSha256, RandomError, RandomSource, Secret, ct_eq, sha256};

const HASH_PREFIX: &str = "hmac-sha256:";
const HASH_DOMAIN: &[u8] = b"attesto/client-secret/v1\0";

/// Generate a client secret: 32 random bytes (256 bits), base64url — 43
/// `VSCHAR`s that survive Basic form-urlencoding unchanged.
///
/// ```
/// use attesto::client_auth::generate_client_secret;
/// use attesto::secret::OsRandom;
/// let s = generate_client_secret(&OsRandom).unwrap();
/// assert_eq!(s.expose().len(), 43);
/// ```
///
/// # Errors
/// When the random source fails.
pub fn generate_client_secret(rng: &(impl RandomSource + ?Sized)) -> Result<Secret, RandomError> {
    rng.token(32).map(Secret::new)
}

/// The stored form of a client secret: `hmac-sha256:<base64url tag>`.
///
/// Not secret by itself, but only useful together with the pepper; keep it
/// out of logs anyway (its `Debug` is redacted).
#[derive(Clone, PartialEq, Eq)]
pub struct HashedSecret(String);

impl HashedSecret {
    /// Wrap a value read back from storage.
    ///
    /// # Errors
    /// [`SecretHasherError::MalformedHash`] if it is not a hash produced by
    /// [`SecretHasher::hash`].
    pub fn from_stored(value: impl Into<String>) -> Result<Self, SecretHasherError> {
        let value = value.into();
        if decode_tag(&value).is_none() {
            return Err(SecretHasherError::MalformedHash);
        }
        Ok(Self(value))
    }

    /// The value to store.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HashedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashedSecret(<redacted>)")
    }
}

fn decode_tag(stored: &str) -> Option<[u8; 32]> {
    let b64 = stored.strip_prefix(HASH_PREFIX)?;
    let raw = URL_SAFE_NO_PAD.decode(b64).ok()?;
    <[u8; 32]>::try_from(raw.as_slice()).ok()
}

/// How a registered client's secret is kept.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoredSecret {
    /// A keyed hash from [`SecretHasher::hash`] (recommended).
    Hashed(HashedSecret),
    /// The secret itself (for hosts that must keep it, e.g. to support
    /// secret-keyed algorithms elsewhere). Compared in constant time.
    Plain(Secret),
}

/// Why a [`SecretHasher`] operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SecretHasherError {
    /// The pepper is shorter than 32 bytes.
    #[error("the secret pepper must be at least 32 bytes")]
    ShortPepper,
    /// A stored value is not a hash this hasher produced.
    #[error("malformed stored secret hash")]
    MalformedHash,
    /// HMAC failed.
    #[error("HMAC computation failed")]
    Crypto,
}

/// Hashes and verifies client secrets with HMAC-SHA256 under a server pepper.
///
/// Server-generated client secrets carry 256 bits of entropy
/// ([`generate_client_secret`]), so a slow password hash buys nothing: a
/// keyed fast hash already makes a leaked table useless without the pepper,
/// and keeps the token endpoint cheap. Do **not** use this for low-entropy,
/// human-chosen secrets.
///
/// ```
/// use attesto::client_auth::SecretHasher;
/// let h = SecretHasher::new(b"an application-wide pepper of 32+ bytes!").unwrap();
/// let stored = h.hash("s3cr3t").unwrap();
/// assert!(stored.as_str().starts_with("hmac-sha256:"));
/// assert!(h.verify("s3cr3t", &stored));
/// assert!(!h.verify("s3cr3T", &stored));
/// ```
pub struct SecretHasher {
    key: HmacSha256,
    dummy: [u8; 32],
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHasher(<redacted>)")
    }
}

impl SecretHasher {
    /// A hasher keyed by `pepper` (at least 32 bytes; keep it out of the
    /// database that holds the hashes).
    ///
    /// # Errors
    /// [`SecretHasherError::ShortPepper`] or [`SecretHasherError::Crypto`].
    pub fn new(pepper: &[u8]) -> Result<Self, SecretHasherError> {
        if pepper.len() < 32 {
            return Err(SecretHasherError::ShortPepper);
        }
        let key = HmacSha256::new(pepper);
        let dummy = key.mac(&[HASH_DOMAIN, b"\0attesto-unknown-client\0"]);
        Ok(Self { key, dummy })
    }

    fn tag(&self, secret: &str) -> [u8; 32] {
        self.key.mac(&[HASH_DOMAIN, secret.as_bytes()])
    }

    /// The stored form of `secret`.
    ///
    /// # Errors
    /// None at present: the HMAC is computed without a fallible OpenSSL
    /// call. The `Result` (and [`SecretHasherError::Crypto`]) stay so that
    /// callers need not change if a fallible key source comes back.
    pub fn hash(&self, secret: &str) -> Result<HashedSecret, SecretHasherError> {
        let tag = self.tag(secret);
        Ok(HashedSecret(format!(
            "{HASH_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(tag)
        )))
    }

    /// Whether `presented` hashes to `stored` (constant-time comparison).
    /// Fails closed on any internal error.
    #[must_use]
    pub fn verify(&self, presented: &str, stored: &HashedSecret) -> bool {
        let tag = self.tag(presented);
        let Some(expected) = decode_tag(&stored.0) else {
            return false;
        };
        ct_eq(&tag, &expected)
    }

    /// Whether `presented` equals `stored`, whichever way it is kept. A plain
    /// secret is compared through SHA-256 digests so that the comparison
    /// time does not depend on where, or whether, the lengths differ.
    #[must_use]
    pub fn verify_stored(&self, presented: &str, stored: &StoredSecret) -> bool {
        match stored {
            StoredSecret::Hashed(h) => self.verify(presented, h),
            StoredSecret::Plain(s) => {
                // Spend the same HMAC as the hashed path too.
                std::hint::black_box(self.tag(presented));
                ct_eq(
                    &sha256(presented.as_bytes()),
                    &sha256(s.expose().as_bytes()),
                )
            }
        }
    }

    /// Spend the same work as [`verify`](Self::verify) and return `false`:
    /// for unknown or revoked clients, so that "no such client" and "wrong
    /// secret" take the same time (RFC 6749 §2.3, seed: the dummy
    /// verification against the unknown-client sentinel).
    #[must_use]
    pub fn verify_dummy(&self, presented: &str) -> bool {
        let tag = self.tag(presented);
        // A presented secret cannot hash to the dummy, whose input is
        // domain-separated; compare anyway for equal timing, then refuse.
        let _ = ct_eq(&tag, &self.dummy);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> SecretHasher {
        SecretHasher::new(&[9u8; 32]).unwrap()
    }

    #[test]
    fn hashes_depend_on_the_pepper() {
        let a = hasher().hash("x").unwrap();
        let b = SecretHasher::new(&[8u8; 32]).unwrap().hash("x").unwrap();
        assert_ne!(a, b);
        assert!(!SecretHasher::new(&[8u8; 32]).unwrap().verify("x", &a));
    }

    #[test]
    fn short_pepper_is_refused() {
        assert!(matches!(
            SecretHasher::new(&[0u8; 31]),
            Err(SecretHasherError::ShortPepper)
        ));
    }

    #[test]
    fn stored_hash_round_trips_and_garbage_is_refused() {
        let h = hasher();
        let stored = h.hash("pw").unwrap();
        let back = HashedSecret::from_stored(stored.as_str().to_owned()).unwrap();
        assert!(h.verify("pw", &back));
        for bad in ["", "hmac-sha256:", "hmac-sha256:AAAA", "sha256:abc", "pw"] {
            assert!(HashedSecret::from_stored(bad).is_err(), "{bad}");
        }
        assert!(!format!("{stored:?}").contains("hmac"));
    }

    #[test]
    fn plain_stored_secrets_compare_exactly() {
        let h = hasher();
        let s = StoredSecret::Plain(Secret::new("abc"));
        assert!(h.verify_stored("abc", &s));
        assert!(!h.verify_stored("abcd", &s));
        assert!(!h.verify_stored("", &s));
    }

    #[test]
    fn dummy_verification_never_succeeds() {
        let h = hasher();
        for s in [
            "",
            "x",
            "attesto-unknown-client",
            "\0attesto-unknown-client\0",
        ] {
            assert!(!h.verify_dummy(s));
        }
    }
}
