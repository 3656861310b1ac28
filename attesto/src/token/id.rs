//! OpenID Connect ID tokens
//! ([OpenID Connect Core §2](https://openid.net/specs/openid-connect-core-1_0.html#IDToken)).

use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeMap as _;
use serde_json::{Map, Value};

use super::{
    Audience, ClaimError, ClaimReader, DEFAULT_ID_TOKEN_TTL, DEFAULT_LEEWAY, EnvelopeError,
    HeaderCache, MintError, Subject, TimeError, TokenConfigError, TrustedKeys, token_hash,
};
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::jose::{
    Algorithm, AlgorithmSet, DEFAULT_MAX_JWS_LEN, JoseError, Keystore, sign_with_encoded_header,
    typ_matches,
};
use crate::secret::ct_eq;

/// The `typ` header attesto writes on ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";

/// Claims the library owns. In host claims, `sub` is an error and the rest
/// are dropped (the library's values win).
const LIBRARY_OWNED: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
];

/// The claims of an ID token
/// ([OpenID Connect Core §2](https://openid.net/specs/openid-connect-core-1_0.html#IDToken)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// `iss`.
    pub iss: String,
    /// `sub`: always the library-verified subject.
    pub sub: String,
    /// `aud`: the client, and any additional audiences.
    pub aud: Audience,
    /// `exp`.
    pub exp: UnixTime,
    /// `iat`.
    pub iat: UnixTime,
    /// `auth_time`.
    pub auth_time: Option<UnixTime>,
    /// `nonce`, echoed from the authentication request.
    pub nonce: Option<String>,
    /// `acr`.
    pub acr: Option<String>,
    /// `amr`.
    pub amr: Option<Vec<String>>,
    /// `azp`: the authorized party (set when there are several audiences).
    pub azp: Option<String>,
    /// `at_hash`: see [`token_hash`].
    pub at_hash: Option<String>,
    /// `c_hash`: see [`token_hash`].
    pub c_hash: Option<String>,
    /// `sid`: the session ID ([Back-Channel Logout §2.1](https://openid.net/specs/openid-connect-backchannel-1_0.html#ClaimsContents)).
    pub sid: Option<String>,
    /// Host claims (profile, email, …).
    pub extra: Map<String, Value>,
}

impl IdTokenClaims {
    /// Parse a claims set strictly (see [`crate::token::AccessTokenClaims::from_json`]).
    ///
    /// # Errors
    /// [`IdTokenError::Malformed`], [`IdTokenError::DuplicateMember`],
    /// [`IdTokenError::MissingClaim`] or [`IdTokenError::InvalidClaim`].
    pub fn from_json(json: &[u8]) -> Result<Self, IdTokenError> {
        let reader = ClaimReader::parse(json, &LIBRARY_OWNED).map_err(IdTokenError::from_jose)?;
        Self::from_reader(reader).map_err(IdTokenError::from)
    }

    fn from_reader(mut r: ClaimReader) -> Result<Self, ClaimError> {
        Ok(IdTokenClaims {
            iss: r.required_string("iss")?,
            sub: r.required_string("sub")?,
            aud: r.audience()?,
            exp: r.required_date("exp", false)?,
            iat: r.required_date("iat", true)?,
            auth_time: r.date("auth_time", false)?,
            nonce: r.string("nonce")?,
            acr: r.string("acr")?,
            amr: r.string_array("amr")?,
            azp: r.string("azp")?,
            at_hash: r.string("at_hash")?,
            c_hash: r.string("c_hash")?,
            sid: r.string("sid")?,
            extra: r.into_rest(),
        })
    }
}

