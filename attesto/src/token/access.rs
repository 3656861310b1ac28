//! [RFC 9068](https://www.rfc-editor.org/rfc/rfc9068) JWT access tokens
//! (`typ: at+jwt`).

use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeMap as _;
use serde_json::{Map, Value};

use super::{
    Audience, ClaimError, ClaimReader, ClaimView, Confirmation, DEFAULT_ACCESS_TOKEN_TTL,
    DEFAULT_LEEWAY, EnvelopeError, HeaderCache, MintError, PrincipalKind, PrincipalKinds, Subject,
    SubjectError, TimeError, TokenConfigError, TrustedKeys,
};
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::jose::{
    Algorithm, AlgorithmSet, DEFAULT_MAX_JWS_LEN, JoseError, Keystore, sign_with_encoded_header,
    typ_matches,
};
use crate::secret::{OsRandom, RandomSource, Secret, ct_eq};

/// The `typ` header of a JWT access token
/// ([RFC 9068 §2.1](https://www.rfc-editor.org/rfc/rfc9068#section-2.1)).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims the library owns; host claims may not set them.
const REGISTERED: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "client_id",
    "scope",
    "auth_time",
    "acr",
    "amr",
    "cnf",
];

/// The claims of a JWT access token
/// ([RFC 9068 §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)).
///
/// `iss`, `sub`, `aud`, `exp`, `iat`, `jti` and `client_id` are required;
/// `scope` is the space-delimited scope string ([RFC 9068 §2.2.3](https://www.rfc-editor.org/rfc/rfc9068#section-2.2.3),
/// empty when the token has no scope). Everything else the token carries
/// lands in [`AccessTokenClaims::extra`]; on serialization an `extra` member
/// with a registered name is never written, so host claims cannot override
/// registered ones.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccessTokenClaims {
    /// `iss`: the issuer identifier.
    pub iss: String,
    /// `sub`: the namespaced subject (principal-kind prefix + id).
    pub sub: String,
    /// `aud`: the resource servers the token is for.
    pub aud: Audience,
    /// `exp`: expiry (seconds since the epoch).
    pub exp: UnixTime,
    /// `iat`: issue time.
    pub iat: UnixTime,
    /// `nbf`: not-before time, if any.
    pub nbf: Option<UnixTime>,
    /// `jti`: unique token identifier.
    pub jti: String,
    /// `client_id`: the client the token was issued to.
    pub client_id: String,
    /// `scope`: space-delimited scope tokens; empty for none.
    pub scope: String,
    /// `auth_time`: when the end user authenticated.
    pub auth_time: Option<UnixTime>,
    /// `acr`: authentication context class reference.
    pub acr: Option<String>,
    /// `amr`: authentication methods references.
    pub amr: Option<Vec<String>>,
    /// `cnf`: the sender constraint ([RFC 7800](https://www.rfc-editor.org/rfc/rfc7800)).
    pub cnf: Option<Confirmation>,
    /// Every other claim.
    pub extra: Map<String, Value>,
}

impl AccessTokenClaims {
    /// Parse a claims set strictly: a JSON object with unique member names,
    /// required claims present, each claim of its registered JSON type
    /// (`exp`/`iat`/`nbf`/`auth_time` numbers, never strings).
    ///
    /// # Errors
    /// [`AccessTokenError::Malformed`], [`AccessTokenError::DuplicateMember`],
    /// [`AccessTokenError::MissingClaim`] or [`AccessTokenError::InvalidClaim`].
    pub fn from_json(json: &[u8]) -> Result<Self, AccessTokenError> {
        let reader = ClaimReader::parse(json, &REGISTERED).map_err(AccessTokenError::from_jose)?;
        Self::from_reader(reader).map_err(AccessTokenError::from)
    }

