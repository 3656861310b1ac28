//! DPoP: Demonstrating Proof of Possession ([RFC 9449](https://www.rfc-editor.org/rfc/rfc9449)).
//!
//! A DPoP proof is a JWT signed by a key the client holds, whose public half
//! travels in the `jwk` header. [`DpopVerifier`] checks everything
//! [RFC 9449 §4.3](https://www.rfc-editor.org/rfc/rfc9449#section-4.3)
//! requires, in this order, failing closed at the first problem:
//!
//! 1. at most one `DPoP` header ([`single_proof_header`]);
//! 2. size cap, then a well-formed compact JWS with a strict header;
//! 3. `typ` is exactly `dpop+jwt`; `alg` is asymmetric and allow-listed
//!    (`none` and `HS*` cannot even be represented);
//! 4. `jwk` is present and a public key (any private member is refused);
//! 5. the signature verifies with that `jwk`;
//! 6. claims: `jti` (bounded string), `htm` (exact), `htu` (normalized
//!    comparison, [`normalize_htu`]), `iat` within the window;
//! 7. `ath` = base64url(SHA-256(access token)) when an access token is
//!    presented (constant-time), and absent otherwise;
//! 8. the key thumbprint (`jkt`, RFC 7638) equals the expected one when the
//!    token or authorization request is bound to a key;
//! 9. the server nonce, per [`NoncePolicy`] ([`DpopNonceSource`]);
//! 10. the `jti` is recorded atomically ([`JtiReplayGuard`]); a second use
//!     is refused.
//!
//! Steps 1–8 are pure and synchronous ([`DpopVerifier::verify_proof`]);
//! steps 9 and 10 may need a shared store and are async
//! ([`DpopVerifier::check_nonce`], [`DpopVerifier::check_replay`]).
//! [`DpopVerifier::verify`] runs them all; use the split form only when
//! something must happen in between.
//!
//! ```
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! use attesto::dpop::{DpopContext, DpopVerifier, NoNonces, SingleNodeReplayGuard};
//! use attesto::jose::{Algorithm, HeaderParams, SigningKey, sign_compact};
//!
//! // the client
//! let key = SigningKey::generate(Algorithm::ES256).unwrap();
//! let now = 1_700_000_000;
//! let claims = serde_json::json!({
//!     "jti": "e1j3V_bKic8-LAEB", "htm": "POST",
//!     "htu": "https://server.example.com/token", "iat": now,
//! });
//! let mut header = HeaderParams::typ("dpop+jwt");
//! header.jwk = Some(key.public_jwk());
//! header.omit_kid = true;
//! let proof = sign_compact(&key, &header, claims.to_string().as_bytes()).unwrap();
//!
//! // the server
//! let verifier = DpopVerifier::default();
//! let guard = SingleNodeReplayGuard::new();
//! let ctx = DpopContext::new("POST", "https://server.example.com/token?x=1", now);
//! let verified = block_on(verifier.verify(&proof, &ctx, &NoNonces, &guard)).unwrap();
//! assert_eq!(verified.jkt, key.verifying_key().thumbprint());
//! // the same proof again is a replay
//! let err = block_on(verifier.verify(&proof, &ctx, &NoNonces, &guard)).unwrap_err();
//! assert_eq!(err.error_code(), "invalid_dpop_proof");
//! ```

mod htu;
mod nonce;
mod replay;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

pub use htu::{HtuError, normalize_htu};
pub use nonce::{DpopNonceSource, NoNonces, NonceIssuer, NonceIssuerError, NoncesDisabled};
pub use replay::{
    JtiReplayGuard, ReplayGuardUnavailable, ReplayKey, ReplayScope, SingleNodeReplayGuard,
};

use crate::clock::UnixTime;
use crate::jose::{Algorithm, AlgorithmSet, JoseError, Jwk, UnverifiedJws, VerifyingKey};
use crate::secret::{ct_eq, sha256_b64url};