impl serde::Serialize for IdTokenClaims {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("iss", &self.iss)?;
        m.serialize_entry("sub", &self.sub)?;
        m.serialize_entry("aud", &self.aud)?;
        m.serialize_entry("exp", &self.exp)?;
        m.serialize_entry("iat", &self.iat)?;
        if let Some(t) = self.auth_time {
            m.serialize_entry("auth_time", &t)?;
        }
        let opt = [
            ("nonce", &self.nonce),
            ("acr", &self.acr),
            ("azp", &self.azp),
            ("at_hash", &self.at_hash),
            ("c_hash", &self.c_hash),
            ("sid", &self.sid),
        ];
        for (name, value) in opt {
            if let Some(v) = value {
                m.serialize_entry(name, v)?;
            }
        }
        if let Some(amr) = &self.amr {
            m.serialize_entry("amr", amr)?;
        }
        for (k, v) in &self.extra {
            if !LIBRARY_OWNED.contains(&k.as_str()) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// What to put in an ID token.
///
/// ```
/// use attesto::token::IdTokenRequest;
/// let req = IdTokenRequest::new("usr_alice", "app")
///     .nonce("n-0S6_WzA2Mj")
///     .auth_time(1_700_000_000)
///     .access_token("eyJ...")
///     .sid("s-1");
/// assert_eq!(req.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct IdTokenRequest<'a> {
    /// The verified subject.
    pub sub: String,
    /// The client (first audience, and `azp` when there are more).
    pub client_id: String,
    /// Further audiences.
    pub additional_audiences: Vec<String>,
    /// `nonce` from the authentication request.
    pub nonce: Option<String>,
    /// `auth_time`.
    pub auth_time: Option<UnixTime>,
    /// `acr`.
    pub acr: Option<String>,
    /// `amr`.
    pub amr: Vec<String>,
    /// `sid`.
    pub sid: Option<String>,
    /// The access token issued alongside, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// The authorization code issued alongside (hybrid flow), for `c_hash`.
    pub code: Option<&'a str>,
    /// The client's `id_token_signed_response_alg`; `None` for the issuer's default.
    pub signing_alg: Option<Algorithm>,
    /// Lifetime in seconds; `None` for the issuer's default.
    pub ttl: Option<u32>,
    /// Host claims (the `build_id_token_claims` result). `sub` here is an
    /// error; other library-owned claims are ignored.
    pub host_claims: Map<String, Value>,
}

/// The access token and code are credentials: never shown.
impl fmt::Debug for IdTokenRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenRequest")
            .field("sub", &self.sub)
            .field("client_id", &self.client_id)
            .field("additional_audiences", &self.additional_audiences)
            .field("nonce", &self.nonce)
            .field("auth_time", &self.auth_time)
            .field("acr", &self.acr)
            .field("amr", &self.amr)
            .field("sid", &self.sid)
            .field("access_token", &self.access_token.map(|_| "<redacted>"))
            .field("code", &self.code.map(|_| "<redacted>"))
            .field("signing_alg", &self.signing_alg)
            .field("ttl", &self.ttl)
            .field("host_claims", &self.host_claims)
            .finish()
    }
}

impl<'a> IdTokenRequest<'a> {
    /// An ID token about `sub` for `client_id`.
    #[must_use]
    pub fn new(sub: impl Into<String>, client_id: impl Into<String>) -> Self {
        IdTokenRequest {
            sub: sub.into(),
            client_id: client_id.into(),
            additional_audiences: Vec::new(),
            nonce: None,
            auth_time: None,
            acr: None,
            amr: Vec::new(),
            sid: None,
            access_token: None,
            code: None,
            signing_alg: None,
            ttl: None,
            host_claims: Map::new(),
        }
    }

    /// An ID token about a namespaced subject.
    #[must_use]
    pub fn for_subject(subject: &Subject, client_id: impl Into<String>) -> Self {
        Self::new(subject.as_str(), client_id)
    }

    /// Set `nonce`.
    #[must_use]
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Set `auth_time`.
    #[must_use]
    pub fn auth_time(mut self, t: UnixTime) -> Self {
        self.auth_time = Some(t);
        self
    }

    /// Set `acr`.
    #[must_use]
    pub fn acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// Set `amr`.
    #[must_use]
    pub fn amr<I, S>(mut self, amr: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.amr = amr.into_iter().map(Into::into).collect();
        self
    }

    /// Set `sid`.
    #[must_use]
    pub fn sid(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// Compute `at_hash` over this access token.
    #[must_use]
    pub fn access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }

    /// Compute `c_hash` over this authorization code.
    #[must_use]
    pub fn code(mut self, code: &'a str) -> Self {
        self.code = Some(code);
        self
    }

    /// Add audiences besides the client (sets `azp`).
    #[must_use]
    pub fn additional_audiences<I, S>(mut self, aud: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.additional_audiences = aud.into_iter().map(Into::into).collect();
        self
    }

    /// Sign with this algorithm.
    #[must_use]
    pub fn signing_alg(mut self, alg: Algorithm) -> Self {
        self.signing_alg = Some(alg);
        self
    }

    /// Set the host claims.
    #[must_use]
    pub fn host_claims(mut self, claims: Map<String, Value>) -> Self {
        self.host_claims = claims;
        self
    }
}