    fn from_reader(mut r: ClaimReader) -> Result<Self, ClaimError> {
        let iss = r.required_string("iss")?;
        let sub = r.required_string("sub")?;
        let aud = r.audience()?;
        let exp = r.required_date("exp", false)?;
        let iat = r.required_date("iat", true)?;
        let nbf = r.date("nbf", true)?;
        let jti = r.required_string("jti")?;
        let client_id = r.required_string("client_id")?;
        let scope = r.string("scope")?.unwrap_or_default();
        if !super::is_scope_string(&scope) {
            return Err(ClaimError::Invalid("scope"));
        }
        let auth_time = r.date("auth_time", false)?;
        let acr = r.string("acr")?;
        let amr = r.string_array("amr")?;
        let cnf = r.confirmation()?;
        Ok(AccessTokenClaims {
            iss,
            sub,
            aud,
            exp,
            iat,
            nbf,
            jti,
            client_id,
            scope,
            auth_time,
            acr,
            amr,
            cnf,
            extra: r.into_rest(),
        })
    }

    /// The scope tokens.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    /// Whether the token carries exactly this scope token.
    #[must_use]
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// How the token must be presented: `DPoP` when bound to a DPoP key.
    #[must_use]
    pub fn token_type(&self) -> TokenType {
        if self.cnf.as_ref().is_some_and(|c| c.jkt.is_some()) {
            TokenType::DPoP
        } else {
            TokenType::Bearer
        }
    }

    /// Enforce the sender constraint on a presented token
    /// ([RFC 9449 §7](https://www.rfc-editor.org/rfc/rfc9449#section-7),
    /// [RFC 8705 §3](https://www.rfc-editor.org/rfc/rfc8705#section-3)).
    ///
    /// * A DPoP-bound token needs a DPoP proof for the same key.
    /// * A certificate-bound token needs the same client certificate, and no DPoP proof.
    /// * A DPoP proof presented with a token that is not DPoP-bound is refused.
    /// * A client certificate with an unbound token is fine (TLS client auth).
    ///
    /// Thumbprints are compared in constant time.
    ///
    /// # Errors
    /// [`AccessTokenError::SenderProofRequired`], [`AccessTokenError::SenderMismatch`]
    /// or [`AccessTokenError::UnexpectedSenderProof`].
    pub fn check_sender(&self, proof: SenderProof<'_>) -> Result<(), AccessTokenError> {
        let (jkt, x5t) = match &self.cnf {
            Some(c) => (c.jkt.as_deref(), c.x5t_s256.as_deref()),
            None => (None, None),
        };
        match (jkt, proof.dpop_jkt) {
            (Some(_), None) => return Err(AccessTokenError::SenderProofRequired),
            (Some(bound), Some(presented)) if !ct_eq(bound.as_bytes(), presented.as_bytes()) => {
                return Err(AccessTokenError::SenderMismatch);
            }
            (None, Some(_)) => return Err(AccessTokenError::UnexpectedSenderProof),
            _ => {}
        }
        match (x5t, proof.cert_thumbprint) {
            (Some(_), None) => Err(AccessTokenError::SenderProofRequired),
            (Some(bound), Some(presented)) if !ct_eq(bound.as_bytes(), presented.as_bytes()) => {
                Err(AccessTokenError::SenderMismatch)
            }
            _ => Ok(()),
        }
    }

    fn claim_view(&self, name: &str) -> ClaimView<'_> {
        match name {
            "iss" => ClaimView::Str(&self.iss),
            "sub" => ClaimView::Str(&self.sub),
            "jti" => ClaimView::Str(&self.jti),
            "client_id" => ClaimView::Str(&self.client_id),
            "scope" => ClaimView::Str(&self.scope),
            "exp" => ClaimView::Int(self.exp),
            "iat" => ClaimView::Int(self.iat),
            "nbf" => ClaimView::opt_int(self.nbf),
            "auth_time" => ClaimView::opt_int(self.auth_time),
            "acr" => ClaimView::opt_str(self.acr.as_deref()),
            "aud" => ClaimView::Other,
            "amr" if self.amr.is_some() => ClaimView::Other,
            "cnf" if self.cnf.is_some() => ClaimView::Other,
            "amr" | "cnf" => ClaimView::Missing,
            other => ClaimView::opt_json(self.extra.get(other)),
        }
    }
}