/// The `typ` a DPoP proof must carry ([RFC 9449 §4.2](https://www.rfc-editor.org/rfc/rfc9449#section-4.2)).
pub const DPOP_TYP: &str = "dpop+jwt";

/// The longest `jti` accepted, in bytes.
pub const MAX_JTI_LEN: usize = 256;

/// The longest `nonce` claim accepted, in bytes.
pub const MAX_NONCE_LEN: usize = 512;

/// The default cap on a proof's length, in bytes (an RSA-4096 proof is about 2 KiB).
pub const DEFAULT_MAX_PROOF_LEN: usize = 8 * 1024;

/// The default maximum age of a proof (`now - iat`), in seconds.
pub const DEFAULT_MAX_AGE: i64 = 60;

/// The default tolerance for an `iat` in the future (client clock ahead), in seconds.
pub const DEFAULT_FUTURE_SKEW: i64 = 10;

/// The default number of imported proof keys kept (see
/// [`DpopVerifierBuilder::key_cache_capacity`]).
pub const DEFAULT_KEY_CACHE_CAPACITY: usize = 1024;

/// Pick the proof from the request's `DPoP` header values
/// ([RFC 9449 §4.3](https://www.rfc-editor.org/rfc/rfc9449#section-4.3) step 1:
/// "there is not more than one `DPoP` HTTP request header field").
///
/// ```
/// use attesto::dpop::single_proof_header;
/// assert_eq!(single_proof_header(&[]).unwrap(), None);
/// assert_eq!(single_proof_header(&["a.b.c"]).unwrap(), Some("a.b.c"));
/// assert!(single_proof_header(&["a.b.c", "d.e.f"]).is_err());
/// ```
///
/// # Errors
/// [`DpopError::MultipleProofs`] for more than one header (anti header
/// smuggling).
pub fn single_proof_header<'a>(values: &[&'a str]) -> Result<Option<&'a str>, DpopError> {
    match values {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(DpopError::MultipleProofs),
    }
}

/// When the server requires a nonce in proofs
/// ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum NoncePolicy {
    /// The server issues no nonces; a `nonce` claim is ignored.
    #[default]
    Disabled,
    /// A proof without `nonce` is accepted; a present `nonce` must be valid.
    Optional,
    /// Every proof must carry a valid nonce; otherwise the answer is
    /// `use_dpop_nonce` with a fresh one.
    Required,
}

/// Why a [`DpopVerifier`] configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopConfigError {
    /// The algorithm allow-list is empty.
    #[error("the DPoP algorithm allow-list is empty")]
    NoAlgorithms,
    /// `max_age` must be 1..=300 s and the future skew 0..=60 s.
    #[error("the iat window is out of bounds (max age 1..=300 s, future skew 0..=60 s)")]
    IatWindow,
    /// The proof size cap must be 512..=65536 bytes.
    #[error("the proof size cap must be 512..=65536 bytes")]
    MaxProofLen,
    /// The key cache holds at most 65536 keys.
    #[error("the key cache capacity must be at most 65536")]
    KeyCacheCapacity,
}

/// Checks DPoP proof JWTs ([RFC 9449 §4.3](https://www.rfc-editor.org/rfc/rfc9449#section-4.3)).
///
/// Defaults: every supported asymmetric algorithm, proofs up to 60 s old and
/// 10 s in the future, 8 KiB maximum, nonces disabled.
///
/// ```
/// use attesto::dpop::{DpopVerifier, NoncePolicy};
/// use attesto::jose::AlgorithmSet;
/// let v = DpopVerifier::builder()
///     .algorithms(AlgorithmSet::FAPI)
///     .iat_window(30, 5)
///     .nonce_policy(NoncePolicy::Required)
///     .build()
///     .unwrap();
/// assert_eq!(v.algorithms().to_string(), "ES256 PS256 EdDSA");
/// assert!(DpopVerifier::builder().iat_window(3600, 0).build().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct DpopVerifier {
    algorithms: AlgorithmSet,
    max_age: i64,
    future_skew: i64,
    max_proof_len: usize,
    nonce_policy: NoncePolicy,
    keys: Arc<KeyCache>,
}

