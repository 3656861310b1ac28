//! Client authentication at the token, PAR and introspection endpoints
//! ([RFC 6749 §2.3](https://www.rfc-editor.org/rfc/rfc6749#section-2.3),
//! [RFC 7521](https://www.rfc-editor.org/rfc/rfc7521) /
//! [RFC 7523 §2.2, §3](https://www.rfc-editor.org/rfc/rfc7523#section-3),
//! [OpenID Connect Core §9](https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication)).
//!
//! Three framework-independent steps:
//!
//! 1. [`parse_credentials`] turns the request facts (the `Authorization`
//!    header values and the form parameters) into [`PresentedCredentials`],
//!    enforcing "exactly one method" and consistent client ids;
//! 2. the caller looks the client up by [`PresentedCredentials::client_id`];
//! 3. [`ClientAuthenticator::authenticate`] verifies the credentials against
//!    the [`RegisteredClient`] (or `None` for an unknown or revoked client,
//!    which still costs a dummy secret verification so both paths take the
//!    same time) and records an assertion's `jti`.
//!
//! Every authentication failure is the same `invalid_client` "client
//! authentication failed" ([`ClientAuthError::error_description`]); the
//! [`ClientAuthReason`] is for logs only. Structural problems (several
//! methods at once, conflicting client ids, duplicated parameters) are
//! `invalid_request`.
//!
//! Supported methods: `client_secret_basic`, `client_secret_post`,
//! `private_key_jwt`, `none`. `client_secret_jwt` is not supported (the seed
//! does not have it, and symmetric JWS algorithms are unrepresentable in
//! [`crate::jose`]). `tls_client_auth` and `self_signed_tls_client_auth`
//! (RFC 8705 §2) are named by [`ClientAuthMethod`] for metadata, but this
//! module does not verify certificates: a client registered only for them is
//! refused here (fail closed) until the mTLS layer authenticates it.
//!
//! ```
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! use attesto::client_auth::*;
//! use attesto::dpop::SingleNodeReplayGuard;
//!
//! let hasher = SecretHasher::new(&[42u8; 32]).unwrap();
//! let stored = StoredSecret::Hashed(hasher.hash("s3cr3t").unwrap());
//! let auth = ClientAuthenticator::new(hasher);
//!
//! // "Basic base64(urlencode(id):urlencode(secret))"
//! let presented = parse_credentials(&["Basic YXBwOnMzY3IzdA=="], &[("grant_type", "client_credentials")]).unwrap();
//! assert_eq!(presented.client_id(), "app");
//!
//! let client = RegisteredClient::new("app", &[ClientAuthMethod::ClientSecretBasic]).with_secret(&stored);
//! let guard = SingleNodeReplayGuard::new();
//! let ok = block_on(auth.authenticate(&presented, Some(&client), &ClientAuthPolicy::token_endpoint(), &guard, 1_700_000_000)).unwrap();
//! assert_eq!(ok.method, ClientAuthMethod::ClientSecretBasic);
//!
//! // unknown client: same error as a wrong secret
//! let err = block_on(auth.authenticate(&presented, None, &ClientAuthPolicy::token_endpoint(), &guard, 1_700_000_000)).unwrap_err();
//! assert_eq!((err.error_code(), err.error_description()), ("invalid_client", "client authentication failed"));
//! assert!(err.basic_challenge_due());
//! assert_eq!(err.status_code(), 401);
//! ```

mod assertion;
mod authenticate;
mod credentials;
mod secret;

use std::fmt;
use std::str::FromStr;

pub use assertion::{
    AssertionConfigError, AssertionError, AssertionVerifier, AssertionVerifierBuilder,
    DEFAULT_ASSERTION_ALGORITHMS, DEFAULT_ASSERTION_LEEWAY, DEFAULT_ASSERTION_MAX_LIFETIME,
    VerifiedAssertion,
};
pub use authenticate::{
    AuthenticatedClient, ClientAuthPolicy, ClientAuthenticator, RegisteredClient,
};
pub use credentials::{
    CLIENT_ASSERTION_TYPE_JWT_BEARER, MAX_ASSERTION_LEN, MAX_AUTHORIZATION_HEADER_LEN,
    MAX_CLIENT_ID_LEN, MAX_CLIENT_SECRET_LEN, PresentedCredentials, parse_basic_authorization,
    parse_credentials,
};
pub use secret::{
    HashedSecret, SecretHasher, SecretHasherError, StoredSecret, generate_client_secret,
};