impl serde::Serialize for AccessTokenClaims {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("iss", &self.iss)?;
        m.serialize_entry("sub", &self.sub)?;
        m.serialize_entry("aud", &self.aud)?;
        m.serialize_entry("exp", &self.exp)?;
        m.serialize_entry("iat", &self.iat)?;
        if let Some(nbf) = self.nbf {
            m.serialize_entry("nbf", &nbf)?;
        }
        m.serialize_entry("jti", &self.jti)?;
        m.serialize_entry("client_id", &self.client_id)?;
        if !self.scope.is_empty() {
            m.serialize_entry("scope", &self.scope)?;
        }
        if let Some(t) = self.auth_time {
            m.serialize_entry("auth_time", &t)?;
        }
        if let Some(acr) = &self.acr {
            m.serialize_entry("acr", acr)?;
        }
        if let Some(amr) = &self.amr {
            m.serialize_entry("amr", amr)?;
        }
        if let Some(cnf) = &self.cnf {
            m.serialize_entry("cnf", cnf)?;
        }
        for (k, v) in &self.extra {
            if !REGISTERED.contains(&k.as_str()) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// How an access token is presented ([RFC 6750](https://www.rfc-editor.org/rfc/rfc6750),
/// [RFC 9449 §7.1](https://www.rfc-editor.org/rfc/rfc9449#section-7.1)). A
/// certificate-bound token is still `Bearer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenType {
    /// `Bearer`.
    Bearer,
    /// `DPoP`.
    DPoP,
}

impl TokenType {
    /// The `token_type` value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenType::Bearer => "Bearer",
            TokenType::DPoP => "DPoP",
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the client presented alongside the access token, for
/// [`AccessTokenClaims::check_sender`]. Both values are SHA-256 thumbprints
/// from *verified* sources: the DPoP proof's JWK, the TLS client certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SenderProof<'a> {
    /// The JWK thumbprint of a verified DPoP proof's key.
    pub dpop_jkt: Option<&'a str>,
    /// The `x5t#S256` thumbprint of the TLS client certificate.
    pub cert_thumbprint: Option<&'a str>,
}

impl<'a> SenderProof<'a> {
    /// Nothing presented but the token.
    pub const NONE: SenderProof<'static> = SenderProof {
        dpop_jkt: None,
        cert_thumbprint: None,
    };

    /// A verified DPoP proof whose key has this thumbprint.
    #[must_use]
    pub const fn dpop(jkt: &'a str) -> Self {
        SenderProof {
            dpop_jkt: Some(jkt),
            cert_thumbprint: None,
        }
    }

    /// A TLS client certificate with this thumbprint.
    #[must_use]
    pub const fn mtls(x5t_s256: &'a str) -> Self {
        SenderProof {
            dpop_jkt: None,
            cert_thumbprint: Some(x5t_s256),
        }
    }

    /// Add a TLS client certificate.
    #[must_use]
    pub const fn with_cert(mut self, x5t_s256: &'a str) -> Self {
        self.cert_thumbprint = Some(x5t_s256);
        self
    }
}

/// What to put in an access token.
///
/// ```
/// use attesto::token::{AccessTokenRequest, PrincipalKind};
/// const USER: PrincipalKind = PrincipalKind::new("user", "usr_", &[]);
/// let req = AccessTokenRequest::new(&USER.subject("alice").unwrap(), "app")
///     .scope(["openid", "documents.read"])
///     .audience(["https://rs.example"])
///     .auth_time(1_700_000_000)
///     .claim("sid", "s-1");
/// assert_eq!(req.sub, "usr_alice");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccessTokenRequest {
    /// The principal kind's name.
    pub kind: String,
    /// The full subject (prefix + id); minting refuses one without its kind's prefix.
    pub sub: String,
    /// The client the token is issued to.
    pub client_id: String,
    /// Granted scope tokens (deduplicated, order kept).
    pub scope: Vec<String>,
    /// Audiences (RFC 8707 resources); empty means the issuer's default audience.
    pub audience: Vec<String>,
    /// Lifetime in seconds; `None` means the issuer's default.
    pub ttl: Option<u32>,
    /// `auth_time`.
    pub auth_time: Option<UnixTime>,
    /// `acr`.
    pub acr: Option<String>,
    /// `amr`.
    pub amr: Vec<String>,
    /// `cnf`: the DPoP key or client certificate the token is bound to.
    pub confirmation: Option<Confirmation>,
    /// Host claims. A registered claim name here is a mint error.
    pub claims: Map<String, Value>,
}