impl Default for DpopVerifier {
    fn default() -> Self {
        Self {
            algorithms: AlgorithmSet::ALL,
            max_age: DEFAULT_MAX_AGE,
            future_skew: DEFAULT_FUTURE_SKEW,
            max_proof_len: DEFAULT_MAX_PROOF_LEN,
            nonce_policy: NoncePolicy::Disabled,
            keys: Arc::new(KeyCache::new(DEFAULT_KEY_CACHE_CAPACITY)),
        }
    }
}

/// Imported proof keys by (RFC 7638 thumbprint, alg). Importing a JWK costs
/// far more than verifying a signature, and a client signs many proofs with
/// one key. The thumbprint is a SHA-256 over all of the key material, so
/// equal thumbprints mean the same key; the `jwk`'s optional members (its
/// declared `alg`) are still checked on every proof before the lookup. A
/// full cache is emptied (an attacker flooding it only costs imports).
#[derive(Debug)]
struct KeyCache {
    capacity: usize,
    map: Mutex<HashMap<(String, Algorithm), Arc<VerifyingKey>>>,
}

impl KeyCache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn get_or_import(
        &self,
        jwk: &Jwk,
        jkt: &str,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, JoseError> {
        let import =
            || VerifyingKey::from_jwk(jwk.clone(), AlgorithmSet::new(&[alg])).map(Arc::new);
        if self.capacity == 0 {
            return import();
        }
        let cache_key = (jkt.to_owned(), alg);
        // A poisoned lock only means another thread panicked mid-insert; the
        // cache is an optimization, so fall back to importing.
        if let Some(hit) = self
            .map
            .lock()
            .ok()
            .and_then(|m| m.get(&cache_key).cloned())
        {
            return Ok(hit);
        }
        let key = import()?;
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= self.capacity {
                m.clear();
            }
            m.insert(cache_key, Arc::clone(&key));
        }
        Ok(key)
    }
}

/// Builds a [`DpopVerifier`]; see [`DpopVerifier::builder`].
#[derive(Debug, Clone)]
pub struct DpopVerifierBuilder {
    inner: DpopVerifier,
}

impl DpopVerifierBuilder {
    /// The accepted `alg` values (default: every supported asymmetric algorithm).
    #[must_use]
    pub fn algorithms(mut self, algorithms: AlgorithmSet) -> Self {
        self.inner.algorithms = algorithms;
        self
    }

    /// Accept proofs whose `iat` is at most `max_age` seconds in the past and
    /// `future_skew` seconds in the future.
    #[must_use]
    pub fn iat_window(mut self, max_age: i64, future_skew: i64) -> Self {
        self.inner.max_age = max_age;
        self.inner.future_skew = future_skew;
        self
    }

    /// The largest proof accepted, in bytes.
    #[must_use]
    pub fn max_proof_len(mut self, len: usize) -> Self {
        self.inner.max_proof_len = len;
        self
    }

    /// The nonce policy (default [`NoncePolicy::Disabled`]).
    #[must_use]
    pub fn nonce_policy(mut self, policy: NoncePolicy) -> Self {
        self.inner.nonce_policy = policy;
        self
    }

    /// How many imported proof keys to keep (default
    /// [`DEFAULT_KEY_CACHE_CAPACITY`]; 0 disables the cache). Importing a
    /// JWK costs more than checking a signature, and clients reuse one key
    /// for many proofs. Clones of a verifier share the cache.
    #[must_use]
    pub fn key_cache_capacity(mut self, capacity: usize) -> Self {
        self.inner.keys = Arc::new(KeyCache::new(capacity));
        self
    }

