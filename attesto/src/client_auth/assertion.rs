//! `private_key_jwt` client assertions
//! ([RFC 7523 §3](https://www.rfc-editor.org/rfc/rfc7523#section-3),
//! [OIDC Core §9](https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication)).

use serde_json::{Map, Value};

use super::credentials::MAX_ASSERTION_LEN;
use crate::clock::UnixTime;
use crate::dpop::{JtiReplayGuard, MAX_JTI_LEN, ReplayKey, ReplayScope};
use crate::jose::{
    Algorithm, AlgorithmSet, JoseError, JwkSet, UnverifiedJws, VerifyingKey, typ_matches,
};

/// The default assertion algorithms: PS256, ES256, EdDSA (the FAPI 2.0 set;
/// the seed rejects RS256 by default).
pub const DEFAULT_ASSERTION_ALGORITHMS: AlgorithmSet = AlgorithmSet::FAPI;
/// The default maximum assertion lifetime (`exp - iat`), in seconds.
pub const DEFAULT_ASSERTION_MAX_LIFETIME: i64 = 300;
/// The default clock-skew leeway for `exp`, `nbf` and `iat`, in seconds.
pub const DEFAULT_ASSERTION_LEEWAY: i64 = 30;
/// At most this many keys are tried for an assertion without `kid`.
const MAX_KEY_ATTEMPTS: usize = 4;