/// A client authentication method, as registered in
/// `token_endpoint_auth_method` ([RFC 7591 §2](https://www.rfc-editor.org/rfc/rfc7591#section-2),
/// [OAuth registry](https://www.iana.org/assignments/oauth-parameters/oauth-parameters.xhtml#token-endpoint-auth-method)).
///
/// ```
/// use attesto::client_auth::ClientAuthMethod;
/// let m: ClientAuthMethod = "private_key_jwt".parse().unwrap();
/// assert_eq!(m, ClientAuthMethod::PrivateKeyJwt);
/// assert_eq!(m.to_string(), "private_key_jwt");
/// assert!("client_secret_jwt".parse::<ClientAuthMethod>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// HTTP Basic with the form-urlencoded client id and secret
    /// ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the request body
    /// ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)).
    ClientSecretPost,
    /// A JWT signed with the client's private key
    /// ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2),
    /// [OIDC Core §9](https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication)).
    PrivateKeyJwt,
    /// A public client: `client_id` only ([RFC 6749 §2.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.1)).
    None,
    /// PKI mutual-TLS ([RFC 8705 §2.1](https://www.rfc-editor.org/rfc/rfc8705#section-2.1)).
    /// Not verified by this module.
    TlsClientAuth,
    /// Self-signed certificate mutual-TLS ([RFC 8705 §2.2](https://www.rfc-editor.org/rfc/rfc8705#section-2.2)).
    /// Not verified by this module.
    SelfSignedTlsClientAuth,
}

impl ClientAuthMethod {
    /// The methods this module verifies, in discovery order
    /// (`token_endpoint_auth_methods_supported`).
    pub const VERIFIED: [ClientAuthMethod; 4] = [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
        ClientAuthMethod::PrivateKeyJwt,
        ClientAuthMethod::None,
    ];

    /// Every named method.
    pub const ALL: [ClientAuthMethod; 6] = [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
        ClientAuthMethod::PrivateKeyJwt,
        ClientAuthMethod::None,
        ClientAuthMethod::TlsClientAuth,
        ClientAuthMethod::SelfSignedTlsClientAuth,
    ];

    /// The registered name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
            Self::TlsClientAuth => "tls_client_auth",
            Self::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
        }
    }
}

impl fmt::Display for ClientAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not a client authentication method attesto knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported client authentication method")]
pub struct UnsupportedClientAuthMethod;

impl FromStr for ClientAuthMethod {
    type Err = UnsupportedClientAuthMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or(UnsupportedClientAuthMethod)
    }
}