    /// Check the bounds and build.
    ///
    /// # Errors
    /// [`DpopConfigError`] for an empty allow-list, an unbounded `iat`
    /// window, or an unreasonable size cap.
    pub fn build(self) -> Result<DpopVerifier, DpopConfigError> {
        let v = self.inner;
        if v.algorithms.is_empty() {
            return Err(DpopConfigError::NoAlgorithms);
        }
        if !(1..=300).contains(&v.max_age) || !(0..=60).contains(&v.future_skew) {
            return Err(DpopConfigError::IatWindow);
        }
        if !(512..=65536).contains(&v.max_proof_len) {
            return Err(DpopConfigError::MaxProofLen);
        }
        if v.keys.capacity > 65536 {
            return Err(DpopConfigError::KeyCacheCapacity);
        }
        Ok(v)
    }
}

/// What the server knows about the request a proof is attached to.
///
/// `uri` is the server's canonical target URI of the request (derived from
/// trusted configuration, never from untrusted `Host`/forwarded headers); its
/// query and fragment are ignored.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct DpopContext<'a> {
    /// The request method (`htm` must equal it exactly).
    pub method: &'a str,
    /// The request's target URI.
    pub uri: &'a str,
    /// The access token presented with the request, if any: the proof must
    /// then carry a matching `ath`.
    pub access_token: Option<&'a str>,
    /// The thumbprint the proof key must have: the token's `cnf.jkt`, or the
    /// `dpop_jkt` of the authorization request.
    pub expected_jkt: Option<&'a str>,
    /// The current time.
    pub now: UnixTime,
}

impl<'a> DpopContext<'a> {
    /// A context for a request without an access token or key binding (e.g.
    /// a token request).
    #[must_use]
    pub fn new(method: &'a str, uri: &'a str, now: UnixTime) -> Self {
        Self {
            method,
            uri,
            access_token: None,
            expected_jkt: None,
            now,
        }
    }

    /// The access token presented with the request (resource requests).
    #[must_use]
    pub fn with_access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }

    /// Require the proof key to have this RFC 7638 thumbprint.
    #[must_use]
    pub fn with_expected_jkt(mut self, jkt: &'a str) -> Self {
        self.expected_jkt = Some(jkt);
        self
    }
}

impl fmt::Debug for DpopContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopContext")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("access_token", &self.access_token.map(|_| "<redacted>"))
            .field("expected_jkt", &self.expected_jkt)
            .field("now", &self.now)
            .finish()
    }
}

/// A proof that passed the stateless checks of [`DpopVerifier::verify_proof`]
/// (and, through [`DpopVerifier::verify`], the nonce and replay checks).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof key: the value for
    /// `cnf.jkt` ([RFC 9449 §6](https://www.rfc-editor.org/rfc/rfc9449#section-6)).
    pub jkt: String,
    /// The public key from the `jwk` header.
    pub jwk: Jwk,
    /// The signature algorithm.
    pub alg: Algorithm,
    /// The proof's `jti`.
    pub jti: String,
    /// The proof's `iat`.
    pub iat: UnixTime,
    /// The proof's `htm`.
    pub htm: String,
    /// The proof's `htu`, normalized.
    pub htu: String,
    /// The proof's `nonce`, if any.
    pub nonce: Option<String>,
    /// Whether an `ath` was present and matched the presented access token.
    pub ath_verified: bool,
    /// The last second at which this proof is still acceptable (`iat + max_age`).
    pub accept_until: UnixTime,
}

impl VerifiedProof {
    /// The scoped replay key: `[jkt, jti]` in [`ReplayScope::DpopProof`].
    #[must_use]
    pub fn replay_key(&self) -> ReplayKey {
        ReplayKey::of_parts(ReplayScope::DpopProof, &[&self.jkt, &self.jti])
    }

    /// Until when the replay record must be kept (one second past
    /// [`accept_until`](Self::accept_until)).
    #[must_use]
    pub fn replay_expires_at(&self) -> UnixTime {
        self.accept_until.saturating_add(1)
    }
}

