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

/// HMAC-SHA-256 ([RFC 2104](https://www.rfc-editor.org/rfc/rfc2104),
/// test vectors in [RFC 4231](https://www.rfc-editor.org/rfc/rfc4231)) under
/// one key, with the key's two padded blocks absorbed once: each MAC is then
/// two SHA-256 finalizations over the message. (OpenSSL 3's EVP HMAC fetches
/// the algorithm on every call, which cost as much as a third of an ES256
/// signature per client authentication.) `Debug` shows no key material.
#[derive(Clone)]
pub(crate) struct HmacSha256 {
    /// SHA-256 state after `K ⊕ ipad`.
    inner: openssl::sha::Sha256,
    /// SHA-256 state after `K ⊕ opad`.
    outer: openssl::sha::Sha256,
}

/// The SHA-256 block size, in bytes.
const SHA256_BLOCK: usize = 64;

impl HmacSha256 {
    /// The MAC keyed by `key` (a key longer than a block is hashed first).
    pub(crate) fn new(key: &[u8]) -> Self {
        let mut block = [0u8; SHA256_BLOCK];
        let hashed;
        let key = if key.len() > SHA256_BLOCK {
            hashed = sha256(key);
            &hashed[..]
        } else {
            key
        };
        for (b, k) in block.iter_mut().zip(key) {
            *b = *k;
        }
        let mut ipad = [0x36u8; SHA256_BLOCK];
        let mut opad = [0x5cu8; SHA256_BLOCK];
        for ((i, o), k) in ipad.iter_mut().zip(opad.iter_mut()).zip(&block) {
            *i ^= k;
            *o ^= k;
        }
        let mut inner = openssl::sha::Sha256::new();
        inner.update(&ipad);
        let mut outer = openssl::sha::Sha256::new();
        outer.update(&opad);
        // Best effort: do not leave the padded key on the stack.
        for buf in [&mut block, &mut ipad, &mut opad] {
            buf.fill(0);
            std::hint::black_box(&buf);
        }
        HmacSha256 { inner, outer }
    }

    /// The MAC of the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        for p in parts {
            inner.update(p);
        }
        let inner = inner.finish();
        let mut outer = self.outer.clone();
        outer.update(&inner);
        outer.finish()
    }
}

impl fmt::Debug for HmacSha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacSha256(<redacted>)")
    }
}

/// base64url (no padding) of SHA-256 of `data`: the form used by PKCE
/// `S256`, `ath`, `x5t#S256`, and JWK thumbprints.
#[must_use]
pub fn sha256_b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha256(data))
}

#[cfg(test)]
mod tests {
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::Signer;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// OpenSSL's own (EVP) HMAC, the reference.
    fn evp_hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let key = PKey::hmac(key).unwrap();
        let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
        signer.update(msg).unwrap();
        signer.sign_to_vec().unwrap()
    }

    #[test]
    fn hmac_sha256_matches_the_rfc_4231_test_vectors() {
        // (key, data, HMAC-SHA-256) of RFC 4231 §4.2–4.8 (case 5, a
        // truncated output, does not apply).
        let long_key = "aa".repeat(131);
        let cases: [(String, Vec<u8>, &str); 6] = [
            (
                "0b".repeat(20),
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                hex_str(b"Jefe"),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                "aa".repeat(20),
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                "0102030405060708090a0b0c0d0e0f10111213141516171819".to_owned(),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                long_key.clone(),
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                long_key,
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, data, expected) in cases {
            let mac = HmacSha256::new(&hex(&key));
            assert_eq!(mac.mac(&[&data]).to_vec(), hex(expected), "key {key}");
        }
    }

    fn hex_str(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn hmac_sha256_of_parts_is_the_hmac_of_their_concatenation() {
        let mac = HmacSha256::new(b"k");
        assert_eq!(mac.mac(&[b"ab", b"", b"c"]), mac.mac(&[b"abc"]));
        assert_eq!(mac.mac(&[b"abc"]).to_vec(), evp_hmac(b"k", b"abc"));
        assert_eq!(format!("{mac:?}"), "HmacSha256(<redacted>)");
    }

    proptest! {
        #[test]
        fn hmac_sha256_equals_openssl_evp_hmac(
            key in proptest::collection::vec(any::<u8>(), 1..200),
            msg in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let ours = HmacSha256::new(&key).mac(&[&msg]);
            prop_assert_eq!(ours.to_vec(), evp_hmac(&key, &msg));
        }
    }

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
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }
}