impl AccessTokenRequest {
    /// A token for `subject`, issued to `client_id`.
    #[must_use]
    pub fn new(subject: &Subject, client_id: impl Into<String>) -> Self {
        Self::for_kind(subject.kind(), subject.as_str(), client_id)
    }

    /// A token for the subject `sub` of the principal kind named `kind`.
    /// `sub` must already carry the kind's prefix.
    #[must_use]
    pub fn for_kind(
        kind: impl Into<String>,
        sub: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Self {
        AccessTokenRequest {
            kind: kind.into(),
            sub: sub.into(),
            client_id: client_id.into(),
            scope: Vec::new(),
            audience: Vec::new(),
            ttl: None,
            auth_time: None,
            acr: None,
            amr: Vec::new(),
            confirmation: None,
            claims: Map::new(),
        }
    }

    /// Set the granted scope.
    #[must_use]
    pub fn scope<I, S>(mut self, scope: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scope = scope.into_iter().map(Into::into).collect();
        self
    }

    /// Set the audiences (resources).
    #[must_use]
    pub fn audience<I, S>(mut self, audience: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = audience.into_iter().map(Into::into).collect();
        self
    }

    /// Set the lifetime in seconds.
    #[must_use]
    pub fn ttl(mut self, seconds: u32) -> Self {
        self.ttl = Some(seconds);
        self
    }

    /// Set `auth_time`.
    #[must_use]
    pub fn auth_time(mut self, auth_time: UnixTime) -> Self {
        self.auth_time = Some(auth_time);
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

    /// Bind the token to a DPoP key (`cnf.jkt`, token type `DPoP`).
    #[must_use]
    pub fn dpop_jkt(mut self, jkt: impl Into<String>) -> Self {
        self.confirmation = Some(Confirmation::dpop(jkt));
        self
    }

    /// Bind the token to a client certificate (`cnf.x5t#S256`, token type `Bearer`).
    #[must_use]
    pub fn mtls_thumbprint(mut self, x5t_s256: impl Into<String>) -> Self {
        self.confirmation = Some(Confirmation::mtls(x5t_s256));
        self
    }

    /// Add a host claim.
    #[must_use]
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
}

/// A minted access token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedAccessToken {
    /// The compact JWS. A bearer credential: never log it.
    pub access_token: Secret,
    /// `Bearer`, or `DPoP` for a DPoP-bound token.
    pub token_type: TokenType,
    /// Lifetime in seconds (`expires_in` of the token response).
    pub expires_in: u32,
    /// The claims as signed.
    pub claims: AccessTokenClaims,
}

impl IssuedAccessToken {
    /// `exp`.
    #[must_use]
    pub fn expires_at(&self) -> UnixTime {
        self.claims.exp
    }

    /// `jti`.
    #[must_use]
    pub fn jti(&self) -> &str {
        &self.claims.jti
    }

    /// The space-delimited scope string of the token response.
    #[must_use]
    pub fn scope(&self) -> &str {
        &self.claims.scope
    }
}

/// Mints RFC 9068 access tokens. Configured once; [`AccessTokenIssuer::mint`]
/// is the hot path (one claims serialization, one signature; the encoded
/// header is cached per key).
pub struct AccessTokenIssuer {
    issuer: String,
    audience: Audience,
    keystore: Arc<dyn Keystore>,
    alg: Option<Algorithm>,
    ttl: u32,
    kinds: PrincipalKinds,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    headers: HeaderCache,
}

impl fmt::Debug for AccessTokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("alg", &self.alg)
            .field("ttl", &self.ttl)
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

/// Builder for [`AccessTokenIssuer`].
pub struct AccessTokenIssuerBuilder {
    issuer: String,
    audience: Vec<String>,
    keystore: Arc<dyn Keystore>,
    alg: Option<Algorithm>,
    ttl: u32,
    kinds: Vec<PrincipalKind>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
}

impl fmt::Debug for AccessTokenIssuerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenIssuerBuilder")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl AccessTokenIssuer {
    /// Start configuring an issuer for `issuer` signing with `keystore`.
    #[must_use]
    pub fn builder(
        issuer: impl Into<String>,
        keystore: Arc<dyn Keystore>,
    ) -> AccessTokenIssuerBuilder {
        AccessTokenIssuerBuilder {
            issuer: issuer.into(),
            audience: Vec::new(),
            keystore,
            alg: None,
            ttl: DEFAULT_ACCESS_TOKEN_TTL,
            kinds: Vec::new(),
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
        }
    }