/// A minted ID token.
#[derive(Clone)]
#[non_exhaustive]
pub struct IssuedIdToken {
    /// The compact JWS.
    pub id_token: String,
    /// The algorithm it is signed with.
    pub alg: Algorithm,
    /// The claims as signed.
    pub claims: IdTokenClaims,
}

impl fmt::Debug for IssuedIdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedIdToken")
            .field("alg", &self.alg)
            .field("sub", &self.claims.sub)
            .field("aud", &self.claims.aud)
            .finish_non_exhaustive()
    }
}

/// Mints ID tokens (`typ: JWT`).
pub struct IdTokenIssuer {
    issuer: String,
    keystore: Arc<dyn Keystore>,
    alg: Option<Algorithm>,
    ttl: u32,
    clock: Arc<dyn Clock>,
    headers: HeaderCache,
}

impl fmt::Debug for IdTokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenIssuer")
            .field("issuer", &self.issuer)
            .field("alg", &self.alg)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Builder for [`IdTokenIssuer`].
pub struct IdTokenIssuerBuilder {
    issuer: String,
    keystore: Arc<dyn Keystore>,
    alg: Option<Algorithm>,
    ttl: u32,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for IdTokenIssuerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenIssuerBuilder")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl IdTokenIssuerBuilder {
    /// Default signing algorithm (default: the keystore's default key).
    #[must_use]
    pub fn signing_alg(mut self, alg: Algorithm) -> Self {
        self.alg = Some(alg);
        self
    }

    /// Default lifetime in seconds (default 300).
    #[must_use]
    pub fn ttl(mut self, seconds: u32) -> Self {
        self.ttl = seconds;
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Build the issuer.
    ///
    /// # Errors
    /// [`TokenConfigError`] for an invalid issuer, a lifetime out of range,
    /// or a keystore without the configured signing key.
    pub fn build(self) -> Result<IdTokenIssuer, TokenConfigError> {
        super::validate_issuer(&self.issuer)?;
        if !super::validate_ttl(self.ttl) {
            return Err(TokenConfigError::InvalidTtl);
        }
        if super::signing_key(self.keystore.as_ref(), self.alg).is_none() {
            return Err(TokenConfigError::NoSigningKey);
        }
        Ok(IdTokenIssuer {
            issuer: self.issuer,
            keystore: self.keystore,
            alg: self.alg,
            ttl: self.ttl,
            clock: self.clock,
            headers: HeaderCache::new(ID_TOKEN_TYP),
        })
    }
}

impl IdTokenIssuer {
    /// Start configuring an ID-token issuer.
    #[must_use]
    pub fn builder(issuer: impl Into<String>, keystore: Arc<dyn Keystore>) -> IdTokenIssuerBuilder {
        IdTokenIssuerBuilder {
            issuer: issuer.into(),
            keystore,
            alg: None,
            ttl: DEFAULT_ID_TOKEN_TTL,
            clock: Arc::new(SystemClock),
        }
    }

