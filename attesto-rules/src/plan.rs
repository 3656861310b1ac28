//! A server configuration as plain data, and every rule it must satisfy.
//!
//! A [`Plan`] is what both front ends produce: the `#[authorization_server]`
//! macro builds one from the attribute and the impl block (each item located
//! by the span of the token that set it), and the runtime builder builds one
//! from a `ServerConfig` (each item located by the builder setting's name).
//! [`check`] returns *every* broken rule, each with the location of the
//! smallest offending item, so the macro can report them all at once and the
//! runtime can return the first.

use crate::{IssuerError, PathError, validate_issuer, validate_path};

/// The route prefix used when none is given.
pub const DEFAULT_PREFIX: &str = "/oauth";

/// The fixed well-known paths (RFC 8615), always at the host root.
pub const WELL_KNOWN_PATHS: [&str; 4] = [
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/.well-known/jwks.json",
    "/.well-known/oauth-protected-resource",
];

/// The JWS algorithms attesto knows ([RFC 7518 §3.1](https://www.rfc-editor.org/rfc/rfc7518#section-3.1),
/// [RFC 8037](https://www.rfc-editor.org/rfc/rfc8037)); `none` and the `HS*`
/// family are deliberately absent.
pub const JWS_ALGORITHMS: [&str; 10] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
];

/// The algorithms FAPI 2.0 allows for signing
/// ([FAPI 2.0 Security Profile §5.4](https://openid.net/specs/fapi-security-profile-2_0-final.html#section-5.4)).
pub const FAPI_ALGORITHMS: [&str; 3] = ["PS256", "ES256", "EdDSA"];

/// The longest lifetime any token or code may have: one year.
pub const MAX_TTL_SECS: u64 = 366 * 24 * 3600;

/// The longest authorization-code lifetime: ten minutes
/// ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2)).
pub const MAX_CODE_TTL_SECS: u64 = 600;

/// The longest refresh-rotation grace window: five minutes. A longer window
/// lets a stolen, already-rotated refresh token keep working
/// ([RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2)).
pub const MAX_REFRESH_GRACE_SECS: u64 = 300;

/// An endpoint the server can mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// Authorization endpoint ([RFC 6749 §3.1](https://www.rfc-editor.org/rfc/rfc6749#section-3.1)).
    Authorize,
    /// Token endpoint ([RFC 6749 §3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2)).
    Token,
    /// Revocation endpoint ([RFC 7009](https://www.rfc-editor.org/rfc/rfc7009)).
    Revoke,
    /// Introspection endpoint ([RFC 7662](https://www.rfc-editor.org/rfc/rfc7662)).
    Introspect,
    /// UserInfo endpoint ([OIDC Core §5.3](https://openid.net/specs/openid-connect-core-1_0.html#UserInfo)).
    Userinfo,
    /// Dynamic registration endpoint ([RFC 7591](https://www.rfc-editor.org/rfc/rfc7591)).
    Register,
    /// Pushed authorization requests ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)).
    Par,
    /// Device authorization endpoint ([RFC 8628 §3.1](https://www.rfc-editor.org/rfc/rfc8628#section-3.1)).
    DeviceAuthorization,
    /// Device verification page ([RFC 8628 §3.3](https://www.rfc-editor.org/rfc/rfc8628#section-3.3)).
    DeviceVerification,
    /// RP-initiated logout ([OIDC RP-Initiated Logout §2](https://openid.net/specs/openid-connect-rpinitiated-1_0.html)).
    EndSession,
}

impl Endpoint {
    /// Every endpoint, in a fixed order.
    pub const ALL: [Endpoint; 10] = [
        Endpoint::Authorize,
        Endpoint::Token,
        Endpoint::Revoke,
        Endpoint::Introspect,
        Endpoint::Userinfo,
        Endpoint::Register,
        Endpoint::Par,
        Endpoint::DeviceAuthorization,
        Endpoint::DeviceVerification,
        Endpoint::EndSession,
    ];