/// Why a client assertion was refused. All of these are `invalid_client`
/// on the wire, except [`AssertionError::ReplayGuard`] (`server_error`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// Longer than the configured cap.
    #[error("assertion too large")]
    TooLarge,
    /// Not a well-formed JWS/JWT (includes `alg` `none`/`HS*`, duplicate
    /// members, `crit`).
    #[error("malformed assertion: {0}")]
    Malformed(#[source] JoseError),
    /// `alg` is not allowed for client assertions.
    #[error("assertion algorithm {0} not allowed")]
    AlgorithmNotAllowed(Algorithm),
    /// `typ` names another kind of JWT (e.g. `dpop+jwt`, `at+jwt`).
    #[error("wrong typ for a client assertion")]
    WrongType,
    /// No key of the client's JWKS matches `kid`/`alg`.
    #[error("no matching client key")]
    UnknownKey,
    /// No candidate key verifies the signature.
    #[error("invalid assertion signature")]
    InvalidSignature,
    /// A required claim is missing.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or value.
    #[error("invalid claim {0}")]
    InvalidClaim(&'static str),
    /// `iss` is not the client id.
    #[error("iss is not the client id")]
    IssuerMismatch,
    /// `sub` is not the client id.
    #[error("sub is not the client id")]
    SubjectMismatch,
    /// `aud` is not exactly the issuer identifier.
    #[error("aud is not the issuer identifier")]
    WrongAudience,
    /// `exp` has passed.
    #[error("assertion expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("assertion not yet valid")]
    NotYetValid,
    /// `iat` is in the future.
    #[error("assertion issued in the future")]
    IssuedInFuture,
    /// `exp - iat` (or `exp - now`) exceeds the maximum lifetime.
    #[error("assertion lifetime too long")]
    LifetimeTooLong,
    /// The `jti` was already used.
    #[error("assertion replayed")]
    Replayed,
    /// The replay guard could not decide (fail closed).
    #[error("the replay guard failed")]
    ReplayGuard(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why an [`AssertionVerifier`] configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionConfigError {
    /// The issuer identifier is empty.
    #[error("the issuer identifier is empty")]
    NoIssuer,
    /// The algorithm allow-list is empty.
    #[error("the assertion algorithm allow-list is empty")]
    NoAlgorithms,
    /// Lifetime must be 1..=3600 s and leeway 0..=120 s.
    #[error("assertion lifetime must be 1..=3600 s and leeway 0..=120 s")]
    Window,
    /// The size cap must be 512..=65536 bytes.
    #[error("the assertion size cap must be 512..=65536 bytes")]
    MaxLen,
}

/// A client assertion whose signature and claims verified.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedAssertion {
    /// `iss` = `sub` = the client id.
    pub client_id: String,
    /// `jti`.
    pub jti: String,
    /// `exp`.
    pub exp: UnixTime,
    /// `iat`, if present.
    pub iat: Option<UnixTime>,
    /// The signing algorithm.
    pub alg: Algorithm,
    /// The `kid` of the key that verified it (if the key has one).
    pub kid: Option<String>,
    /// Until when the replay record must be kept.
    pub replay_expires_at: UnixTime,
}

impl VerifiedAssertion {
    /// The scoped replay key: `[client_id, jti]` in [`ReplayScope::ClientAssertion`].
    #[must_use]
    pub fn replay_key(&self) -> ReplayKey {
        ReplayKey::of_parts(ReplayScope::ClientAssertion, &[&self.client_id, &self.jti])
    }
}

/// Verifies `private_key_jwt` assertions.
///
/// * `alg` allow-listed (default PS256, ES256, EdDSA);
/// * `typ`, if present, is `JWT` or `client-authentication+jwt` (no token
///   confusion with `dpop+jwt`, `at+jwt`, …);
/// * signed by a key of the client's JWKS (by `kid`; without `kid`, up to
///   four keys that support `alg` are tried);
/// * `iss` = `sub` = the client id;
/// * `aud` is **exactly the issuer identifier** — a string, or an array of
///   that single string. The token/PAR/introspection endpoint URL is refused
///   (confused-deputy fix of the seed 0.7.4; draft-ietf-oauth-rfc7523bis);
/// * `exp` required and not passed; `nbf` and `iat`, if present, not in the
///   future (all with leeway);
/// * lifetime bounded: `exp - iat ≤ max_lifetime` when `iat` is present,
///   and in any case `exp - now ≤ max_lifetime + leeway`;
/// * `jti` required (1..=256 bytes), recorded with
///   [`check_replay`](Self::check_replay).
///
/// ```
/// use attesto::client_auth::AssertionVerifier;
/// let v = AssertionVerifier::builder("https://as.example").max_lifetime(120).build().unwrap();
/// assert_eq!(v.issuer(), "https://as.example");
/// assert!(AssertionVerifier::builder("").build().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct AssertionVerifier {
    issuer: String,
    algorithms: AlgorithmSet,
    max_lifetime: i64,
    leeway: i64,
    max_len: usize,
}

/// Builds an [`AssertionVerifier`]; see [`AssertionVerifier::builder`].
#[derive(Debug, Clone)]
pub struct AssertionVerifierBuilder {
    inner: AssertionVerifier,
}

impl AssertionVerifierBuilder {
    /// Allowed algorithms (default [`DEFAULT_ASSERTION_ALGORITHMS`]).
    #[must_use]
    pub fn algorithms(mut self, algorithms: AlgorithmSet) -> Self {
        self.inner.algorithms = algorithms;
        self
    }

    /// Maximum lifetime in seconds (default 300). Also bounds the replay
    /// record's retention.
    #[must_use]
    pub fn max_lifetime(mut self, secs: i64) -> Self {
        self.inner.max_lifetime = secs;
        self
    }

    /// Clock-skew leeway in seconds (default 30).
    #[must_use]
    pub fn leeway(mut self, secs: i64) -> Self {
        self.inner.leeway = secs;
        self
    }

    /// Largest assertion accepted, in bytes (default 16 KiB).
    #[must_use]
    pub fn max_len(mut self, len: usize) -> Self {
        self.inner.max_len = len;
        self
    }

    /// Check the bounds and build.
    ///
    /// # Errors
    /// [`AssertionConfigError`].
    pub fn build(self) -> Result<AssertionVerifier, AssertionConfigError> {
        let v = self.inner;
        if v.issuer.is_empty() {
            return Err(AssertionConfigError::NoIssuer);
        }
        if v.algorithms.is_empty() {
            return Err(AssertionConfigError::NoAlgorithms);
        }
        if !(1..=3600).contains(&v.max_lifetime) || !(0..=120).contains(&v.leeway) {
            return Err(AssertionConfigError::Window);
        }
        if !(512..=65536).contains(&v.max_len) {
            return Err(AssertionConfigError::MaxLen);
        }
        Ok(v)
    }
}

fn str_claim<'c>(
    claims: &'c Map<String, Value>,
    name: &'static str,
) -> Result<&'c str, AssertionError> {
    match claims.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(AssertionError::InvalidClaim(name)),
        None => Err(AssertionError::MissingClaim(name)),
    }
}