    /// The issuer identifier.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Mint an ID token. `sub` comes only from the request: host claims
    /// carrying `sub` are refused ([`MintError::HostClaimsCarrySub`]); other
    /// library-owned members in host claims (`iss`, `aud`, `exp`, `iat`,
    /// `nonce`, `at_hash`, `c_hash`, `azp`, `auth_time`, `acr`, `amr`, `sid`)
    /// are ignored. With more than one audience, `azp` is the client.
    /// `at_hash`/`c_hash` use the hash of the signing algorithm.
    ///
    /// # Errors
    /// [`MintError`].
    pub fn mint(&self, request: IdTokenRequest<'_>) -> Result<IssuedIdToken, MintError> {
        let IdTokenRequest {
            sub,
            client_id,
            additional_audiences,
            nonce,
            auth_time,
            acr,
            amr,
            sid,
            access_token,
            code,
            signing_alg,
            ttl,
            host_claims,
        } = request;
        if host_claims.contains_key("sub") {
            return Err(MintError::HostClaimsCarrySub);
        }
        super::subject::validate_sub(&sub)?;
        if client_id.is_empty() || additional_audiences.iter().any(String::is_empty) {
            return Err(MintError::InvalidAudience);
        }
        for (name, v) in [("nonce", &nonce), ("acr", &acr), ("sid", &sid)] {
            if v.as_deref().is_some_and(str::is_empty) {
                return Err(MintError::InvalidField(name));
            }
        }
        let ttl = ttl.unwrap_or(self.ttl);
        if !super::validate_ttl(ttl) {
            return Err(MintError::InvalidTtl);
        }
        let key = super::signing_key(self.keystore.as_ref(), signing_alg.or(self.alg))
            .ok_or(MintError::NoSigningKey)?;
        let alg = key.algorithm();
        let aud =
            Audience::from_values(std::iter::once(client_id.clone()).chain(additional_audiences))
                .ok_or(MintError::InvalidAudience)?;
        let azp = (aud.len() > 1).then_some(client_id);
        let mut extra = host_claims;
        extra.retain(|k, _| !LIBRARY_OWNED.contains(&k.as_str()));
        let now = self.clock.now();
        let claims = IdTokenClaims {
            iss: self.issuer.clone(),
            sub,
            aud,
            exp: now.saturating_add(i64::from(ttl)),
            iat: now,
            auth_time,
            nonce,
            acr,
            amr: (!amr.is_empty()).then_some(amr),
            azp,
            at_hash: access_token.map(|t| token_hash(alg, t)),
            c_hash: code.map(|c| token_hash(alg, c)),
            sid,
            extra,
        };
        let header = self.headers.header_for(&key)?;
        let mut payload = Vec::with_capacity(384);
        serde_json::to_writer(&mut payload, &claims).map_err(|_| MintError::Serialization)?;
        let id_token =
            sign_with_encoded_header(&key, &header, &payload).map_err(MintError::Signing)?;
        Ok(IssuedIdToken {
            id_token,
            alg,
            claims,
        })
    }
}

/// What a relying party expects of an ID token
/// ([OpenID Connect Core §3.1.3.7](https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation)).
#[derive(Clone, Copy, Default)]
#[non_exhaustive]
pub struct IdTokenExpectations<'a> {
    /// The `nonce` sent in the authentication request: the token must carry it.
    pub nonce: Option<&'a str>,
    /// The access token received with the ID token: `at_hash` must be present and match.
    pub access_token: Option<&'a str>,
    /// The code received with the ID token: `c_hash` must be present and match.
    pub code: Option<&'a str>,
    /// The `max_age` requested: `auth_time` must be present and recent enough.
    pub max_age: Option<u32>,
}

/// The access token and code are credentials: never shown.
impl fmt::Debug for IdTokenExpectations<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenExpectations")
            .field("nonce", &self.nonce)
            .field("access_token", &self.access_token.map(|_| "<redacted>"))
            .field("code", &self.code.map(|_| "<redacted>"))
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl<'a> IdTokenExpectations<'a> {
    /// Expect this `nonce`.
    #[must_use]
    pub fn nonce(mut self, nonce: &'a str) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// Expect `at_hash` for this access token.
    #[must_use]
    pub fn access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }

    /// Expect `c_hash` for this code.
    #[must_use]
    pub fn code(mut self, code: &'a str) -> Self {
        self.code = Some(code);
        self
    }

    /// Expect an authentication no older than `seconds`.
    #[must_use]
    pub fn max_age(mut self, seconds: u32) -> Self {
        self.max_age = Some(seconds);
        self
    }
}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Longer than the size limit.
    #[error("token too large")]
    TooLarge,
    /// Not a well-formed JWT.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Duplicate member names.
    #[error("duplicate member name")]
    DuplicateMember,
    /// `none`, `HS*` or unknown `alg`.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// `alg` not in the allow-list.
    #[error("algorithm {0} not allowed")]
    AlgorithmNotAllowed(Algorithm),
    /// `crit` / `b64` header.
    #[error("unsupported critical header")]
    CriticalHeader,
    /// `typ` is present and not `JWT` (for example an `at+jwt` access token).
    #[error("not an ID token (typ)")]
    WrongType,
    /// No trusted key for `kid`/`alg`.
    #[error("unknown signing key")]
    UnknownKey,
    /// The key cannot be used with `alg`.
    #[error("key does not match algorithm")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("invalid signature")]
    Signature,
    /// A required claim is missing.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or value.
    #[error("invalid claim {0}")]
    InvalidClaim(&'static str),
    /// `iss` mismatch.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not contain the client.
    #[error("wrong audience")]
    WrongAudience,
    /// `aud` contains an audience the client does not trust.
    #[error("untrusted additional audience")]
    UntrustedAudience,
    /// `azp` is missing with several audiences, or is not the client.
    #[error("wrong authorized party (azp)")]
    WrongAuthorizedParty,
    /// Expired.
    #[error("token expired")]
    Expired,
    /// `nbf` in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` in the future.
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `nonce` missing or different.
    #[error("nonce mismatch")]
    NonceMismatch,
    /// `at_hash` missing or different.
    #[error("at_hash mismatch")]
    AtHashMismatch,
    /// `c_hash` missing or different.
    #[error("c_hash mismatch")]
    CodeHashMismatch,
    /// `auth_time` missing or older than `max_age`.
    #[error("authentication too old")]
    AuthenticationTooOld,
}

