//! Server-issued DPoP nonces ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8),
//! [§9](https://www.rfc-editor.org/rfc/rfc9449#section-9)).

use std::fmt;
use std::future::Future;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::UnixTime;
use crate::secret::{HmacSha256, RandomSource, ct_eq};

/// A source of server nonces: issues them for the `DPoP-Nonce` header and
/// decides whether a proof's `nonce` claim is acceptable.
///
/// Two kinds of implementation fit:
/// * **stateless** — [`NonceIssuer`]: time-bucketed values MAC'd with a
///   server secret; any node holding the secret accepts any node's nonces,
///   nothing is stored, a nonce is reusable within its window (replay is
///   still stopped by the `jti` guard);
/// * **store-backed** — a shared table of issued nonces; `check_nonce` may
///   atomically consume the nonce so that each is single-use.
///
/// `check_nonce` errors mean "could not decide" and fail closed.
pub trait DpopNonceSource: Send + Sync {
    /// Why the source could not issue or decide.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A fresh nonce to send in `DPoP-Nonce`. Nonces must be unpredictable
    /// and consist of `NQCHAR`s (RFC 9449 §8.1); base64url satisfies that.
    fn issue_nonce(
        &self,
        now: UnixTime,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send;

    /// Whether `nonce` (from a proof whose signature already verified) is
    /// acceptable at `now`.
    fn check_nonce(
        &self,
        nonce: &str,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

impl<N: DpopNonceSource> DpopNonceSource for &N {
    type Error = N::Error;

    fn issue_nonce(
        &self,
        now: UnixTime,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send {
        (**self).issue_nonce(now)
    }

    fn check_nonce(
        &self,
        nonce: &str,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).check_nonce(nonce, now)
    }
}

impl<N: DpopNonceSource> DpopNonceSource for std::sync::Arc<N> {
    type Error = N::Error;

    fn issue_nonce(
        &self,
        now: UnixTime,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send {
        (**self).issue_nonce(now)
    }

    fn check_nonce(
        &self,
        nonce: &str,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).check_nonce(nonce, now)
    }
}

/// The nonce source to pass when the verifier's
/// [`NoncePolicy`](super::NoncePolicy) is `Disabled`: it issues nothing and
/// accepts nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNonces;

/// [`NoNonces`] was asked for a nonce.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("server nonces are not configured")]
pub struct NoncesDisabled;

impl DpopNonceSource for NoNonces {
    type Error = NoncesDisabled;

    async fn issue_nonce(&self, _now: UnixTime) -> Result<String, Self::Error> {
        Err(NoncesDisabled)
    }

    async fn check_nonce(&self, _nonce: &str, _now: UnixTime) -> Result<bool, Self::Error> {
        Ok(false)
    }
}

/// Why a [`NonceIssuer`] could not be built or could not issue.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum NonceIssuerError {
    /// The secret is shorter than 32 bytes.
    #[error("the nonce secret must be at least 32 bytes")]
    ShortSecret,
    /// The rotation period or lifetime is out of bounds.
    #[error("nonce period must be 1..=3600 s and lifetime period..=2*3600 s")]
    Window,
    /// The random source failed.
    #[error("the random source failed")]
    Random,
    /// HMAC failed.
    #[error("HMAC computation failed")]
    Crypto,
}

const NONCE_VERSION: u8 = 1;
const NONCE_MAC_LEN: usize = 16;
const NONCE_BYTES: usize = 1 + 8 + NONCE_MAC_LEN;
/// base64url length of [`NONCE_BYTES`].
const NONCE_CHARS: usize = 34;
const NONCE_DOMAIN: &[u8] = b"attesto/dpop-nonce/v1\0";
/// Tolerated clock difference between nodes sharing the secret, in seconds.
const NODE_SKEW: i64 = 5;

/// Stateless, time-bucketed server nonces.
///
/// A nonce is `base64url(version ‖ bucket ‖ HMAC-SHA256(secret, bucket)[..16])`
/// where `bucket = floor(now / period)`. Everyone asking within one bucket
/// gets the same value, so clients rarely need an extra round trip. A nonce
/// is accepted while `now - bucket_start < lifetime` (so for at least
/// `lifetime - period` seconds after it was handed out), from any node that
/// holds the secret and whose clock is within a few seconds.
///
/// Compared with RFC 9449 §8/§9: the nonces are unpredictable (a client
/// cannot compute a future bucket's nonce without the secret), so proofs
/// cannot be pre-generated for later use, which is the purpose of §8. They
/// are **not single-use**: within the window several proofs may carry the
/// same nonce; each proof is still single-use through the `jti`
/// [`JtiReplayGuard`](super::JtiReplayGuard). Rotating the secret
/// invalidates every outstanding nonce; clients recover with one
/// `use_dpop_nonce` round trip. Use a store-backed [`DpopNonceSource`]
/// where single-use nonces are required.
///
/// ```
/// use attesto::dpop::NonceIssuer;
/// let issuer = NonceIssuer::new(&[7u8; 32], 60, 120).unwrap();
/// let n = issuer.issue(1_000_020).unwrap();
/// assert!(issuer.check(&n, 1_000_020));
/// assert!(issuer.check(&n, 1_000_079)); // same bucket [1_000_020, 1_000_080)
/// assert!(!issuer.check(&n, 1_000_140)); // 120 s after the bucket started
/// assert!(!issuer.check("not-a-nonce", 1_000_020));
/// ```
pub struct NonceIssuer {
    key: HmacSha256,
    period: i64,
    lifetime: i64,
}

impl fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceIssuer")
            .field("period", &self.period)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl NonceIssuer {
    /// An issuer keyed by `secret` (at least 32 bytes, shared by every node),
    /// rotating the nonce every `period` seconds and accepting a nonce for
    /// `lifetime` seconds after its bucket started.
    ///
    /// # Errors
    /// [`NonceIssuerError::ShortSecret`] or [`NonceIssuerError::Window`]
    /// (`period` must be 1..=3600 and `lifetime` must be `period..=7200`).
    pub fn new(secret: &[u8], period: i64, lifetime: i64) -> Result<Self, NonceIssuerError> {
        if secret.len() < 32 {
            return Err(NonceIssuerError::ShortSecret);
        }
        if !(1..=3600).contains(&period) || lifetime < period || lifetime > 7200 {
            return Err(NonceIssuerError::Window);
        }
        let key = HmacSha256::new(secret);
        Ok(Self {
            key,
            period,
            lifetime,
        })
    }

    /// An issuer with a fresh random secret (single node, or nonces that need
    /// not survive a restart).
    ///
    /// # Errors
    /// As [`NonceIssuer::new`], or [`NonceIssuerError::Random`].
    pub fn generate(
        rng: &(impl RandomSource + ?Sized),
        period: i64,
        lifetime: i64,
    ) -> Result<Self, NonceIssuerError> {
        let mut secret = [0u8; 32];
        rng.fill(&mut secret)
            .map_err(|_| NonceIssuerError::Random)?;
        Self::new(&secret, period, lifetime)
    }

    /// The rotation period in seconds.
    #[must_use]
    pub fn period(&self) -> i64 {
        self.period
    }

    /// How long a nonce is accepted after its bucket started, in seconds.
    #[must_use]
    pub fn lifetime(&self) -> i64 {
        self.lifetime
    }

    fn mac(&self, bucket: i64) -> [u8; 32] {
        self.key.mac(&[NONCE_DOMAIN, &bucket.to_be_bytes()])
    }

    /// The nonce for the bucket containing `now`.
    ///
    /// # Errors
    /// None at present: the HMAC is computed without a fallible OpenSSL
    /// call. The `Result` (and [`NonceIssuerError::Crypto`]) stay so that
    /// callers need not change if a fallible key source comes back.
    pub fn issue(&self, now: UnixTime) -> Result<String, NonceIssuerError> {
        let bucket = now.div_euclid(self.period);
        let mac = self.mac(bucket);
        let mut raw = Vec::with_capacity(NONCE_BYTES);
        raw.push(NONCE_VERSION);
        raw.extend_from_slice(&bucket.to_be_bytes());
        raw.extend_from_slice(mac.get(..NONCE_MAC_LEN).unwrap_or(&[]));
        Ok(URL_SAFE_NO_PAD.encode(raw))
    }

    /// Whether `nonce` was issued by this secret and is still within its
    /// window at `now`. The MAC comparison is constant-time.
    #[must_use]
    pub fn check(&self, nonce: &str, now: UnixTime) -> bool {
        if nonce.len() != NONCE_CHARS {
            return false;
        }
        let Ok(raw) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        if raw.len() != NONCE_BYTES || raw.first() != Some(&NONCE_VERSION) {
            return false;
        }
        let (Some(bucket_bytes), Some(tag)) = (raw.get(1..9), raw.get(9..)) else {
            return false;
        };
        let Ok(bucket_arr) = <[u8; 8]>::try_from(bucket_bytes) else {
            return false;
        };
        let bucket = i64::from_be_bytes(bucket_arr);
        let mac = self.mac(bucket);
        let mac_ok = ct_eq(mac.get(..NONCE_MAC_LEN).unwrap_or(&[]), tag);
        let Some(start) = bucket.checked_mul(self.period) else {
            return false;
        };
        let fresh =
            start <= now.saturating_add(NODE_SKEW) && now.saturating_sub(start) < self.lifetime;
        mac_ok && fresh
    }
}

impl DpopNonceSource for NonceIssuer {
    type Error = NonceIssuerError;

    async fn issue_nonce(&self, now: UnixTime) -> Result<String, Self::Error> {
        self.issue(now)
    }

    async fn check_nonce(&self, nonce: &str, now: UnixTime) -> Result<bool, Self::Error> {
        Ok(self.check(nonce, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> NonceIssuer {
        NonceIssuer::new(&[1u8; 32], 60, 120).unwrap()
    }

    #[test]
    fn nonce_is_stable_within_a_bucket_and_changes_across_buckets() {
        let i = issuer();
        assert_eq!(i.issue(600).unwrap(), i.issue(659).unwrap());
        assert_ne!(i.issue(659).unwrap(), i.issue(660).unwrap());
        assert_eq!(i.issue(600).unwrap().len(), NONCE_CHARS);
    }

    #[test]
    fn stale_nonce_is_rejected_at_the_lifetime_boundary() {
        let i = issuer();
        let n = i.issue(600).unwrap(); // bucket starts at 600
        assert!(i.check(&n, 719));
        assert!(!i.check(&n, 720));
    }

    #[test]
    fn nonce_from_another_secret_or_tampered_is_rejected() {
        let i = issuer();
        let other = NonceIssuer::new(&[2u8; 32], 60, 120).unwrap();
        let n = other.issue(600).unwrap();
        assert!(!i.check(&n, 600));
        // change the bucket but keep the tag
        let mut raw = URL_SAFE_NO_PAD.decode(i.issue(600).unwrap()).unwrap();
        raw[8] ^= 1;
        assert!(!i.check(&URL_SAFE_NO_PAD.encode(&raw), 600));
    }

    #[test]
    fn future_bucket_beyond_node_skew_is_rejected() {
        let i = issuer();
        let n = i.issue(660).unwrap();
        assert!(i.check(&n, 655)); // within NODE_SKEW of the bucket start
        assert!(!i.check(&n, 654));
    }

    #[test]
    fn issuer_configuration_is_bounded() {
        assert!(matches!(
            NonceIssuer::new(&[0u8; 31], 60, 120),
            Err(NonceIssuerError::ShortSecret)
        ));
        assert!(matches!(
            NonceIssuer::new(&[0u8; 32], 0, 120),
            Err(NonceIssuerError::Window)
        ));
        assert!(matches!(
            NonceIssuer::new(&[0u8; 32], 60, 59),
            Err(NonceIssuerError::Window)
        ));
        assert!(matches!(
            NonceIssuer::new(&[0u8; 32], 60, 7201),
            Err(NonceIssuerError::Window)
        ));
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let i = issuer();
        for t in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
            let n = i.issue(t).unwrap();
            let _ = i.check(&n, t);
            let _ = i.check(&n, 0);
        }
    }
}