    /// The name used in configuration (`paths(token = "…")`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Endpoint::Authorize => "authorize",
            Endpoint::Token => "token",
            Endpoint::Revoke => "revoke",
            Endpoint::Introspect => "introspect",
            Endpoint::Userinfo => "userinfo",
            Endpoint::Register => "register",
            Endpoint::Par => "par",
            Endpoint::DeviceAuthorization => "device_authorization",
            Endpoint::DeviceVerification => "device_verification",
            Endpoint::EndSession => "end_session",
        }
    }

    /// The path tail under the prefix (`/token`).
    #[must_use]
    pub const fn default_tail(self) -> &'static str {
        match self {
            Endpoint::Authorize => "/authorize",
            Endpoint::Token => "/token",
            Endpoint::Revoke => "/revoke",
            Endpoint::Introspect => "/introspect",
            Endpoint::Userinfo => "/userinfo",
            Endpoint::Register => "/register",
            Endpoint::Par => "/par",
            Endpoint::DeviceAuthorization => "/device_authorization",
            Endpoint::DeviceVerification => "/device",
            Endpoint::EndSession => "/logout",
        }
    }

    /// Parse a configuration name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Endpoint::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// A grant type ([RFC 6749 §1.3](https://www.rfc-editor.org/rfc/rfc6749#section-1.3)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Grant {
    /// `authorization_code`.
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials`.
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:device_code` ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)).
    DeviceCode,
    /// `urn:ietf:params:oauth:grant-type:token-exchange` ([RFC 8693](https://www.rfc-editor.org/rfc/rfc8693)).
    TokenExchange,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` ([RFC 7523 §2.1](https://www.rfc-editor.org/rfc/rfc7523#section-2.1)).
    JwtBearer,
}

impl Grant {
    /// Every grant.
    pub const ALL: [Grant; 6] = [
        Grant::AuthorizationCode,
        Grant::RefreshToken,
        Grant::ClientCredentials,
        Grant::DeviceCode,
        Grant::TokenExchange,
        Grant::JwtBearer,
    ];

    /// The configuration name (`authorization_code`, `device_code`, …).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::RefreshToken => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
            Grant::DeviceCode => "device_code",
            Grant::TokenExchange => "token_exchange",
            Grant::JwtBearer => "jwt_bearer",
        }
    }

    /// Parse a configuration name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Grant::ALL.into_iter().find(|g| g.name() == name)
    }

    /// The feature this grant belongs to, when it is more than a grant.
    #[must_use]
    pub const fn feature(self) -> Option<Feature> {
        match self {
            Grant::DeviceCode => Some(Feature::DeviceFlow),
            Grant::TokenExchange => Some(Feature::TokenExchange),
            Grant::JwtBearer => Some(Feature::JwtBearer),
            _ => None,
        }
    }
}

/// An optional feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Feature {
    /// DPoP sender-constrained tokens ([RFC 9449](https://www.rfc-editor.org/rfc/rfc9449)).
    Dpop,
    /// Open dynamic client registration ([RFC 7591](https://www.rfc-editor.org/rfc/rfc7591)).
    Registration,
    /// mTLS client authentication and certificate-bound tokens ([RFC 8705](https://www.rfc-editor.org/rfc/rfc8705)).
    Mtls,
    /// Pushed authorization requests ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)).
    Par,
    /// Signed request objects, JAR ([RFC 9101](https://www.rfc-editor.org/rfc/rfc9101)).
    RequestObjects,
    /// JWT-secured authorization responses, JARM.
    Jarm,
    /// The device authorization grant ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)).
    DeviceFlow,
    /// Token exchange ([RFC 8693](https://www.rfc-editor.org/rfc/rfc8693)).
    TokenExchange,
    /// JWT bearer assertions / ID-JAG ([RFC 7523](https://www.rfc-editor.org/rfc/rfc7523)).
    JwtBearer,
    /// RP-initiated and back-channel logout.
    Logout,
    /// The `claims` request parameter ([OIDC Core §5.5](https://openid.net/specs/openid-connect-core-1_0.html#ClaimsParameter)).
    ClaimsParameter,
    /// Client ID Metadata Documents.
    ClientIdMetadata,
}

impl Feature {
    /// Every feature.
    pub const ALL: [Feature; 12] = [
        Feature::Dpop,
        Feature::Registration,
        Feature::Mtls,
        Feature::Par,
        Feature::RequestObjects,
        Feature::Jarm,
        Feature::DeviceFlow,
        Feature::TokenExchange,
        Feature::JwtBearer,
        Feature::Logout,
        Feature::ClaimsParameter,
        Feature::ClientIdMetadata,
    ];

    /// The configuration name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Feature::Dpop => "dpop",
            Feature::Registration => "registration",
            Feature::Mtls => "mtls",
            Feature::Par => "par",
            Feature::RequestObjects => "request_objects",
            Feature::Jarm => "jarm",
            Feature::DeviceFlow => "device_flow",
            Feature::TokenExchange => "token_exchange",
            Feature::JwtBearer => "jwt_bearer",
            Feature::Logout => "logout",
            Feature::ClaimsParameter => "claims_parameter",
            Feature::ClientIdMetadata => "client_id_metadata",
        }
    }

    /// Parse a configuration name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Feature::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether this version of the runtime implements the feature. A plan
    /// that switches on an unimplemented feature is refused rather than
    /// silently accepted.
    #[must_use]
    pub const fn is_supported(self) -> bool {
        matches!(self, Feature::Dpop | Feature::Registration)
    }

    /// The standard the feature implements (for `help:` lines).
    #[must_use]
    pub const fn standard(self) -> &'static str {
        match self {
            Feature::Dpop => "RFC 9449",
            Feature::Registration => "RFC 7591",
            Feature::Mtls => "RFC 8705",
            Feature::Par => "RFC 9126",
            Feature::RequestObjects => "RFC 9101",
            Feature::Jarm => "OpenID JARM",
            Feature::DeviceFlow => "RFC 8628",
            Feature::TokenExchange => "RFC 8693",
            Feature::JwtBearer => "RFC 7523",
            Feature::Logout => "OpenID Connect RP-Initiated / Back-Channel Logout 1.0",
            Feature::ClaimsParameter => "OpenID Connect Core §5.5",
            Feature::ClientIdMetadata => "OAuth Client ID Metadata Document",
        }
    }

    /// The endpoints the feature mounts.
    #[must_use]
    pub const fn endpoints(self) -> &'static [Endpoint] {
        match self {
            Feature::Registration => &[Endpoint::Register],
            Feature::Par => &[Endpoint::Par],
            Feature::DeviceFlow => &[Endpoint::DeviceAuthorization, Endpoint::DeviceVerification],
            Feature::Logout => &[Endpoint::EndSession],
            _ => &[],
        }
    }
}

/// A host callback (a method of the annotated impl block, or of a Host part
/// implemented by hand).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Callback {
    /// Look a client up (`ClientRegistry::find_client`).
    FindClient,
    /// Look a principal up (`PrincipalStore::find_principal`).
    FindPrincipal,
    /// Authenticate the resource owner (`Interaction::login`).
    Login,
    /// Ask for consent (`Interaction::consent`).
    Consent,
    /// Allow a resource indicator (`ResourcePolicy::resource_allowed`).
    ResourceAllowed,
    /// Decide the granted scope (`ScopePolicy::authorize_scope`).
    AuthorizeScope,
    /// Persist a registered client (`ClientRegistration::register_client`).
    RegisterClient,
    /// Extract the client certificate (mTLS).
    CertDer,
    /// End the host's session (logout).
    TerminateSession,
    /// Map an assertion's subject to a local one (jwt-bearer).
    ResolveJwtBearerSubject,
    /// Authenticate the user on the device verification page.
    AuthenticateDeviceUser,
    /// Render the device verification page.
    RenderDeviceVerification,
    /// Allow a caller to introspect a token (`ResourcePolicy::introspection_allowed`).
    IntrospectionAllowed,
    /// Delete a registered client (`ClientRegistration::unregister_client`, RFC 7592).
    UnregisterClient,
}

impl Callback {
    /// Every callback.
    pub const ALL: [Callback; 14] = [
        Callback::FindClient,
        Callback::FindPrincipal,
        Callback::Login,
        Callback::Consent,
        Callback::ResourceAllowed,
        Callback::AuthorizeScope,
        Callback::RegisterClient,
        Callback::CertDer,
        Callback::TerminateSession,
        Callback::ResolveJwtBearerSubject,
        Callback::AuthenticateDeviceUser,
        Callback::RenderDeviceVerification,
        Callback::IntrospectionAllowed,
        Callback::UnregisterClient,
    ];

    /// The method name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Callback::FindClient => "find_client",
            Callback::FindPrincipal => "find_principal",
            Callback::Login => "login",
            Callback::Consent => "consent",
            Callback::ResourceAllowed => "resource_allowed",
            Callback::AuthorizeScope => "authorize_scope",
            Callback::RegisterClient => "register_client",
            Callback::CertDer => "cert_der",
            Callback::TerminateSession => "terminate_session",
            Callback::ResolveJwtBearerSubject => "resolve_jwt_bearer_subject",
            Callback::AuthenticateDeviceUser => "authenticate_device_user",
            Callback::RenderDeviceVerification => "render_device_verification",
            Callback::IntrospectionAllowed => "introspection_allowed",
            Callback::UnregisterClient => "unregister_client",
        }
    }

    /// Parse a method name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Callback::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// What makes a callback required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Need {
    /// Every server needs it.
    Always,
    /// Needed when this grant is enabled.
    Grant(Grant),
    /// Needed when this feature is on.
    Feature(Feature),
}

/// Which callback each configuration needs (seed-catalog-1 §2.9 V1, V3–V6,
/// V8, V21).
pub const REQUIRED_CALLBACKS: [(Need, Callback); 8] = [
    (Need::Always, Callback::FindClient),
    (Need::Always, Callback::FindPrincipal),
    (Need::Grant(Grant::AuthorizationCode), Callback::Login),
    (
        Need::Feature(Feature::Registration),
        Callback::RegisterClient,
    ),
    (Need::Feature(Feature::Mtls), Callback::CertDer),
    (Need::Feature(Feature::Logout), Callback::TerminateSession),
    (
        Need::Feature(Feature::JwtBearer),
        Callback::ResolveJwtBearerSubject,
    ),
    (
        Need::Feature(Feature::DeviceFlow),
        Callback::AuthenticateDeviceUser,
    ),
];

/// A lifetime setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ttl {
    /// Access-token lifetime.
    AccessToken,
    /// Refresh-token family lifetime.
    RefreshToken,
    /// Refresh-rotation grace window (may be zero).
    RefreshGrace,
    /// Authorization-code lifetime.
    Code,
}

impl Ttl {
    /// The configuration name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Ttl::AccessToken => "access_token_ttl",
            Ttl::RefreshToken => "refresh_token_ttl",
            Ttl::RefreshGrace => "refresh_grace",
            Ttl::Code => "code_ttl",
        }
    }

    /// The allowed range in seconds.
    #[must_use]
    pub const fn range(self) -> (u64, u64) {
        match self {
            Ttl::AccessToken | Ttl::RefreshToken => (1, MAX_TTL_SECS),
            Ttl::RefreshGrace => (0, MAX_REFRESH_GRACE_SECS),
            Ttl::Code => (1, MAX_CODE_TTL_SECS),
        }
    }
}

/// How request objects are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestObjectPolicy {
    /// OIDC Core §6.1: signed request objects accepted, claims checked when present.
    Generic,
    /// FAPI 2.0 message signing: signatures required, `nbf`/`exp` required and
    /// ≤ 60 min apart, `typ` = `oauth-authz-req+jwt`, only FAPI algorithms.
    FapiMessageSigning,
}

/// The request-object (JAR) settings: a policy and the allowed algorithms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestObjects<L> {
    /// How request objects are checked.
    pub policy: RequestObjectPolicy,
    /// The algorithms they may be signed with, by name.
    pub algorithms: Vec<At<String, L>>,
}

/// A value and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At<T, L> {
    /// The value.
    pub value: T,
    /// Where it was set (a span in the macro, a setting name at runtime).
    pub at: L,
}

impl<T, L> At<T, L> {
    /// A value set at `at`.
    pub const fn new(value: T, at: L) -> Self {
        At { value, at }
    }
}

/// A server configuration as plain data. `L` locates each item.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Plan<L> {
    /// Where to report problems that belong to the configuration as a whole
    /// (a missing callback, no grants).
    pub whole: L,
    /// The issuer, when it is known now (a literal).
    pub issuer: Option<At<String, L>>,
    /// The route prefix; `None` means [`DEFAULT_PREFIX`].
    pub prefix: Option<At<String, L>>,
    /// Per-endpoint path overrides.
    pub paths: Vec<At<(Endpoint, String), L>>,
    /// The scope catalog (`a.*` entries are wildcards).
    pub scopes: Vec<At<String, L>>,
    /// Scopes given to registered clients that ask for none.
    pub default_scopes: Vec<At<String, L>>,
    /// The enabled grants.
    pub grants: Vec<At<Grant, L>>,
    /// The switched-on features (DPoP is on unless `dpop_off` is set).
    pub features: Vec<At<Feature, L>>,
    /// Where DPoP was switched off, if it was.
    pub dpop_off: Option<L>,
    /// DPoP proof algorithms, by name.
    pub dpop_algorithms: Option<At<Vec<At<String, L>>, L>>,
    /// Where a DPoP nonce was required.
    pub dpop_nonce_required: Option<L>,
    /// Where PAR was made mandatory.
    pub par_required: Option<L>,
    /// The request-object policy and its algorithms.
    pub request_objects: Option<At<RequestObjects<L>, L>>,
    /// ID-token signing algorithms (the default first), by name.
    pub id_token_algorithms: Vec<At<String, L>>,
    /// Trusted jwt-bearer issuers.
    pub jwt_bearer_issuers: Vec<At<String, L>>,
    /// Lifetimes, in seconds.
    pub ttls: Vec<At<(Ttl, u64), L>>,
    /// The default resource (access-token `aud`), when known now.
    pub default_resource: Option<At<String, L>>,
    /// The callbacks the host provides.
    pub callbacks: Vec<At<Callback, L>>,
}

impl<L: Clone> Plan<L> {
    /// An empty plan: defaults everywhere, no callbacks.
    pub fn new(whole: L) -> Self {
        Plan {
            whole,
            issuer: None,
            prefix: None,
            paths: Vec::new(),
            scopes: Vec::new(),
            default_scopes: Vec::new(),
            grants: Vec::new(),
            features: Vec::new(),
            dpop_off: None,
            dpop_algorithms: None,
            dpop_nonce_required: None,
            par_required: None,
            request_objects: None,
            id_token_algorithms: Vec::new(),
            jwt_bearer_issuers: Vec::new(),
            ttls: Vec::new(),
            default_resource: None,
            callbacks: Vec::new(),
        }
    }

    /// The effective prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        self.prefix.as_ref().map_or(DEFAULT_PREFIX, |p| &p.value)
    }

    /// Whether `feature` is on.
    #[must_use]
    pub fn has(&self, feature: Feature) -> bool {
        if feature == Feature::Dpop {
            return self.dpop_off.is_none();
        }
        self.features.iter().any(|f| f.value == feature)
            || self
                .grants
                .iter()
                .any(|g| g.value.feature() == Some(feature))
    }

    /// Where `feature` was switched on, or the whole plan.
    fn feature_at(&self, feature: Feature) -> L {
        self.features
            .iter()
            .find(|f| f.value == feature)
            .map_or_else(|| self.whole.clone(), |f| f.at.clone())
    }

    /// Where `grant` was enabled, or the whole plan.
    fn grant_at(&self, grant: Grant) -> L {
        self.grants
            .iter()
            .find(|g| g.value == grant)
            .map_or_else(|| self.whole.clone(), |g| g.at.clone())
    }

    /// Whether `grant` is enabled.
    #[must_use]
    pub fn has_grant(&self, grant: Grant) -> bool {
        self.grants.iter().any(|g| g.value == grant)
    }

    /// The mounted endpoints and their effective paths, each located at its
    /// override (or at the prefix, or the whole plan).
    #[must_use]
    pub fn mounted(&self) -> Vec<(Endpoint, String, L)> {
        let mut out = Vec::new();
        for e in Endpoint::ALL {
            let mounted = match e {
                Endpoint::Authorize => self.has_grant(Grant::AuthorizationCode),
                Endpoint::Userinfo => self.has_grant(Grant::AuthorizationCode),
                Endpoint::Token | Endpoint::Revoke | Endpoint::Introspect => true,
                _ => Feature::ALL
                    .iter()
                    .any(|f| f.endpoints().contains(&e) && self.has(*f)),
            };
            if !mounted {
                continue;
            }
            if let Some(o) = self.paths.iter().find(|p| p.value.0 == e) {
                out.push((e, o.value.1.clone(), o.at.clone()));
            } else {
                let at = self
                    .prefix
                    .as_ref()
                    .map_or_else(|| self.whole.clone(), |p| p.at.clone());
                out.push((e, format!("{}{}", self.prefix(), e.default_tail()), at));
            }
        }
        out
    }
}

/// A broken rule. Each variant's message says what is wrong; [`ConfigError::help`]
/// says how to fix it and which standard asks for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer breaks RFC 8414 §2.
    #[error("issuer: {0}")]
    Issuer(#[from] IssuerError),
    /// A path is malformed.
    #[error("path `{path}`: {error}")]
    Path {
        /// The offending path.
        path: String,
        /// The rule it breaks.
        error: PathError,
    },
    /// Two endpoints share a path, or one takes a well-known path.
    #[error("path `{0}` is used twice")]
    PathCollision(String),
    /// An endpoint path lies under `/.well-known/`.
    #[error("path `{0}` is inside `/.well-known/`, which is reserved for metadata documents")]
    WellKnownPath(String),
    /// An endpoint path escapes the declared prefix.
    #[error("path `{path}` is outside the prefix `{prefix}`")]
    OutsidePrefix {
        /// The override.
        path: String,
        /// The declared prefix.
        prefix: String,
    },
    /// A path override names an endpoint that is not mounted.
    #[error("a path is set for `{0}`, which this configuration does not mount")]
    UnmountedPath(&'static str),
    /// A TTL is out of range.
    #[error("{0} is out of range")]
    Ttl(&'static str),
    /// No scope is supported.
    #[error("scopes_supported must not be empty")]
    NoScopes,
    /// A scope is not a valid scope token.
    #[error("`{0}` is not a valid scope token")]
    Scope(String),
    /// A scope is listed twice.
    #[error("scope `{0}` is listed twice")]
    DuplicateScope(String),
    /// A default scope is outside the catalog.
    #[error("default scope `{0}` is not in the scope catalog")]
    DefaultScopeOutsideCatalog(String),
    /// No grant is enabled.
    #[error("at least one grant type must be enabled")]
    NoGrants,
    /// A grant is listed twice.
    #[error("grant `{0}` is listed twice")]
    DuplicateGrant(&'static str),
    /// The refresh grant is on without a grant that issues refresh tokens.
    #[error("the refresh_token grant needs a grant that issues refresh tokens")]
    RefreshWithoutIssuer,
    /// DPoP is on with no algorithm.
    #[error("dpop algorithms must not be empty")]
    NoDpopAlgorithms,
    /// An algorithm name is unknown.
    #[error("`{0}` is not a supported JWS algorithm")]
    UnknownAlgorithm(String),
    /// An algorithm is listed twice.
    #[error("algorithm `{0}` is listed twice")]
    DuplicateAlgorithm(String),
    /// A DPoP nonce is required but DPoP is off.
    #[error("a DPoP nonce is required, but DPoP is switched off")]
    NonceWithoutDpop,
    /// PAR is required but PAR is off.
    #[error("pushed authorization requests are required, but PAR is switched off")]
    ParRequiredWithoutPar,
    /// A request-object policy with no algorithm.
    #[error("the request-object policy allows no algorithm")]
    NoRequestObjectAlgorithms,
    /// An algorithm the FAPI policy forbids.
    #[error("`{0}` is not allowed by the FAPI message-signing policy")]
    NotFapiAlgorithm(String),
    /// jwt-bearer with no trusted issuer.
    #[error("jwt_bearer is on with no trusted issuer")]
    NoJwtBearerIssuers,
    /// A feature needs a callback the host does not provide.
    #[error("{} needs the host method `{callback}`", needed_by(feature))]
    MissingCallback {
        /// What needs it (`registration`, `authorization_code`, `always`).
        feature: &'static str,
        /// The method.
        callback: &'static str,
    },
    /// A feature this version of the runtime does not implement.
    #[error("`{0}` is not yet supported by the attesto runtime")]
    NotYetSupported(&'static str),
    /// The resource identifier is not an absolute https URL.
    #[error("resource identifiers must be absolute https URLs without fragment (RFC 8707 §2)")]
    Resource,
}

impl ConfigError {
    /// How to fix it, citing the standard.
    #[must_use]
    pub fn help(&self) -> &'static str {
        match self {
            ConfigError::Issuer(_) => {
                "the issuer is an absolute https URL with no query or fragment (RFC 8414 §2)"
            }
            ConfigError::Path { .. } => {
                "paths are absolute (`/oauth/token`), without a trailing `/`, query or fragment (RFC 3986 §3.3)"
            }
            ConfigError::PathCollision(_) => "give every endpoint its own path",
            ConfigError::WellKnownPath(_) => {
                "`/.well-known/` holds the metadata documents (RFC 8615, RFC 8414 §3); mount endpoints elsewhere"
            }
            ConfigError::OutsidePrefix { .. } => {
                "with a custom prefix every endpoint stays under it; move the override inside or drop the prefix"
            }
            ConfigError::UnmountedPath(_) => {
                "switch the endpoint's feature on, or remove the path override"
            }
            ConfigError::Ttl(_) => {
                "access and refresh tokens: 1 s to 1 year; codes: 1 s to 10 min (RFC 6749 §4.1.2); grace: 0 to 300 s (RFC 9700 §4.14.2)"
            }
            ConfigError::NoScopes => "list at least one scope (RFC 6749 §3.3)",
            ConfigError::Scope(_) => {
                "a scope token is printable ASCII without spaces, `\"` or `\\` (RFC 6749 §3.3); `a.*` is a wildcard"
            }
            ConfigError::DuplicateScope(_)
            | ConfigError::DuplicateGrant(_)
            | ConfigError::DuplicateAlgorithm(_) => "list each value once",
            ConfigError::DefaultScopeOutsideCatalog(_) => {
                "default scopes must be in `scopes` (RFC 7591 §2 `scope`)"
            }
            ConfigError::NoGrants => {
                "enable at least one grant, e.g. `grants = [authorization_code, refresh_token]` (RFC 6749 §1.3)"
            }
            ConfigError::RefreshWithoutIssuer => {
                "refresh tokens come from the authorization_code grant (RFC 6749 §1.5); enable it too"
            }
            ConfigError::NoDpopAlgorithms | ConfigError::UnknownAlgorithm(_) => {
                "use algorithms from RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (RFC 7518 §3.1, RFC 8037)"
            }
            ConfigError::NonceWithoutDpop => {
                "server nonces are part of DPoP (RFC 9449 §8); switch DPoP on or drop the nonce requirement"
            }
            ConfigError::ParRequiredWithoutPar => {
                "`require_pushed_authorization_requests` needs a PAR endpoint (RFC 9126 §5); switch `par` on"
            }
            ConfigError::NoRequestObjectAlgorithms => {
                "list the algorithms request objects may be signed with (RFC 9101 §10.2)"
            }
            ConfigError::NotFapiAlgorithm(_) => {
                "FAPI 2.0 allows only PS256, ES256 and EdDSA (FAPI 2.0 Security Profile §5.4)"
            }
            ConfigError::NoJwtBearerIssuers => {
                "list at least one trusted assertion issuer (RFC 7523 §3)"
            }
            ConfigError::MissingCallback { .. } => {
                "add the method to the impl block, or mark an existing one with `#[attesto(<name>)]`"
            }
            ConfigError::NotYetSupported(_) => {
                "remove it for now; attesto will reject rather than silently ignore a feature it does not implement"
            }
            ConfigError::Resource => {
                "a resource indicator is an absolute https URL without a fragment (RFC 8707 §2)"
            }
        }
    }
}