impl serde::Serialize for ClientAuthMethod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ClientAuthMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why client authentication failed: for logs and tests, never for the
/// client (which sees only [`ClientAuthError::error_code`] and
/// [`ClientAuthError::error_description`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAuthReason {
    // ---- invalid_request ----
    /// More than one `Authorization` header.
    #[error("more than one Authorization header")]
    MultipleAuthorizationHeaders,
    /// More than one authentication method in one request (RFC 6749 §2.3).
    #[error("more than one client authentication method")]
    MultipleMethods,
    /// A credential parameter occurs more than once (RFC 6749 §3.2).
    #[error("parameter {0} repeated")]
    DuplicateParameter(&'static str),
    /// The body `client_id` differs from the Basic user id or the assertion `sub`.
    #[error("client_id does not match the authenticated identifier")]
    ClientIdMismatch,
    /// `client_secret` without `client_id`.
    #[error("client_secret without client_id")]
    MissingClientId,
    /// `client_assertion` without `client_assertion_type`, or the reverse.
    #[error("client_assertion and client_assertion_type must come together")]
    IncompleteAssertion,

    // ---- invalid_client ----
    /// No credentials and no `client_id` at all.
    #[error("no client credentials")]
    NoCredentials,
    /// A `client_id` only, where public clients are not allowed.
    #[error("client authentication required")]
    PublicClientNotAllowed,
    /// The `Authorization` header is not a usable Basic credential.
    #[error("malformed Basic credentials: {0}")]
    MalformedBasic(&'static str),
    /// The `Authorization` header uses another scheme.
    #[error("unsupported Authorization scheme")]
    UnsupportedScheme,
    /// `client_assertion_type` is not the JWT bearer type (RFC 7521 §4.2.1).
    #[error("unsupported client_assertion_type")]
    UnsupportedAssertionType,
    /// The client id or secret is empty, too long or not `VSCHAR`s.
    #[error("malformed client_id or client_secret")]
    MalformedCredential,
    /// No such client, or it is revoked.
    #[error("unknown or revoked client")]
    UnknownClient,
    /// The endpoint does not accept this method.
    #[error("client authentication method {0} not allowed here")]
    MethodNotAllowed(ClientAuthMethod),
    /// The client is not registered for this method.
    #[error("client not registered for {0}")]
    MethodNotRegistered(ClientAuthMethod),
    /// The client has no secret to compare with.
    #[error("no secret registered")]
    NoSecretRegistered,
    /// The secret does not match.
    #[error("wrong client secret")]
    WrongSecret,
    /// The client has no JWKS for `private_key_jwt`.
    #[error("no client JWKS")]
    NoJwks,
    /// The assertion failed verification.
    #[error("invalid client assertion: {0}")]
    Assertion(#[source] AssertionError),

    // ---- server_error ----
    /// A dependency (replay guard, HMAC) failed: fail closed.
    #[error("client authentication could not be completed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A failed client authentication: the reason plus how the client attempted
/// to authenticate, which decides the HTTP rendering
/// ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)).
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct ClientAuthError {
    #[source]
    reason: ClientAuthReason,
    scheme: Option<String>,
}

impl ClientAuthError {
    pub(crate) fn new(reason: ClientAuthReason, scheme: Option<String>) -> Self {
        Self { reason, scheme }
    }

    /// Why it failed (for logs only).
    #[must_use]
    pub fn reason(&self) -> &ClientAuthReason {
        &self.reason
    }

    /// The OAuth error code: `invalid_request`, `invalid_client` or
    /// `server_error`.
    #[must_use]
    pub fn error_code(&self) -> &'static str {
        use ClientAuthReason as R;
        match self.reason {
            R::MultipleAuthorizationHeaders
            | R::MultipleMethods
            | R::DuplicateParameter(_)
            | R::ClientIdMismatch
            | R::MissingClientId
            | R::IncompleteAssertion => "invalid_request",
            R::Unavailable(_) => "server_error",
            _ => "invalid_client",
        }
    }

    /// The `error_description` to send: one generic text per code, so an
    /// unknown client, a revoked client and a wrong secret are
    /// indistinguishable.
    #[must_use]
    pub fn error_description(&self) -> &'static str {
        match (&self.reason, self.error_code()) {
            (ClientAuthReason::PublicClientNotAllowed, _) => "client authentication required",
            (ClientAuthReason::MultipleMethods, _) => {
                "more than one client authentication method was used"
            }
            (_, "invalid_client") => "client authentication failed",
            (_, "invalid_request") => "invalid client authentication request",
            _ => "client authentication could not be completed",
        }
    }

    /// The `Authorization` scheme the client used: `None` without the
    /// header, `"Basic"` for Basic or an unusable (empty, malformed) scheme,
    /// otherwise the scheme as sent (e.g. `"Bearer"`).
    #[must_use]
    pub fn authorization_scheme(&self) -> Option<&str> {
        self.scheme.as_deref()
    }

    /// Whether the client attempted authentication through the
    /// `Authorization` header.
    #[must_use]
    pub fn via_authorization_header(&self) -> bool {
        self.scheme.is_some()
    }

    /// Whether the response must be 401 with `WWW-Authenticate: Basic …`:
    /// `invalid_client` after an `Authorization`-header attempt (RFC 6749 §5.2).
    #[must_use]
    pub fn basic_challenge_due(&self) -> bool {
        self.via_authorization_header() && self.error_code() == "invalid_client"
    }

    /// The HTTP status per RFC 6749 §5.2: 401 when a challenge is due, 500
    /// for `server_error`, 400 otherwise. (An endpoint may keep 400 for
    /// body-credential failures, which is what this returns for them.)
    #[must_use]
    pub fn status_code(&self) -> u16 {
        if self.basic_challenge_due() {
            401
        } else if self.error_code() == "server_error" {
            500
        } else {
            400
        }
    }
}