/// Why a DPoP proof was refused.
///
/// [`DpopError::error_code`] gives the OAuth error code:
/// `invalid_dpop_proof` for a bad proof, `use_dpop_nonce` when a (fresh)
/// server nonce is needed ([RFC 9449 §7.1](https://www.rfc-editor.org/rfc/rfc9449#section-7.1),
/// [§8](https://www.rfc-editor.org/rfc/rfc9449#section-8)), `server_error`
/// when a store could not decide. The variants are for logs; do not send
/// them to the client beyond the code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// More than one `DPoP` header.
    #[error("more than one DPoP proof")]
    MultipleProofs,
    /// The proof is longer than the configured cap.
    #[error("DPoP proof too large")]
    TooLarge,
    /// Not a well-formed JWS (structure, base64url, JSON, duplicate members,
    /// `crit`, unsupported `alg` such as `none` or `HS256`).
    #[error("malformed DPoP proof: {0}")]
    Malformed(#[source] JoseError),
    /// `typ` is not `dpop+jwt`.
    #[error("typ must be dpop+jwt")]
    WrongType,
    /// `alg` is supported but not allowed by this verifier.
    #[error("DPoP algorithm {0} is not allowed")]
    AlgorithmNotAllowed(Algorithm),
    /// No `jwk` header.
    #[error("the proof has no jwk header")]
    MissingJwk,
    /// The `jwk` header is not a usable public key for `alg` (includes a
    /// `jwk` carrying private key members).
    #[error("invalid jwk header: {0}")]
    InvalidJwk(&'static str),
    /// The signature does not verify with the `jwk`.
    #[error("invalid DPoP proof signature")]
    InvalidSignature,
    /// A required claim is missing.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or an unacceptable value.
    #[error("invalid claim {0}")]
    InvalidClaim(&'static str),
    /// `htm` differs from the request method.
    #[error("htm does not match the request method")]
    MethodMismatch,
    /// `htu` differs from the request URI.
    #[error("htu does not match the request URI")]
    UriMismatch,
    /// `iat` is older than the acceptance window.
    #[error("the proof is too old")]
    TooOld,
    /// `iat` is further in the future than the skew allows.
    #[error("the proof is issued in the future")]
    IssuedInFuture,
    /// An access token was presented but the proof has no `ath`.
    #[error("missing ath")]
    MissingAth,
    /// `ath` does not match the presented access token.
    #[error("ath does not match the access token")]
    AthMismatch,
    /// The proof has an `ath` but no access token was presented.
    #[error("ath present without an access token")]
    UnexpectedAth,
    /// The proof key is not the one the token or request is bound to.
    #[error("the proof key does not match the bound key")]
    KeyMismatch,
    /// The proof's `jti` was already used.
    #[error("the DPoP proof was replayed")]
    Replayed,
    /// A (new) server nonce is required; send `nonce` in a `DPoP-Nonce`
    /// header with the `use_dpop_nonce` error.
    #[error("a fresh DPoP nonce is required")]
    UseDpopNonce {
        /// The fresh nonce for the `DPoP-Nonce` response header.
        nonce: String,
    },
    /// The server's own request URI is unusable (a configuration fault).
    #[error("the request URI is not a valid htu: {0}")]
    RequestUri(#[source] HtuError),
    /// The replay guard could not decide (fail closed).
    #[error("the replay guard failed")]
    ReplayGuard(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The nonce source could not issue or decide (fail closed).
    #[error("the nonce source failed")]
    NonceSource(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DpopError {
    /// The OAuth error code: `invalid_dpop_proof`, `use_dpop_nonce` or
    /// `server_error`.
    #[must_use]
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::UseDpopNonce { .. } => "use_dpop_nonce",
            Self::RequestUri(_) | Self::ReplayGuard(_) | Self::NonceSource(_) => "server_error",
            _ => "invalid_dpop_proof",
        }
    }

    /// Whether the failure is the server's (a store or configuration
    /// fault), not the client's.
    #[must_use]
    pub fn is_server_error(&self) -> bool {
        self.error_code() == "server_error"
    }

    /// The fresh nonce to send in `DPoP-Nonce`, for `use_dpop_nonce`.
    #[must_use]
    pub fn fresh_nonce(&self) -> Option<&str> {
        match self {
            Self::UseDpopNonce { nonce } => Some(nonce),
            _ => None,
        }
    }
}

fn from_parse_error(e: JoseError) -> DpopError {
    match e {
        JoseError::TooLarge => DpopError::TooLarge,
        // `UnverifiedJws::parse` refuses a `jwk` header that is not a public
        // key (private members included) with `InvalidKey`.
        JoseError::InvalidKey(m) => DpopError::InvalidJwk(m),
        other => DpopError::Malformed(other),
    }
}

/// A JWT NumericDate ([RFC 7519 §2](https://www.rfc-editor.org/rfc/rfc7519#section-2)):
/// an integer, or a finite non-integer number (truncated towards −∞).
pub(crate) fn numeric_date(v: &Value) -> Option<i64> {
    let Value::Number(n) = v else { return None };
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.is_u64() {
        return None; // beyond i64
    }
    let f = n.as_f64()?;
    // ±2^63 are exactly representable; values outside are refused.
    let bound = 2f64.powi(63);
    if f.is_finite() && f >= -bound && f < bound {
        #[allow(clippy::cast_possible_truncation)] // range-checked just above
        Some(f.floor() as i64)
    } else {
        None
    }
}

fn str_claim<'c>(
    claims: &'c Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'c str>, DpopError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(DpopError::InvalidClaim(name)),
    }
}

fn required_str<'c>(
    claims: &'c Map<String, Value>,
    name: &'static str,
) -> Result<&'c str, DpopError> {
    str_claim(claims, name)?.ok_or(DpopError::MissingClaim(name))
}