fn needed_by(feature: &str) -> String {
    if feature.contains(' ') {
        feature.to_owned()
    } else {
        format!("`{feature}`")
    }
}

/// Whether `s` is a scope token (RFC 6749 §3.3 `NQCHAR`s), or a wildcard `a.*`.
#[must_use]
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
        && (!s.contains('*') || (s.ends_with(".*") && s.matches('*').count() == 1 && s.len() > 2))
}

/// Whether the catalog entry `entry` covers `scope` (exactly, or as a
/// one-level wildcard: `documents.*` covers `documents.read`).
#[must_use]
pub fn catalog_covers(entry: &str, scope: &str) -> bool {
    if entry == scope {
        return true;
    }
    match entry.strip_suffix('*') {
        Some(stem) => scope
            .strip_prefix(stem)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('.')),
        None => false,
    }
}

/// Check every rule. Returns all broken rules, each with its location, in
/// a stable order.
pub fn check<L: Clone>(plan: &Plan<L>) -> Vec<(L, ConfigError)> {
    let mut out: Vec<(L, ConfigError)> = Vec::new();
    if let Some(i) = &plan.issuer
        && let Err(e) = validate_issuer(&i.value)
    {
        out.push((i.at.clone(), ConfigError::Issuer(e)));
    }
    check_paths(plan, &mut out);
    check_scopes(plan, &mut out);
    check_grants(plan, &mut out);
    check_features(plan, &mut out);
    for t in &plan.ttls {
        let (ttl, secs) = t.value;
        let (min, max) = ttl.range();
        if secs < min || secs > max {
            out.push((t.at.clone(), ConfigError::Ttl(ttl.name())));
        }
    }
    if let Some(r) = &plan.default_resource
        && validate_issuer(&r.value).is_err()
    {
        out.push((r.at.clone(), ConfigError::Resource));
    }
    out
}