impl IdTokenError {
    fn from_jose(e: JoseError) -> Self {
        match e {
            JoseError::Malformed(m) => IdTokenError::Malformed(m),
            JoseError::TooLarge => IdTokenError::TooLarge,
            JoseError::Base64 => IdTokenError::Malformed("invalid base64url"),
            JoseError::DuplicateMember => IdTokenError::DuplicateMember,
            JoseError::UnsupportedAlgorithm => IdTokenError::UnsupportedAlgorithm,
            JoseError::AlgorithmNotAllowed(a) => IdTokenError::AlgorithmNotAllowed(a),
            JoseError::KeyMismatch => IdTokenError::KeyMismatch,
            JoseError::UnknownKey => IdTokenError::UnknownKey,
            JoseError::CriticalHeader => IdTokenError::CriticalHeader,
            JoseError::InvalidKey(_) => IdTokenError::Malformed("invalid key in header"),
            JoseError::InvalidSignature | JoseError::Crypto => IdTokenError::Signature,
        }
    }
}

impl From<EnvelopeError> for IdTokenError {
    fn from(e: EnvelopeError) -> Self {
        match e {
            EnvelopeError::Jose(j) => IdTokenError::from_jose(j),
            EnvelopeError::WrongType => IdTokenError::WrongType,
            EnvelopeError::UnknownKey => IdTokenError::UnknownKey,
        }
    }
}

impl From<ClaimError> for IdTokenError {
    fn from(e: ClaimError) -> Self {
        match e {
            ClaimError::Missing(n) => IdTokenError::MissingClaim(n),
            ClaimError::Invalid(n) => IdTokenError::InvalidClaim(n),
        }
    }
}

impl From<TimeError> for IdTokenError {
    fn from(e: TimeError) -> Self {
        match e {
            TimeError::Expired => IdTokenError::Expired,
            TimeError::NotYetValid => IdTokenError::NotYetValid,
            TimeError::IssuedInFuture => IdTokenError::IssuedInFuture,
        }
    }
}

/// Verifies ID tokens the way a relying party must
/// ([OpenID Connect Core §3.1.3.7](https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation)).
/// Used by tests, by `id_token_hint` handling, and by hosts acting as RPs.
pub struct IdTokenVerifier {
    issuer: String,
    client_id: String,
    trusted_audiences: Vec<String>,
    keys: TrustedKeys,
    allowed: AlgorithmSet,
    leeway: i64,
    max_len: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for IdTokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenVerifier")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("allowed", &self.allowed)
            .finish_non_exhaustive()
    }
}

/// Builder for [`IdTokenVerifier`].
pub struct IdTokenVerifierBuilder {
    issuer: String,
    client_id: String,
    trusted_audiences: Vec<String>,
    keys: TrustedKeys,
    allowed: AlgorithmSet,
    leeway: u32,
    max_len: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for IdTokenVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenVerifierBuilder")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl IdTokenVerifierBuilder {
    /// Trust an additional audience next to the client.
    #[must_use]
    pub fn trusted_audience(mut self, aud: impl Into<String>) -> Self {
        self.trusted_audiences.push(aud.into());
        self
    }

    /// The algorithm allow-list (default: all supported).
    #[must_use]
    pub fn algorithms(mut self, allowed: AlgorithmSet) -> Self {
        self.allowed = allowed;
        self
    }

    /// Clock-skew tolerance in seconds (default 60, at most [`super::MAX_LEEWAY`]).
    #[must_use]
    pub fn leeway(mut self, seconds: u32) -> Self {
        self.leeway = seconds;
        self
    }

