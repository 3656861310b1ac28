//! JOSE: algorithms, JSON Web Keys, keystores and JWS.
//!
//! This module is attesto's only seam to the JOSE backend (josekit over
//! OpenSSL today): signing, verification, JWK import/export and thumbprints
//! all go through it, so another backend can be added behind a feature
//! without touching the protocol code.
//!
//! Verification is allow-list first: the header's `alg` must be in an
//! [`AlgorithmSet`] the caller chose *and* match the key's type before any
//! signature is checked. `none` and `HS*` cannot even be represented.
//!
//! ```
//! use attesto::jose::{Algorithm, AlgorithmSet, HeaderParams, SigningKey, UnverifiedJws, sign_compact};
//! let key = SigningKey::generate(Algorithm::ES256).unwrap();
//! let jws = sign_compact(&key, &HeaderParams::typ("JWT"), br#"{"sub":"alice"}"#).unwrap();
//! let parsed = UnverifiedJws::parse(&jws, 16 * 1024).unwrap();
//! assert_eq!(parsed.header().kid.as_deref(), Some(key.kid()));
//! let verified = parsed.verify(key.verifying_key(), AlgorithmSet::new(&[Algorithm::ES256])).unwrap();
//! assert_eq!(verified.claims().unwrap()["sub"], "alice");
//! ```

mod alg;
mod json;
mod jwk;
mod jws;
mod keys;
mod keystore;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub use alg::{Algorithm, AlgorithmSet, HashLen, UnsupportedAlgorithm};
pub use jwk::{Jwk, JwkSet, MAX_JWK_LEN};
pub use jws::{
    DEFAULT_MAX_JWS_LEN, HeaderParams, JwsHeader, UnverifiedJws, VerifiedJws, sign_compact,
    typ_matches,
};
#[allow(unused_imports)] // used by the token and DPoP modules
pub(crate) use jws::{parse_json_object, sign_with_encoded_header};
pub use keys::{MIN_RSA_BITS, SigningKey, VerifyingKey};
pub use keystore::{
    JwksDocument, KeySource, Keystore, KeystoreError, StaticKeystore, StaticKeystoreBuilder,
};

/// Why a JOSE object or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// The input is structurally invalid.
    #[error("malformed JOSE object: {0}")]
    Malformed(&'static str),
    /// The input exceeds the size limit.
    #[error("JOSE object too large")]
    TooLarge,
    /// A segment is not valid unpadded base64url.
    #[error("invalid base64url")]
    Base64,
    /// A JSON object repeats a member name.
    #[error("duplicate member name in JSON object")]
    DuplicateMember,
    /// `alg` is `none`, symmetric, or unknown.
    #[error("unsupported JWS algorithm")]
    UnsupportedAlgorithm,
    /// `alg` is supported but not in the caller's allow-list.
    #[error("JWS algorithm {0} is not allowed here")]
    AlgorithmNotAllowed(Algorithm),
    /// The key cannot be used with the algorithm (wrong type, curve or declared `alg`).
    #[error("the key does not match the algorithm")]
    KeyMismatch,
    /// No key matches the header's `kid`/`alg`.
    #[error("no matching key")]
    UnknownKey,
    /// The header carries `crit` (or `b64`): extensions attesto does not understand.
    #[error("unsupported critical header parameter")]
    CriticalHeader,
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// The key is unusable.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// A cryptographic operation failed unexpectedly.
    #[error("cryptographic operation failed")]
    Crypto,
}

/// Strict unpadded base64url decoding: no padding, no whitespace, no
/// non-canonical trailing bits.
pub(crate) fn b64_decode(s: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD.decode(s).map_err(|_| JoseError::Base64)
}

pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