fn check_paths<L: Clone>(plan: &Plan<L>, out: &mut Vec<(L, ConfigError)>) {
    let mut prefix_ok = true;
    if let Some(p) = &plan.prefix
        && let Err(error) = validate_path(&p.value)
    {
        prefix_ok = false;
        out.push((
            p.at.clone(),
            ConfigError::Path {
                path: p.value.clone(),
                error,
            },
        ));
    }
    let mounted = plan.mounted();
    for o in &plan.paths {
        if !mounted.iter().any(|(e, _, _)| *e == o.value.0) {
            out.push((o.at.clone(), ConfigError::UnmountedPath(o.value.0.name())));
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for (endpoint, path, at) in &mounted {
        let overridden = plan.paths.iter().any(|p| p.value.0 == *endpoint);
        if let Err(error) = validate_path(path) {
            // a malformed prefix is reported once, on the prefix
            if overridden || prefix_ok {
                out.push((
                    at.clone(),
                    ConfigError::Path {
                        path: path.clone(),
                        error,
                    },
                ));
            }
            continue;
        }
        if path.is_empty() {
            out.push((
                at.clone(),
                ConfigError::Path {
                    path: path.clone(),
                    error: PathError::NotAbsolute,
                },
            ));
            continue;
        }
        // covers every entry of WELL_KNOWN_PATHS
        if path.starts_with("/.well-known/") {
            out.push((at.clone(), ConfigError::WellKnownPath(path.clone())));
            continue;
        }
        if overridden
            && let Some(p) = &plan.prefix
            && prefix_ok
            && p.value != DEFAULT_PREFIX
            && !p.value.is_empty()
            && !path
                .strip_prefix(p.value.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        {
            out.push((
                at.clone(),
                ConfigError::OutsidePrefix {
                    path: path.clone(),
                    prefix: p.value.clone(),
                },
            ));
        }
        if seen.contains(&path.as_str()) {
            out.push((at.clone(), ConfigError::PathCollision(path.clone())));
        } else {
            seen.push(path);
        }
    }
}

fn check_scopes<L: Clone>(plan: &Plan<L>, out: &mut Vec<(L, ConfigError)>) {
    if plan.scopes.is_empty() {
        out.push((plan.whole.clone(), ConfigError::NoScopes));
    }
    for (i, s) in plan.scopes.iter().enumerate() {
        if !is_scope_token(&s.value) {
            out.push((s.at.clone(), ConfigError::Scope(s.value.clone())));
        } else if plan.scopes.iter().take(i).any(|t| t.value == s.value) {
            out.push((s.at.clone(), ConfigError::DuplicateScope(s.value.clone())));
        }
    }
    for d in &plan.default_scopes {
        if !plan
            .scopes
            .iter()
            .any(|s| catalog_covers(&s.value, &d.value))
        {
            out.push((
                d.at.clone(),
                ConfigError::DefaultScopeOutsideCatalog(d.value.clone()),
            ));
        }
    }
}

fn check_grants<L: Clone>(plan: &Plan<L>, out: &mut Vec<(L, ConfigError)>) {
    if plan.grants.is_empty() {
        out.push((plan.whole.clone(), ConfigError::NoGrants));
    }
    for (i, g) in plan.grants.iter().enumerate() {
        if plan.grants.iter().take(i).any(|h| h.value == g.value) {
            out.push((g.at.clone(), ConfigError::DuplicateGrant(g.value.name())));
        }
    }
    if let Some(r) = plan.grants.iter().find(|g| g.value == Grant::RefreshToken)
        && !plan.grants.iter().any(|g| {
            matches!(
                g.value,
                Grant::AuthorizationCode | Grant::DeviceCode | Grant::TokenExchange
            )
        })
    {
        out.push((r.at.clone(), ConfigError::RefreshWithoutIssuer));
    }
}

fn check_algorithms<L: Clone>(algs: &[At<String, L>], fapi: bool, out: &mut Vec<(L, ConfigError)>) {
    for a in algs {
        if !JWS_ALGORITHMS.contains(&a.value.as_str()) {
            out.push((a.at.clone(), ConfigError::UnknownAlgorithm(a.value.clone())));
        } else if fapi && !FAPI_ALGORITHMS.contains(&a.value.as_str()) {
            out.push((a.at.clone(), ConfigError::NotFapiAlgorithm(a.value.clone())));
        }
    }
}

fn check_features<L: Clone>(plan: &Plan<L>, out: &mut Vec<(L, ConfigError)>) {
    for f in &plan.features {
        if !f.value.is_supported() {
            out.push((f.at.clone(), ConfigError::NotYetSupported(f.value.name())));
        }
    }
    for g in &plan.grants {
        if let Some(f) = g.value.feature()
            && !f.is_supported()
            && !plan.features.iter().any(|x| x.value == f)
        {
            out.push((g.at.clone(), ConfigError::NotYetSupported(g.value.name())));
        }
    }
    if let Some(d) = &plan.dpop_algorithms {
        if d.value.is_empty() && plan.has(Feature::Dpop) {
            out.push((d.at.clone(), ConfigError::NoDpopAlgorithms));
        }
        check_algorithms(&d.value, false, out);
    }
    check_algorithms(&plan.id_token_algorithms, false, out);
    for (i, a) in plan.id_token_algorithms.iter().enumerate() {
        if plan
            .id_token_algorithms
            .iter()
            .take(i)
            .any(|b| b.value == a.value)
        {
            out.push((
                a.at.clone(),
                ConfigError::DuplicateAlgorithm(a.value.clone()),
            ));
        }
    }
    if let Some(at) = &plan.dpop_nonce_required
        && !plan.has(Feature::Dpop)
    {
        out.push((at.clone(), ConfigError::NonceWithoutDpop));
    }
    if let Some(at) = &plan.par_required
        && !plan.has(Feature::Par)
    {
        out.push((at.clone(), ConfigError::ParRequiredWithoutPar));
    }
    if let Some(ro) = &plan.request_objects {
        if ro.value.algorithms.is_empty() {
            out.push((ro.at.clone(), ConfigError::NoRequestObjectAlgorithms));
        }
        check_algorithms(
            &ro.value.algorithms,
            ro.value.policy == RequestObjectPolicy::FapiMessageSigning,
            out,
        );
    }
    if plan.has(Feature::JwtBearer) && plan.jwt_bearer_issuers.is_empty() {
        let at = plan.feature_at(Feature::JwtBearer);
        out.push((at, ConfigError::NoJwtBearerIssuers));
    }
    for (need, callback) in REQUIRED_CALLBACKS {
        let (needed, what, at) = match need {
            Need::Always => (true, "every server", plan.whole.clone()),
            Need::Grant(g) => (plan.has_grant(g), g.name(), plan.grant_at(g)),
            Need::Feature(f) => (plan.has(f), f.name(), plan.feature_at(f)),
        };
        if needed && !plan.callbacks.iter().any(|c| c.value == callback) {
            out.push((
                at,
                ConfigError::MissingCallback {
                    feature: what,
                    callback: callback.name(),
                },
            ));
        }
    }
    if plan.has(Feature::DeviceFlow)
        && !plan
            .callbacks
            .iter()
            .any(|c| c.value == Callback::RenderDeviceVerification)
    {
        let at = plan.feature_at(Feature::DeviceFlow);
        out.push((
            at,
            ConfigError::MissingCallback {
                feature: "device_flow",
                callback: Callback::RenderDeviceVerification.name(),
            },
        ));
    }
}

/// The name in `names` closest to `unknown` (Levenshtein distance ≤ 2, or a
/// prefix), for "did you mean" hints.
#[must_use]
pub fn closest<'a>(unknown: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .map(|n| (levenshtein(unknown, n), n))
        .filter(|(d, n)| *d <= 2.max(unknown.len() / 4) || n.starts_with(unknown))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(usize::MAX) + usize::from(ca != *cb);
            let del = prev
                .get(j + 1)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let ins = cur.get(j).copied().unwrap_or(usize::MAX).saturating_add(1);
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    fn base() -> Plan<&'static str> {
        let mut p = Plan::new("whole");
        p.scopes = vec![
            At::new("openid".into(), "scopes"),
            At::new("documents.*".into(), "scopes"),
        ];
        p.grants = vec![
            At::new(Grant::AuthorizationCode, "grants"),
            At::new(Grant::RefreshToken, "grants"),
        ];
        for c in [
            Callback::FindClient,
            Callback::FindPrincipal,
            Callback::Login,
        ] {
            p.callbacks.push(At::new(c, "impl"));
        }
        p
    }

    fn errors(p: &Plan<&'static str>) -> Vec<(&'static str, ConfigError)> {
        check(p)
    }

    #[test]
    fn a_complete_default_plan_has_no_errors() {
        assert_eq!(errors(&base()), vec![]);
    }

    #[test]
    fn missing_lookup_callbacks_are_reported_on_the_whole_plan() {
        let mut p = base();
        p.callbacks.clear();
        let e = errors(&p);
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e.contains(&(
            "whole",
            ConfigError::MissingCallback {
                feature: "every server",
                callback: "find_client"
            }
        )));
        assert!(e.contains(&(
            "grants",
            ConfigError::MissingCallback {
                feature: "authorization_code",
                callback: "login"
            }
        )));
    }

    #[test]
    fn registration_without_register_client_is_refused_at_the_feature() {
        let mut p = base();
        p.features
            .push(At::new(Feature::Registration, "registration"));
        assert_eq!(
            errors(&p),
            vec![(
                "registration",
                ConfigError::MissingCallback {
                    feature: "registration",
                    callback: "register_client"
                }
            )]
        );
        p.callbacks.push(At::new(Callback::RegisterClient, "impl"));
        assert_eq!(errors(&p), vec![]);
    }

    #[test]
    fn unimplemented_features_are_refused_not_ignored() {
        let mut p = base();
        p.features.push(At::new(Feature::Mtls, "mtls"));
        p.callbacks.push(At::new(Callback::CertDer, "impl"));
        assert_eq!(
            errors(&p),
            vec![("mtls", ConfigError::NotYetSupported("mtls"))]
        );
        let mut p = base();
        p.grants.push(At::new(Grant::TokenExchange, "te"));
        assert_eq!(
            errors(&p),
            vec![("te", ConfigError::NotYetSupported("token_exchange"))]
        );
    }

    #[test]
    fn mtls_logout_jwt_bearer_and_device_flow_name_their_callbacks() {
        for (f, cb) in [
            (Feature::Mtls, "cert_der"),
            (Feature::Logout, "terminate_session"),
            (Feature::JwtBearer, "resolve_jwt_bearer_subject"),
            (Feature::DeviceFlow, "authenticate_device_user"),
            (Feature::DeviceFlow, "render_device_verification"),
        ] {
            let mut p = base();
            p.features.push(At::new(f, "f"));
            p.jwt_bearer_issuers
                .push(At::new("https://idp.example".into(), "i"));
            let e = errors(&p);
            assert!(
                e.contains(&(
                    "f",
                    ConfigError::MissingCallback {
                        feature: f.name(),
                        callback: cb
                    }
                )),
                "{f:?}: {e:?}"
            );
        }
    }

    #[test]
    fn jwt_bearer_without_trusted_issuers_is_refused() {
        let mut p = base();
        p.features.push(At::new(Feature::JwtBearer, "jb"));
        assert!(errors(&p).contains(&("jb", ConfigError::NoJwtBearerIssuers)));
    }

    #[test]
    fn prefix_rules_follow_rfc_3986_paths() {
        for (prefix, error) in [
            ("oauth", PathError::NotAbsolute),
            ("/oauth/", PathError::TrailingSlash),
            ("/oauth?x=1", PathError::QueryOrFragment),
            ("/oauth#f", PathError::QueryOrFragment),
        ] {
            let mut p = base();
            p.prefix = Some(At::new(prefix.into(), "prefix"));
            assert_eq!(
                errors(&p),
                vec![(
                    "prefix",
                    ConfigError::Path {
                        path: prefix.into(),
                        error
                    }
                )],
                "{prefix}"
            );
        }
    }

    #[test]
    fn an_override_escaping_a_custom_prefix_is_refused_but_not_under_the_default() {
        let mut p = base();
        p.prefix = Some(At::new("/auth".into(), "prefix"));
        p.paths.push(At::new(
            (Endpoint::Token, "/elsewhere/token".into()),
            "token",
        ));
        assert_eq!(
            errors(&p),
            vec![(
                "token",
                ConfigError::OutsidePrefix {
                    path: "/elsewhere/token".into(),
                    prefix: "/auth".into()
                }
            )]
        );
        // `/authx/token` shares the characters but not the segment
        p.paths[0].value.1 = "/authx/token".into();
        assert_eq!(errors(&p).len(), 1);
        p.paths[0].value.1 = "/auth/v2/token".into();
        assert_eq!(errors(&p), vec![]);
        let mut p = base();
        p.paths.push(At::new(
            (Endpoint::Token, "/elsewhere/token".into()),
            "token",
        ));
        assert_eq!(errors(&p), vec![]);
    }

    #[test]
    fn colliding_and_well_known_paths_are_refused() {
        let mut p = base();
        p.paths
            .push(At::new((Endpoint::Revoke, "/oauth/token".into()), "revoke"));
        assert_eq!(
            errors(&p),
            vec![("revoke", ConfigError::PathCollision("/oauth/token".into()))]
        );
        let mut p = base();
        p.paths.push(At::new(
            (Endpoint::Token, "/.well-known/jwks.json".into()),
            "token",
        ));
        p.paths.push(At::new(
            (Endpoint::Revoke, "/.well-known/revoke".into()),
            "revoke",
        ));
        let e = errors(&p);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e.iter()
                .all(|(_, e)| matches!(e, ConfigError::WellKnownPath(_)))
        );
    }

    #[test]
    fn a_path_for_an_unmounted_endpoint_is_refused() {
        let mut p = base();
        p.paths.push(At::new(
            (Endpoint::Register, "/oauth/reg".into()),
            "register",
        ));
        assert_eq!(
            errors(&p),
            vec![("register", ConfigError::UnmountedPath("register"))]
        );
    }

    #[test]
    fn scope_catalog_rules() {
        let mut p = base();
        p.scopes.push(At::new("has space".into(), "bad"));
        p.scopes.push(At::new("openid".into(), "dup"));
        p.scopes.push(At::new("a*b".into(), "star"));
        p.default_scopes
            .push(At::new("documents.read".into(), "d1"));
        p.default_scopes.push(At::new("admin".into(), "d2"));
        assert_eq!(
            errors(&p),
            vec![
                ("bad", ConfigError::Scope("has space".into())),
                ("dup", ConfigError::DuplicateScope("openid".into())),
                ("star", ConfigError::Scope("a*b".into())),
                (
                    "d2",
                    ConfigError::DefaultScopeOutsideCatalog("admin".into())
                ),
            ]
        );
        let mut p = base();
        p.scopes.clear();
        assert!(errors(&p).contains(&("whole", ConfigError::NoScopes)));
    }

    #[test]
    fn wildcards_cover_exactly_one_level() {
        assert!(catalog_covers("documents.*", "documents.read"));
        assert!(!catalog_covers("documents.*", "documents.read.all"));
        assert!(!catalog_covers("documents.*", "documents."));
        assert!(!catalog_covers("documents.*", "documentsX"));
        assert!(is_scope_token("documents.*"));
        assert!(!is_scope_token("*"));
        assert!(!is_scope_token("a\"b"));
    }

    #[test]
    fn grant_rules() {
        let mut p = base();
        p.grants = vec![At::new(Grant::RefreshToken, "r")];
        assert_eq!(errors(&p), vec![("r", ConfigError::RefreshWithoutIssuer)]);
        p.grants = vec![];
        assert!(errors(&p).contains(&("whole", ConfigError::NoGrants)));
        let mut p = base();
        p.grants.push(At::new(Grant::AuthorizationCode, "again"));
        assert_eq!(
            errors(&p),
            vec![("again", ConfigError::DuplicateGrant("authorization_code"))]
        );
    }

    #[test]
    fn nonce_without_dpop_and_par_required_without_par_are_refused() {
        let mut p = base();
        p.dpop_off = Some("dpop");
        p.dpop_nonce_required = Some("nonce");
        p.par_required = Some("require_par");
        assert_eq!(
            errors(&p),
            vec![
                ("nonce", ConfigError::NonceWithoutDpop),
                ("require_par", ConfigError::ParRequiredWithoutPar),
            ]
        );
    }

    #[test]
    fn request_object_policy_must_be_satisfiable() {
        let mut p = base();
        p.request_objects = Some(At::new(
            RequestObjects {
                policy: RequestObjectPolicy::FapiMessageSigning,
                algorithms: vec![At::new("RS256".into(), "rs"), At::new("PS256".into(), "ps")],
            },
            "jar",
        ));
        let e = errors(&p);
        assert!(
            e.contains(&("rs", ConfigError::NotFapiAlgorithm("RS256".into()))),
            "{e:?}"
        );
        assert!(!e.iter().any(|(at, _)| *at == "ps"));
        p.request_objects = Some(At::new(
            RequestObjects {
                policy: RequestObjectPolicy::Generic,
                algorithms: vec![],
            },
            "jar",
        ));
        assert!(errors(&p).contains(&("jar", ConfigError::NoRequestObjectAlgorithms)));
    }

    #[test]
    fn dpop_algorithms_must_be_known_and_non_empty() {
        let mut p = base();
        p.dpop_algorithms = Some(At::new(vec![At::new("HS256".into(), "hs")], "algs"));
        assert_eq!(
            errors(&p),
            vec![("hs", ConfigError::UnknownAlgorithm("HS256".into()))]
        );
        p.dpop_algorithms = Some(At::new(vec![], "algs"));
        assert_eq!(errors(&p), vec![("algs", ConfigError::NoDpopAlgorithms)]);
    }

    #[test]
    fn ttl_bounds_follow_the_standards() {
        for (ttl, secs, ok) in [
            (Ttl::Code, 600, true),
            (Ttl::Code, 601, false),
            (Ttl::Code, 0, false),
            (Ttl::RefreshGrace, 0, true),
            (Ttl::RefreshGrace, 301, false),
            (Ttl::AccessToken, MAX_TTL_SECS + 1, false),
        ] {
            let mut p = base();
            p.ttls.push(At::new((ttl, secs), "ttl"));
            assert_eq!(errors(&p).is_empty(), ok, "{ttl:?} {secs}");
        }
    }

    #[test]
    fn literal_issuer_and_resource_are_checked() {
        let mut p = base();
        p.issuer = Some(At::new("http://id.example".into(), "issuer"));
        p.default_resource = Some(At::new("api".into(), "resource"));
        assert_eq!(
            errors(&p),
            vec![
                ("issuer", ConfigError::Issuer(IssuerError::NotHttps)),
                ("resource", ConfigError::Resource),
            ]
        );
    }

    #[test]
    fn closest_suggests_near_names_only() {
        let names = ["registration", "refresh_token_ttl", "scopes"];
        assert_eq!(closest("registraton", names), Some("registration"));
        assert_eq!(closest("scope", names), Some("scopes"));
        assert_eq!(closest("zzzz", names), None);
    }

    #[test]
    fn every_help_line_cites_or_instructs() {
        let all = [
            ConfigError::NoScopes,
            ConfigError::NonceWithoutDpop,
            ConfigError::NotFapiAlgorithm("RS256".into()),
            ConfigError::ParRequiredWithoutPar,
        ];
        for e in all {
            assert!(
                e.help().contains("RFC") || e.help().contains("FAPI"),
                "{e:?}"
            );
        }
    }
}