fn date_claim(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, AssertionError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => crate::dpop::numeric_date(v)
            .map(Some)
            .ok_or(AssertionError::InvalidClaim(name)),
    }
}

impl AssertionVerifier {
    /// A builder for assertions addressed to `issuer` (the authorization
    /// server's issuer identifier, RFC 8414 §2).
    #[must_use]
    pub fn builder(issuer: impl Into<String>) -> AssertionVerifierBuilder {
        AssertionVerifierBuilder {
            inner: AssertionVerifier {
                issuer: issuer.into(),
                algorithms: DEFAULT_ASSERTION_ALGORITHMS,
                max_lifetime: DEFAULT_ASSERTION_MAX_LIFETIME,
                leeway: DEFAULT_ASSERTION_LEEWAY,
                max_len: MAX_ASSERTION_LEN,
            },
        }
    }

    /// The accepted `aud`.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The accepted algorithms (for `token_endpoint_auth_signing_alg_values_supported`).
    #[must_use]
    pub fn algorithms(&self) -> AlgorithmSet {
        self.algorithms
    }

    /// The maximum lifetime in seconds.
    #[must_use]
    pub fn max_lifetime(&self) -> i64 {
        self.max_lifetime
    }

    /// Verify `assertion` for `client_id` against the client's `jwks` at
    /// `now`: signature and claims. Does **not** record the `jti`: call
    /// [`check_replay`](Self::check_replay) next, or use
    /// [`verify_and_record`](Self::verify_and_record).
    ///
    /// # Errors
    /// The first failed check's [`AssertionError`].
    pub fn verify(
        &self,
        assertion: &str,
        client_id: &str,
        jwks: &JwkSet,
        now: UnixTime,
    ) -> Result<VerifiedAssertion, AssertionError> {
        if assertion.len() > self.max_len {
            return Err(AssertionError::TooLarge);
        }
        let parsed = UnverifiedJws::parse(assertion, self.max_len).map_err(|e| match e {
            JoseError::TooLarge => AssertionError::TooLarge,
            other => AssertionError::Malformed(other),
        })?;
        let header = parsed.header();
        let alg = header.alg;
        if !self.algorithms.contains(alg) {
            return Err(AssertionError::AlgorithmNotAllowed(alg));
        }
        if header.typ.is_some()
            && !typ_matches(header.typ.as_deref(), "JWT")
            && !typ_matches(header.typ.as_deref(), "client-authentication+jwt")
        {
            return Err(AssertionError::WrongType);
        }
        let kid = header.kid.clone();
        let candidates: Vec<_> = jwks
            .candidates(kid.as_deref(), alg)
            .take(MAX_KEY_ATTEMPTS)
            .collect();
        if candidates.is_empty() {
            return Err(AssertionError::UnknownKey);
        }
        drop(parsed);

        let mut verified = None;
        for jwk in candidates {
            let Ok(key) = VerifyingKey::from_jwk(jwk.clone(), AlgorithmSet::new(&[alg])) else {
                continue;
            };
            // `UnverifiedJws::verify` consumes the parsed value, so each
            // attempt re-parses (cheap next to a signature check).
            let attempt =
                UnverifiedJws::parse(assertion, self.max_len).map_err(AssertionError::Malformed)?;
            if let Ok(v) = attempt.verify(&key, self.algorithms) {
                verified = Some((v, jwk.kid().map(str::to_owned)));
                break;
            }
        }
        let (verified, key_kid) = verified.ok_or(AssertionError::InvalidSignature)?;
        let claims = verified.claims().map_err(AssertionError::Malformed)?;

        if str_claim(&claims, "iss")? != client_id {
            return Err(AssertionError::IssuerMismatch);
        }
        if str_claim(&claims, "sub")? != client_id {
            return Err(AssertionError::SubjectMismatch);
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.issuer,
            Some(Value::Array(items)) => {
                matches!(items.as_slice(), [Value::String(a)] if *a == self.issuer)
            }
            Some(_) => false,
            None => return Err(AssertionError::MissingClaim("aud")),
        };
        if !aud_ok {
            return Err(AssertionError::WrongAudience);
        }

        let exp = date_claim(&claims, "exp")?.ok_or(AssertionError::MissingClaim("exp"))?;
        if now >= exp.saturating_add(self.leeway) {
            return Err(AssertionError::Expired);
        }
        if let Some(nbf) = date_claim(&claims, "nbf")?
            && nbf > now.saturating_add(self.leeway)
        {
            return Err(AssertionError::NotYetValid);
        }
        let iat = date_claim(&claims, "iat")?;
        if let Some(iat) = iat {
            if iat > now.saturating_add(self.leeway) {
                return Err(AssertionError::IssuedInFuture);
            }
            if exp <= iat {
                return Err(AssertionError::InvalidClaim("exp"));
            }
            if exp.saturating_sub(iat) > self.max_lifetime {
                return Err(AssertionError::LifetimeTooLong);
            }
        }
        if exp.saturating_sub(now) > self.max_lifetime.saturating_add(self.leeway) {
            return Err(AssertionError::LifetimeTooLong);
        }

        let jti = str_claim(&claims, "jti")?;
        if jti.is_empty() || jti.len() > MAX_JTI_LEN {
            return Err(AssertionError::InvalidClaim("jti"));
        }

        // Keep the record for as long as the assertion could be accepted
        // (exp + leeway), and never less than the configured max lifetime
        // (the seed's replay TTL).
        let replay_expires_at = exp
            .saturating_add(self.leeway)
            .saturating_add(1)
            .max(now.saturating_add(self.max_lifetime));

        Ok(VerifiedAssertion {
            client_id: client_id.to_owned(),
            jti: jti.to_owned(),
            exp,
            iat,
            alg,
            kid: key_kid,
            replay_expires_at,
        })
    }