    /// The issuer identifier.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The default audience.
    #[must_use]
    pub fn audience(&self) -> &Audience {
        &self.audience
    }

    /// The keystore.
    #[must_use]
    pub fn keystore(&self) -> &Arc<dyn Keystore> {
        &self.keystore
    }

    /// The principal kinds this issuer serves.
    #[must_use]
    pub fn principal_kinds(&self) -> &[PrincipalKind] {
        self.kinds.as_slice()
    }

    /// A verifier builder for this issuer's tokens: same issuer, default
    /// audiences, keystore, principal kinds and clock.
    #[must_use]
    pub fn verifier(&self) -> AccessTokenVerifierBuilder {
        let mut b = AccessTokenVerifier::builder(
            self.issuer.clone(),
            TrustedKeys::keystore(Arc::clone(&self.keystore)),
        )
        .principal_kinds(self.kinds.as_slice().iter().cloned())
        .clock(Arc::clone(&self.clock));
        for a in self.audience.iter() {
            b = b.audience(a);
        }
        b
    }

    /// Mint an access token.
    ///
    /// # Errors
    /// [`MintError`]: an unknown principal kind, a subject without its kind's
    /// prefix, a missing required claim, a host claim with a registered name,
    /// an invalid scope/audience/confirmation, or a keystore/signing failure.
    pub fn mint(&self, request: AccessTokenRequest) -> Result<IssuedAccessToken, MintError> {
        let AccessTokenRequest {
            kind,
            sub,
            client_id,
            scope,
            audience,
            ttl,
            auth_time,
            acr,
            amr,
            confirmation,
            claims: extra,
        } = request;
        let kind = self
            .kinds
            .by_name(&kind)
            .ok_or(MintError::UnknownPrincipalKind)?;
        kind.check(&sub)?;
        if client_id.is_empty() || !client_id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(MintError::InvalidField("client_id"));
        }
        if let Some(name) = extra.keys().find(|k| REGISTERED.contains(&k.as_str())) {
            return Err(MintError::ReservedClaim(name.clone()));
        }
        let scope = super::join_scopes(&scope)?;
        let aud = if audience.is_empty() {
            self.audience.clone()
        } else {
            if audience.iter().any(String::is_empty) {
                return Err(MintError::InvalidAudience);
            }
            Audience::from_values(audience).ok_or(MintError::InvalidAudience)?
        };
        let ttl = ttl.unwrap_or(self.ttl);
        if !super::validate_ttl(ttl) {
            return Err(MintError::InvalidTtl);
        }
        if confirmation.as_ref().is_some_and(|c| !c.is_valid()) {
            return Err(MintError::InvalidConfirmation);
        }
        if acr.as_deref().is_some_and(str::is_empty) {
            return Err(MintError::InvalidField("acr"));
        }
        if amr.iter().any(String::is_empty) {
            return Err(MintError::InvalidField("amr"));
        }
        let key =
            super::signing_key(self.keystore.as_ref(), self.alg).ok_or(MintError::NoSigningKey)?;
        let now = self.clock.now();
        let claims = AccessTokenClaims {
            iss: self.issuer.clone(),
            sub,
            aud,
            exp: now.saturating_add(i64::from(ttl)),
            iat: now,
            nbf: None,
            jti: super::random_jti(self.random.as_ref())?,
            client_id,
            scope,
            auth_time,
            acr,
            amr: (!amr.is_empty()).then_some(amr),
            cnf: confirmation,
            extra,
        };
        kind.check_required(|name| claims.claim_view(name))
            .map_err(MintError::MissingRequiredClaim)?;
        let header = self.headers.header_for(&key)?;
        let mut payload = Vec::with_capacity(384);
        serde_json::to_writer(&mut payload, &claims).map_err(|_| MintError::Serialization)?;
        let token =
            sign_with_encoded_header(&key, &header, &payload).map_err(MintError::Signing)?;
        Ok(IssuedAccessToken {
            access_token: Secret::new(token),
            token_type: claims.token_type(),
            expires_in: ttl,
            claims,
        })
    }
}

