//! [`TokenHash`] and [`FamilyId`]: the keys stores are addressed by.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// SHA-256 of a raw code, token, request URI, nonce or consent token.
///
/// Stores only ever see this hash, never the raw value, so a leaked store
/// yields no usable credential
/// ([RFC 6749 §10.5](https://www.rfc-editor.org/rfc/rfc6749#section-10.5)).
/// The raw values attesto mints carry at least 256 bits of entropy, so an
/// unsalted hash is not reversible and comparing hashes with `==` leaks
/// nothing useful through timing.
///
/// `Debug` shows only the first four bytes in hex. The serde and text forms
/// are base64url without padding (43 characters); SQL stores may persist
/// [`as_bytes`](Self::as_bytes) (32 bytes) instead.
///
/// ```
/// use attesto::store::TokenHash;
/// let h = TokenHash::of("abc");
/// assert_eq!(h.to_b64url(), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
/// assert_eq!(format!("{h:?}"), "TokenHash(ba7816bf…)");
/// assert_eq!(TokenHash::from_b64url(&h.to_b64url()), Ok(h));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of a raw value (SHA-256 of its UTF-8 bytes).
    #[must_use]
    pub fn of(raw: &str) -> Self {
        Self::of_bytes(raw.as_bytes())
    }

    /// The hash of raw bytes.
    #[must_use]
    pub fn of_bytes(raw: &[u8]) -> Self {
        Self(crate::secret::sha256(raw))
    }

    /// The hash of several values, unambiguously: each part is prefixed with
    /// its length (8 bytes, big-endian), so `["ab", "c"]` and `["a", "bc"]`
    /// hash differently.
    ///
    /// Use it for composite keys, e.g. a client assertion's replay key
    /// `TokenHash::of_parts(&[client_id, jti])`.
    ///
    /// ```
    /// use attesto::store::TokenHash;
    /// assert_ne!(TokenHash::of_parts(&["ab", "c"]), TokenHash::of_parts(&["a", "bc"]));
    /// ```
    #[must_use]
    pub fn of_parts(parts: &[&str]) -> Self {
        let mut hasher = openssl::sha::Sha256::new();
        for part in parts {
            let len = u64::try_from(part.len()).unwrap_or(u64::MAX);
            hasher.update(&len.to_be_bytes());
            hasher.update(part.as_bytes());
        }
        Self(hasher.finish())
    }

    /// Wrap a digest that was computed elsewhere (or read back from a store).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Wrap a digest read from a store as a byte slice.
    ///
    /// # Errors
    /// [`TokenHashParseError`] unless the slice is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, TokenHashParseError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| TokenHashParseError)
    }

    /// The 32 digest bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// base64url without padding (43 characters).
    #[must_use]
    pub fn to_b64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parse the form produced by [`to_b64url`](Self::to_b64url).
    ///
    /// # Errors
    /// [`TokenHashParseError`] for anything that is not exactly 43 base64url
    /// characters decoding to 32 bytes (padding, whitespace and the standard
    /// alphabet are rejected).
    pub fn from_b64url(text: &str) -> Result<Self, TokenHashParseError> {
        if text.len() != 43 {
            return Err(TokenHashParseError);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| TokenHashParseError)?;
        let hash = Self::from_slice(&bytes)?;
        // Reject non-canonical encodings (non-zero trailing bits), so that one
        // digest has exactly one text form.
        if hash.to_b64url() != text {
            return Err(TokenHashParseError);
        }
        Ok(hash)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(")?;
        for byte in self.0.iter().take(4) {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("…)")
    }
}

impl Serialize for TokenHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_b64url())
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_b64url(&text).map_err(serde::de::Error::custom)
    }
}

/// A string that is not a valid [`TokenHash`] encoding, or a byte slice that is
/// not 32 bytes long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 token hash (expected 32 bytes / 43 base64url characters)")]
#[non_exhaustive]
pub struct TokenHashParseError;

/// Identifies a refresh-token family: every token descended from one grant
/// ([RFC 6749 §10.4](https://www.rfc-editor.org/rfc/rfc6749#section-10.4)).
///
/// Minted by the server (random, unguessable is not required but uniqueness
/// is); a family is revoked as a whole when reuse is detected. Not a secret.
///
/// ```
/// use attesto::store::FamilyId;
/// let f = FamilyId::new("fam_123");
/// assert_eq!(f.as_str(), "fam_123");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FamilyId(String);

impl FamilyId {
    /// Wrap a family identifier.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