    /// Record the assertion's scoped `jti`; a second sighting is
    /// [`AssertionError::Replayed`].
    ///
    /// # Errors
    /// [`AssertionError::Replayed`] or [`AssertionError::ReplayGuard`].
    pub async fn check_replay<G: JtiReplayGuard>(
        &self,
        verified: &VerifiedAssertion,
        guard: &G,
        now: UnixTime,
    ) -> Result<(), AssertionError> {
        let fresh = guard
            .check_and_record(verified.replay_key(), verified.replay_expires_at, now)
            .await
            .map_err(|e| AssertionError::ReplayGuard(Box::new(e)))?;
        if fresh {
            Ok(())
        } else {
            Err(AssertionError::Replayed)
        }
    }

    /// [`verify`](Self::verify) then [`check_replay`](Self::check_replay).
    ///
    /// # Errors
    /// As both.
    pub async fn verify_and_record<G: JtiReplayGuard>(
        &self,
        assertion: &str,
        client_id: &str,
        jwks: &JwkSet,
        guard: &G,
        now: UnixTime,
    ) -> Result<VerifiedAssertion, AssertionError> {
        let verified = self.verify(assertion, client_id, jwks, now)?;
        self.check_replay(&verified, guard, now).await?;
        Ok(verified)
    }
}