impl AccessTokenIssuerBuilder {
    /// Add a default audience (used when a request names none). At least one
    /// is required; each must be an absolute https URL without fragment.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience.push(audience.into());
        self
    }

    /// Sign with the keystore's active key for `alg` (default: the keystore's default key).
    #[must_use]
    pub fn signing_alg(mut self, alg: Algorithm) -> Self {
        self.alg = Some(alg);
        self
    }

    /// Default lifetime in seconds (default 900).
    #[must_use]
    pub fn ttl(mut self, seconds: u32) -> Self {
        self.ttl = seconds;
        self
    }

    /// Serve a principal kind.
    #[must_use]
    pub fn principal_kind(mut self, kind: PrincipalKind) -> Self {
        self.kinds.push(kind);
        self
    }

    /// Serve several principal kinds.
    #[must_use]
    pub fn principal_kinds(mut self, kinds: impl IntoIterator<Item = PrincipalKind>) -> Self {
        self.kinds.extend(kinds);
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The random source for `jti` (default: the OS CSPRNG).
    #[must_use]
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// Build the issuer.
    ///
    /// # Errors
    /// [`TokenConfigError`] for an invalid issuer or audience, a lifetime out
    /// of range, no or inconsistent principal kinds, or a keystore without a
    /// signing key for the configured algorithm.
    pub fn build(self) -> Result<AccessTokenIssuer, TokenConfigError> {
        super::validate_issuer(&self.issuer)?;
        for a in &self.audience {
            super::validate_default_audience(a)?;
        }
        let audience = Audience::from_values(self.audience).ok_or(TokenConfigError::NoAudience)?;
        if !super::validate_ttl(self.ttl) {
            return Err(TokenConfigError::InvalidTtl);
        }
        if self.kinds.is_empty() {
            return Err(TokenConfigError::NoPrincipalKinds);
        }
        let kinds =
            PrincipalKinds::new(self.kinds).map_err(TokenConfigError::InvalidPrincipalKinds)?;
        if super::signing_key(self.keystore.as_ref(), self.alg).is_none() {
            return Err(TokenConfigError::NoSigningKey);
        }
        Ok(AccessTokenIssuer {
            issuer: self.issuer,
            audience,
            keystore: self.keystore,
            alg: self.alg,
            ttl: self.ttl,
            kinds,
            clock: self.clock,
            random: self.random,
            headers: HeaderCache::new(ACCESS_TOKEN_TYP),
        })
    }
}

/// Why an access token was refused. Every variant is an `invalid_token`
/// ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)) to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessTokenError {
    /// Longer than the verifier's size limit.
    #[error("token too large")]
    TooLarge,
    /// Not a well-formed compact JWS / JWT.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header or claims repeat a member name.
    #[error("duplicate member name")]
    DuplicateMember,
    /// `alg` is `none`, symmetric (`HS*`) or unknown.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// `alg` is not in the verifier's allow-list.
    #[error("algorithm {0} not allowed")]
    AlgorithmNotAllowed(Algorithm),
    /// The header carries `crit` or `b64`.
    #[error("unsupported critical header")]
    CriticalHeader,
    /// `typ` is not `at+jwt` ([RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4)).
    #[error("not a JWT access token (typ)")]
    WrongType,
    /// No trusted key has the header's `kid` and supports its `alg`.
    #[error("unknown signing key")]
    UnknownKey,
    /// The key cannot be used with the header's `alg`.
    #[error("key does not match algorithm")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("invalid signature")]
    Signature,
    /// A required claim is missing.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an invalid value.
    #[error("invalid claim {0}")]
    InvalidClaim(&'static str),
    /// `iss` is not the expected issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` holds none of the accepted audiences.
    #[error("wrong audience")]
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `sub` belongs to no configured principal kind, or is invalid.
    #[error("invalid subject: {0}")]
    InvalidSubject(SubjectError),
    /// A claim the subject's principal kind requires is missing or mistyped.
    #[error("missing required claim {0:?}")]
    MissingRequiredClaim(String),
    /// The token is sender-constrained and the matching proof is missing.
    #[error("the token is sender-constrained; proof of possession required")]
    SenderProofRequired,
    /// The proof is for a different key or certificate.
    #[error("the proof of possession does not match the token binding")]
    SenderMismatch,
    /// A DPoP proof came with a token that is not DPoP-bound.
    #[error("a DPoP proof was presented with a token that is not DPoP-bound")]
    UnexpectedSenderProof,
}