impl DpopVerifier {
    /// A builder starting from the defaults.
    #[must_use]
    pub fn builder() -> DpopVerifierBuilder {
        DpopVerifierBuilder {
            inner: DpopVerifier::default(),
        }
    }

    /// The accepted algorithms (for the `algs` parameter of a DPoP challenge
    /// and `dpop_signing_alg_values_supported`).
    #[must_use]
    pub fn algorithms(&self) -> AlgorithmSet {
        self.algorithms
    }

    /// The nonce policy.
    #[must_use]
    pub fn nonce_policy(&self) -> NoncePolicy {
        self.nonce_policy
    }

    /// The maximum proof age in seconds (also the replay retention).
    #[must_use]
    pub fn max_age(&self) -> i64 {
        self.max_age
    }

    /// The tolerated future `iat` skew in seconds.
    #[must_use]
    pub fn future_skew(&self) -> i64 {
        self.future_skew
    }

    /// The stateless checks (steps 1–8 of the [module docs](self)): parse,
    /// `typ`, `alg`, `jwk`, signature, claims, `htm`, `htu`, `iat`, `ath`,
    /// expected `jkt`. Does **not** check the nonce or record the `jti`:
    /// call [`check_nonce`](Self::check_nonce) and
    /// [`check_replay`](Self::check_replay) afterwards, or use
    /// [`verify`](Self::verify).
    ///
    /// # Errors
    /// A [`DpopError`] naming the first failed check.
    pub fn verify_proof(
        &self,
        proof: &str,
        ctx: &DpopContext<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        if proof.len() > self.max_proof_len {
            return Err(DpopError::TooLarge);
        }
        let jws = UnverifiedJws::parse(proof, self.max_proof_len).map_err(from_parse_error)?;
        let header = jws.header();
        if header.typ.as_deref() != Some(DPOP_TYP) {
            return Err(DpopError::WrongType);
        }
        let alg = header.alg;
        if !self.algorithms.contains(alg) {
            return Err(DpopError::AlgorithmNotAllowed(alg));
        }
        let jwk = header.jwk.clone().ok_or(DpopError::MissingJwk)?;
        if !jwk.supports(alg) {
            return Err(DpopError::InvalidJwk(
                "the jwk cannot verify the proof's alg",
            ));
        }
        let jkt = jwk.thumbprint();
        let key = self
            .keys
            .get_or_import(&jwk, &jkt, alg)
            .map_err(|e| match e {
                JoseError::InvalidKey(m) => DpopError::InvalidJwk(m),
                _ => DpopError::InvalidJwk("the jwk cannot verify the proof's alg"),
            })?;
        let verified = jws.verify(&key, self.algorithms).map_err(|e| match e {
            JoseError::AlgorithmNotAllowed(a) => DpopError::AlgorithmNotAllowed(a),
            JoseError::KeyMismatch => {
                DpopError::InvalidJwk("the jwk cannot verify the proof's alg")
            }
            _ => DpopError::InvalidSignature,
        })?;
        let claims = verified.claims().map_err(DpopError::Malformed)?;

        let jti = required_str(&claims, "jti")?;
        if jti.is_empty() || jti.len() > MAX_JTI_LEN {
            return Err(DpopError::InvalidClaim("jti"));
        }

        let htm = required_str(&claims, "htm")?;
        if htm != ctx.method {
            return Err(DpopError::MethodMismatch);
        }

        let htu_claim = required_str(&claims, "htu")?;
        let expected_htu =
            htu::normalize(ctx.uri, htu::HtuSource::Request).map_err(DpopError::RequestUri)?;
        let htu = htu::normalize(htu_claim, htu::HtuSource::Proof)
            .map_err(|_| DpopError::InvalidClaim("htu"))?;
        if htu != expected_htu {
            return Err(DpopError::UriMismatch);
        }

        let iat = numeric_date(claims.get("iat").ok_or(DpopError::MissingClaim("iat"))?)
            .ok_or(DpopError::InvalidClaim("iat"))?;
        if ctx.now.saturating_sub(iat) > self.max_age {
            return Err(DpopError::TooOld);
        }
        if iat.saturating_sub(ctx.now) > self.future_skew {
            return Err(DpopError::IssuedInFuture);
        }

        let ath = str_claim(&claims, "ath")?;
        let ath_verified = match (ctx.access_token, ath) {
            (Some(token), Some(ath)) => {
                if !ct_eq(sha256_b64url(token.as_bytes()).as_bytes(), ath.as_bytes()) {
                    return Err(DpopError::AthMismatch);
                }
                true
            }
            (Some(_), None) => return Err(DpopError::MissingAth),
            (None, Some(_)) => return Err(DpopError::UnexpectedAth),
            (None, None) => false,
        };

        let nonce = match str_claim(&claims, "nonce")? {
            Some(n) if n.is_empty() || n.len() > MAX_NONCE_LEN => {
                return Err(DpopError::InvalidClaim("nonce"));
            }
            other => other.map(str::to_owned),
        };

        if let Some(expected) = ctx.expected_jkt
            && !ct_eq(expected.as_bytes(), jkt.as_bytes())
        {
            return Err(DpopError::KeyMismatch);
        }

        Ok(VerifiedProof {
            jkt,
            jwk,
            alg,
            jti: jti.to_owned(),
            iat,
            htm: htm.to_owned(),
            htu,
            nonce,
            ath_verified,
            accept_until: iat.saturating_add(self.max_age),
        })
    }