    /// The largest token accepted, in bytes (default 16 KiB).
    #[must_use]
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Build the verifier.
    ///
    /// # Errors
    /// [`TokenConfigError`].
    pub fn build(self) -> Result<IdTokenVerifier, TokenConfigError> {
        super::validate_issuer(&self.issuer)?;
        if self.client_id.is_empty() || self.trusted_audiences.iter().any(String::is_empty) {
            return Err(TokenConfigError::InvalidAudience);
        }
        if self.allowed.is_empty() {
            return Err(TokenConfigError::NoAlgorithms);
        }
        let leeway = super::validate_leeway(self.leeway)?;
        Ok(IdTokenVerifier {
            issuer: self.issuer,
            client_id: self.client_id,
            trusted_audiences: self.trusted_audiences,
            keys: self.keys,
            allowed: self.allowed,
            leeway,
            max_len: self.max_len,
            clock: self.clock,
        })
    }
}

impl IdTokenVerifier {
    /// Start configuring a verifier for ID tokens from `issuer` to `client_id`.
    #[must_use]
    pub fn builder(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        keys: TrustedKeys,
    ) -> IdTokenVerifierBuilder {
        IdTokenVerifierBuilder {
            issuer: issuer.into(),
            client_id: client_id.into(),
            trusted_audiences: Vec::new(),
            keys,
            allowed: AlgorithmSet::ALL,
            leeway: DEFAULT_LEEWAY,
            max_len: DEFAULT_MAX_JWS_LEN,
            clock: Arc::new(SystemClock),
        }
    }

    /// Verify an ID token: `typ` absent or `JWT`, allow-listed algorithm,
    /// signature, `iss` exact, `aud` contains the client and nothing
    /// untrusted, `azp` required with several audiences and equal to the
    /// client when present, `exp`/`iat` with leeway, then the expectations
    /// (`nonce`, `at_hash`, `c_hash`, `max_age`), compared in constant time.
    ///
    /// # Errors
    /// An [`IdTokenError`] naming the first failed check.
    pub fn verify(
        &self,
        token: &str,
        expect: &IdTokenExpectations<'_>,
    ) -> Result<IdTokenClaims, IdTokenError> {
        let (alg, payload) =
            super::open_jwt(token, self.max_len, self.allowed, &self.keys, |typ| {
                typ.is_none() || typ_matches(typ, ID_TOKEN_TYP)
            })?;
        let reader =
            ClaimReader::parse(&payload, &LIBRARY_OWNED).map_err(IdTokenError::from_jose)?;
        // nbf is not an ID-token claim, but if present it is honoured (and kept as an extra claim).
        let nbf = reader.peek_date("nbf", true)?;
        let claims = IdTokenClaims::from_reader(reader)?;
        if claims.iss != self.issuer {
            return Err(IdTokenError::WrongIssuer);
        }
        if !claims.aud.contains(&self.client_id) {
            return Err(IdTokenError::WrongAudience);
        }
        if claims
            .aud
            .iter()
            .any(|a| a != self.client_id && !self.trusted_audiences.iter().any(|t| t == a))
        {
            return Err(IdTokenError::UntrustedAudience);
        }
        match claims.azp.as_deref() {
            Some(azp) if azp != self.client_id => return Err(IdTokenError::WrongAuthorizedParty),
            None if claims.aud.len() > 1 => return Err(IdTokenError::WrongAuthorizedParty),
            _ => {}
        }
        let now = self.clock.now();
        super::check_times(now, self.leeway, claims.exp, claims.iat, nbf)?;
        if let Some(expected) = expect.nonce {
            match claims.nonce.as_deref() {
                Some(n) if ct_eq(n.as_bytes(), expected.as_bytes()) => {}
                _ => return Err(IdTokenError::NonceMismatch),
            }
        }
        if let Some(at) = expect.access_token
            && !hash_matches(claims.at_hash.as_deref(), alg, at)
        {
            return Err(IdTokenError::AtHashMismatch);
        }
        if let Some(code) = expect.code
            && !hash_matches(claims.c_hash.as_deref(), alg, code)
        {
            return Err(IdTokenError::CodeHashMismatch);
        }
        if let Some(max_age) = expect.max_age {
            match claims.auth_time {
                Some(t)
                    if t.saturating_add(i64::from(max_age))
                        .saturating_add(self.leeway)
                        >= now => {}
                _ => return Err(IdTokenError::AuthenticationTooOld),
            }
        }
        Ok(claims)
    }
}

fn hash_matches(claimed: Option<&str>, alg: Algorithm, value: &str) -> bool {
    claimed.is_some_and(|c| ct_eq(c.as_bytes(), token_hash(alg, value).as_bytes()))
}