impl AccessTokenError {
    pub(crate) fn from_jose(e: JoseError) -> Self {
        match e {
            JoseError::Malformed(m) => AccessTokenError::Malformed(m),
            JoseError::TooLarge => AccessTokenError::TooLarge,
            JoseError::Base64 => AccessTokenError::Malformed("invalid base64url"),
            JoseError::DuplicateMember => AccessTokenError::DuplicateMember,
            JoseError::UnsupportedAlgorithm => AccessTokenError::UnsupportedAlgorithm,
            JoseError::AlgorithmNotAllowed(a) => AccessTokenError::AlgorithmNotAllowed(a),
            JoseError::KeyMismatch => AccessTokenError::KeyMismatch,
            JoseError::UnknownKey => AccessTokenError::UnknownKey,
            JoseError::CriticalHeader => AccessTokenError::CriticalHeader,
            JoseError::InvalidKey(_) => AccessTokenError::Malformed("invalid key in header"),
            JoseError::InvalidSignature | JoseError::Crypto => AccessTokenError::Signature,
        }
    }
}

impl From<EnvelopeError> for AccessTokenError {
    fn from(e: EnvelopeError) -> Self {
        match e {
            EnvelopeError::Jose(j) => AccessTokenError::from_jose(j),
            EnvelopeError::WrongType => AccessTokenError::WrongType,
            EnvelopeError::UnknownKey => AccessTokenError::UnknownKey,
        }
    }
}

impl From<ClaimError> for AccessTokenError {
    fn from(e: ClaimError) -> Self {
        match e {
            ClaimError::Missing(n) => AccessTokenError::MissingClaim(n),
            ClaimError::Invalid(n) => AccessTokenError::InvalidClaim(n),
        }
    }
}

impl From<TimeError> for AccessTokenError {
    fn from(e: TimeError) -> Self {
        match e {
            TimeError::Expired => AccessTokenError::Expired,
            TimeError::NotYetValid => AccessTokenError::NotYetValid,
            TimeError::IssuedInFuture => AccessTokenError::IssuedInFuture,
        }
    }
}

/// Verifies RFC 9068 access tokens locally
/// ([RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4)).
pub struct AccessTokenVerifier {
    issuer: String,
    audiences: Vec<String>,
    keys: TrustedKeys,
    allowed: AlgorithmSet,
    leeway: i64,
    max_len: usize,
    kinds: PrincipalKinds,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for AccessTokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenVerifier")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("allowed", &self.allowed)
            .field("leeway", &self.leeway)
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

/// Builder for [`AccessTokenVerifier`].
pub struct AccessTokenVerifierBuilder {
    issuer: String,
    audiences: Vec<String>,
    keys: TrustedKeys,
    allowed: AlgorithmSet,
    leeway: u32,
    max_len: usize,
    kinds: Vec<PrincipalKind>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for AccessTokenVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenVerifierBuilder")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl AccessTokenVerifierBuilder {
    /// Accept tokens whose `aud` contains `audience`. At least one is required.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The algorithm allow-list (default: every supported asymmetric algorithm,
    /// each still restricted to keys of its type).
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

    /// Require `sub` to belong to one of these principal kinds, with the
    /// claims the kind requires.
    #[must_use]
    pub fn principal_kind(mut self, kind: PrincipalKind) -> Self {
        self.kinds.push(kind);
        self
    }