    /// Step 9: apply the [`NoncePolicy`]. On failure, a fresh nonce is
    /// issued from `nonces` and returned in [`DpopError::UseDpopNonce`].
    ///
    /// # Errors
    /// [`DpopError::UseDpopNonce`], or [`DpopError::NonceSource`] when the
    /// source fails.
    pub async fn check_nonce<N: DpopNonceSource>(
        &self,
        proof: &VerifiedProof,
        nonces: &N,
        now: UnixTime,
    ) -> Result<(), DpopError> {
        let ok = match (self.nonce_policy, proof.nonce.as_deref()) {
            (NoncePolicy::Disabled, _) | (NoncePolicy::Optional, None) => return Ok(()),
            (NoncePolicy::Required, None) => false,
            (_, Some(n)) => nonces
                .check_nonce(n, now)
                .await
                .map_err(|e| DpopError::NonceSource(Box::new(e)))?,
        };
        if ok {
            return Ok(());
        }
        let fresh = nonces
            .issue_nonce(now)
            .await
            .map_err(|e| DpopError::NonceSource(Box::new(e)))?;
        Err(DpopError::UseDpopNonce { nonce: fresh })
    }

    /// Step 10: record the proof's scoped `jti` until the end of its
    /// acceptance window; a second sighting is [`DpopError::Replayed`].
    ///
    /// # Errors
    /// [`DpopError::Replayed`], or [`DpopError::ReplayGuard`] when the guard
    /// cannot decide.
    pub async fn check_replay<G: JtiReplayGuard>(
        &self,
        proof: &VerifiedProof,
        guard: &G,
        now: UnixTime,
    ) -> Result<(), DpopError> {
        let fresh = guard
            .check_and_record(proof.replay_key(), proof.replay_expires_at(), now)
            .await
            .map_err(|e| DpopError::ReplayGuard(Box::new(e)))?;
        if fresh {
            Ok(())
        } else {
            Err(DpopError::Replayed)
        }
    }

    /// Every check: [`verify_proof`](Self::verify_proof), then
    /// [`check_nonce`](Self::check_nonce), then
    /// [`check_replay`](Self::check_replay). Pass [`NoNonces`] when the
    /// policy is [`NoncePolicy::Disabled`].
    ///
    /// # Errors
    /// The first failed check's [`DpopError`].
    pub async fn verify<N: DpopNonceSource, G: JtiReplayGuard>(
        &self,
        proof: &str,
        ctx: &DpopContext<'_>,
        nonces: &N,
        guard: &G,
    ) -> Result<VerifiedProof, DpopError> {
        let verified = self.verify_proof(proof, ctx)?;
        self.check_nonce(&verified, nonces, ctx.now).await?;
        self.check_replay(&verified, guard, ctx.now).await?;
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates_accept_integers_and_finite_fractions_only() {
        assert_eq!(
            numeric_date(&serde_json::json!(1_700_000_000)),
            Some(1_700_000_000)
        );
        assert_eq!(
            numeric_date(&serde_json::json!(1_700_000_000.9)),
            Some(1_700_000_000)
        );
        assert_eq!(numeric_date(&serde_json::json!(-1.5)), Some(-2));
        assert_eq!(numeric_date(&serde_json::json!(u64::MAX)), None);
        assert_eq!(numeric_date(&serde_json::json!(1e300)), None);
        assert_eq!(numeric_date(&serde_json::json!("1700000000")), None);
        assert_eq!(numeric_date(&serde_json::json!(null)), None);
    }

    #[test]
    fn error_codes_distinguish_nonce_and_server_faults() {
        assert_eq!(DpopError::Replayed.error_code(), "invalid_dpop_proof");
        let e = DpopError::UseDpopNonce { nonce: "n".into() };
        assert_eq!(e.error_code(), "use_dpop_nonce");
        assert_eq!(e.fresh_nonce(), Some("n"));
        assert!(DpopError::RequestUri(HtuError::NoHost).is_server_error());
        assert!(!DpopError::TooOld.is_server_error());
    }

    #[test]
    fn private_key_in_jwk_header_maps_to_invalid_jwk() {
        assert!(matches!(
            from_parse_error(JoseError::InvalidKey("private")),
            DpopError::InvalidJwk(_)
        ));
        assert!(matches!(
            from_parse_error(JoseError::TooLarge),
            DpopError::TooLarge
        ));
        assert!(matches!(
            from_parse_error(JoseError::UnsupportedAlgorithm),
            DpopError::Malformed(JoseError::UnsupportedAlgorithm)
        ));
    }
}