    /// As [`AccessTokenVerifierBuilder::principal_kind`], for several kinds.
    #[must_use]
    pub fn principal_kinds(mut self, kinds: impl IntoIterator<Item = PrincipalKind>) -> Self {
        self.kinds.extend(kinds);
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
    /// [`TokenConfigError`] for an invalid issuer, no or empty audiences, an
    /// empty algorithm list, a leeway over the cap, or inconsistent principal kinds.
    pub fn build(self) -> Result<AccessTokenVerifier, TokenConfigError> {
        super::validate_issuer(&self.issuer)?;
        if self.audiences.is_empty() {
            return Err(TokenConfigError::NoAudience);
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(TokenConfigError::InvalidAudience);
        }
        if self.allowed.is_empty() {
            return Err(TokenConfigError::NoAlgorithms);
        }
        let leeway = super::validate_leeway(self.leeway)?;
        let kinds =
            PrincipalKinds::new(self.kinds).map_err(TokenConfigError::InvalidPrincipalKinds)?;
        Ok(AccessTokenVerifier {
            issuer: self.issuer,
            audiences: self.audiences,
            keys: self.keys,
            allowed: self.allowed,
            leeway,
            max_len: self.max_len,
            kinds,
            clock: self.clock,
        })
    }
}

impl AccessTokenVerifier {
    /// Start configuring a verifier for tokens from `issuer`, signed by `keys`.
    #[must_use]
    pub fn builder(issuer: impl Into<String>, keys: TrustedKeys) -> AccessTokenVerifierBuilder {
        AccessTokenVerifierBuilder {
            issuer: issuer.into(),
            audiences: Vec::new(),
            keys,
            allowed: AlgorithmSet::ALL,
            leeway: DEFAULT_LEEWAY,
            max_len: DEFAULT_MAX_JWS_LEN,
            kinds: Vec::new(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Verify an access token: size, structure, `typ: at+jwt`, algorithm
    /// allow-list, key by `kid`, signature, then the claims — types, `iss`
    /// (exact), `aud` (one accepted audience), `exp`/`nbf`/`iat` with leeway,
    /// and, when principal kinds are configured, the subject's kind and its
    /// required claims.
    ///
    /// This does not check a sender constraint; use
    /// [`AccessTokenVerifier::verify_presented`] (or
    /// [`AccessTokenClaims::check_sender`]) on a resource server.
    ///
    /// # Errors
    /// An [`AccessTokenError`] naming the first failed check.
    pub fn verify(&self, token: &str) -> Result<AccessTokenClaims, AccessTokenError> {
        let (_, payload) = super::open_jwt(token, self.max_len, self.allowed, &self.keys, |typ| {
            typ_matches(typ, ACCESS_TOKEN_TYP)
        })?;
        let claims = AccessTokenClaims::from_json(&payload)?;
        if claims.iss != self.issuer {
            return Err(AccessTokenError::WrongIssuer);
        }
        if !self.audiences.iter().any(|a| claims.aud.contains(a)) {
            return Err(AccessTokenError::WrongAudience);
        }
        super::check_times(
            self.clock.now(),
            self.leeway,
            claims.exp,
            claims.iat,
            claims.nbf,
        )?;
        if !self.kinds.is_empty() {
            let kind = self
                .kinds
                .classify(&claims.sub)
                .ok_or(AccessTokenError::InvalidSubject(SubjectError::UnknownKind))?;
            kind.check(&claims.sub)
                .map_err(AccessTokenError::InvalidSubject)?;
            kind.check_required(|name| claims.claim_view(name))
                .map_err(AccessTokenError::MissingRequiredClaim)?;
        }
        Ok(claims)
    }

    /// [`AccessTokenVerifier::verify`], then enforce the token's sender
    /// constraint against what the client presented.
    ///
    /// # Errors
    /// As [`AccessTokenVerifier::verify`] and [`AccessTokenClaims::check_sender`].
    pub fn verify_presented(
        &self,
        token: &str,
        proof: SenderProof<'_>,
    ) -> Result<AccessTokenClaims, AccessTokenError> {
        let claims = self.verify(token)?;
        claims.check_sender(proof)?;
        Ok(claims)
    }

    /// The subject of verified claims, mapped to its principal kind.
    ///
    /// # Errors
    /// [`AccessTokenError::InvalidSubject`] when no configured kind owns the `sub`.
    pub fn subject(&self, claims: &AccessTokenClaims) -> Result<Subject, AccessTokenError> {
        let kind = self
            .kinds
            .classify(&claims.sub)
            .ok_or(AccessTokenError::InvalidSubject(SubjectError::UnknownKind))?;
        kind.parse(&claims.sub)
            .map_err(AccessTokenError::InvalidSubject)
    }

    /// The expected issuer.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}
