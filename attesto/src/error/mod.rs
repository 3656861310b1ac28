//! OAuth protocol errors and how they are rendered, independent of any HTTP
//! framework.
//!
//! An [`OAuthError`] is the single value an internal failure becomes before
//! it reaches a client. It knows everything the wire needs, so an HTTP
//! adapter only copies facts:
//!
//! | fact | method |
//! |---|---|
//! | HTTP status | [`OAuthError::status`] |
//! | JSON body `{"error", "error_description"?, "error_uri"?}` ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)) | [`OAuthError::json_body`], or `Serialize` |
//! | headers: `Cache-Control: no-store` + `Pragma: no-cache` on every error, `WWW-Authenticate` challenges ([RFC 6750 §3](https://www.rfc-editor.org/rfc/rfc6750#section-3), [RFC 9449 §7.1](https://www.rfc-editor.org/rfc/rfc9449#section-7.1), [RFC 7617](https://www.rfc-editor.org/rfc/rfc7617)), `DPoP-Nonce` ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)) | [`OAuthError::headers`] |
//! | authorization-endpoint redirect parameters ([RFC 6749 §4.1.2.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1), [RFC 9207](https://www.rfc-editor.org/rfc/rfc9207)) | [`OAuthError::redirect_params`], [`OAuthError::redirect_url`] |
//!
//! The library decides the code, the status, which challenge and which
//! auth-params; a host may change only how the body is serialised (the
//! status and headers stay those of [`OAuthError::headers`]).
//!
//! Every text that reaches the wire is checked: descriptions are sanitized
//! to the RFC 6749 §5.2 character set ([`ErrorDescription`]), error URIs are
//! validated ([`ErrorUri`]), challenge values are quoted-strings with `"` and
//! `\` escaped and control characters removed, and a `DPoP-Nonce` that is not
//! `1*NQCHAR` is never emitted. No input can split a header or add a
//! parameter.
//!
//! ```
//! use attesto::error::{Challenge, OAuthError};
//!
//! // Token endpoint, bad secret through `Authorization: Basic`.
//! let err = OAuthError::invalid_client("client authentication failed")
//!     .client_auth_via_header("OAuth");
//! assert_eq!(err.status(), 401);
//! assert_eq!(
//!     err.json_body(),
//!     r#"{"error":"invalid_client","error_description":"client authentication failed"}"#
//! );
//! assert!(err.headers().contains(&("www-authenticate", r#"Basic realm="OAuth""#.to_owned())));
//! assert!(err.headers().contains(&("cache-control", "no-store".to_owned())));
//!
//! // Resource server, expired token.
//! let err = OAuthError::invalid_token("expired").with_challenge(Challenge::bearer().with_realm("api"));
//! assert_eq!(err.status(), 401);
//! assert_eq!(
//!     err.www_authenticate().unwrap(),
//!     r#"Bearer realm="api", error="invalid_token", error_description="expired""#
//! );
//! ```

mod challenge;
mod code;
mod text;

use std::fmt;

pub use challenge::{AuthScheme, AuthenticationRequired, Challenge, DEFAULT_BASIC_REALM};
pub use code::{ErrorCode, ExtensionErrorCode, InvalidErrorCode, MAX_EXTENSION_CODE_LEN};
pub use text::{
    ErrorDescription, ErrorUri, InvalidErrorUri, MAX_DESCRIPTION_LEN, MAX_ERROR_URI_LEN,
    header_safe,
};

use crate::scope::ScopeSet;
use text::is_nqchar;

/// `cache-control` (lowercase, as HTTP/2 and the `http` crate want header names).
pub const CACHE_CONTROL: &str = "cache-control";
/// `pragma`.
pub const PRAGMA: &str = "pragma";
/// `www-authenticate`.
pub const WWW_AUTHENTICATE: &str = "www-authenticate";
/// `dpop-nonce` ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)).
pub const DPOP_NONCE: &str = "dpop-nonce";
/// `no-store`, the `Cache-Control` value of every error (RFC 6749 §5.1).
pub const NO_STORE: &str = "no-store";
/// `no-cache`, the `Pragma` value of every error.
pub const NO_CACHE: &str = "no-cache";
/// The `Content-Type` of [`OAuthError::json_body`].
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// The longest `DPoP-Nonce` value emitted.
pub const MAX_DPOP_NONCE_LEN: usize = 512;

/// An OAuth protocol error, ready to render.
///
/// Build one with [`OAuthError::new`] or a per-code constructor (each with
/// the right default status), refine it with the `with_*` setters, and
/// render it once at the HTTP boundary.
///
/// Fields are private so the invariants hold: the description is always
/// sanitized, the URI always valid, the status always 4xx/5xx, the nonce
/// always header-safe.
///
/// ```
/// use attesto::error::{ErrorCode, OAuthError};
/// let err = OAuthError::new(ErrorCode::InvalidRequest).with_description("bad");
/// assert_eq!(err.status(), 400);
/// assert_eq!(err.json_body(), r#"{"error":"invalid_request","error_description":"bad"}"#);
/// assert_eq!(OAuthError::new(ErrorCode::InvalidRequest).with_status(418).status(), 418);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    code: ErrorCode,
    description: Option<ErrorDescription>,
    uri: Option<ErrorUri>,
    status: u16,
    challenges: Vec<Challenge>,
    dpop_nonce: Option<String>,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $fn_name:ident => $code:ident;)*) => {
        $(
            $(#[$doc])*
            ///
            /// `description` is sanitized ([`ErrorDescription`]); an empty one is no description.
            #[must_use]
            pub fn $fn_name(description: &str) -> Self {
                Self::new(ErrorCode::$code).with_description(description)
            }
        )*
    };
}

impl OAuthError {
    /// An error with `code`, its [default status](ErrorCode::default_status),
    /// and nothing else.
    #[must_use]
    pub fn new(code: ErrorCode) -> Self {
        let status = code.default_status();
        Self {
            code,
            description: None,
            uri: None,
            status,
            challenges: Vec::new(),
            dpop_nonce: None,
        }
    }

    constructors! {
        /// `invalid_request`, 400.
        invalid_request => InvalidRequest;
        /// `invalid_client`, 400. Call [`client_auth_via_header`](Self::client_auth_via_header)
        /// when the client authenticated through the `Authorization` header.
        invalid_client => InvalidClient;
        /// `invalid_grant`, 400.
        invalid_grant => InvalidGrant;
        /// `unauthorized_client`, 400.
        unauthorized_client => UnauthorizedClient;
        /// `unsupported_grant_type`, 400.
        unsupported_grant_type => UnsupportedGrantType;
        /// `invalid_scope`, 400.
        invalid_scope => InvalidScope;
        /// `access_denied`, 400 (normally sent by redirect).
        access_denied => AccessDenied;
        /// `unsupported_response_type`, 400 (normally sent by redirect).
        unsupported_response_type => UnsupportedResponseType;
        /// `server_error`, 500. Keep the description generic; log the cause instead.
        server_error => ServerError;
        /// `temporarily_unavailable`, 503.
        temporarily_unavailable => TemporarilyUnavailable;
        /// `login_required`, 400 (normally sent by redirect).
        login_required => LoginRequired;
        /// `consent_required`, 400 (normally sent by redirect).
        consent_required => ConsentRequired;
        /// `interaction_required`, 400 (normally sent by redirect).
        interaction_required => InteractionRequired;
        /// `account_selection_required`, 400 (normally sent by redirect).
        account_selection_required => AccountSelectionRequired;
        /// `invalid_request_uri`, 400.
        invalid_request_uri => InvalidRequestUri;
        /// `invalid_request_object`, 400.
        invalid_request_object => InvalidRequestObject;
        /// `request_not_supported`, 400.
        request_not_supported => RequestNotSupported;
        /// `request_uri_not_supported`, 400.
        request_uri_not_supported => RequestUriNotSupported;
        /// `registration_not_supported`, 400.
        registration_not_supported => RegistrationNotSupported;
        /// `invalid_token`, 401. A resource server adds a challenge with
        /// [`with_challenge`](Self::with_challenge).
        invalid_token => InvalidToken;
        /// `invalid_dpop_proof`, 400 (the token and PAR endpoints). A resource
        /// server answers 401 through [`unauthorized`](Self::unauthorized).
        invalid_dpop_proof => InvalidDpopProof;
        /// `invalid_target`, 400.
        invalid_target => InvalidTarget;
        /// `authorization_pending`, 400.
        authorization_pending => AuthorizationPending;
        /// `slow_down`, 400.
        slow_down => SlowDown;
        /// `expired_token`, 400.
        expired_token => ExpiredToken;
        /// `invalid_redirect_uri`, 400.
        invalid_redirect_uri => InvalidRedirectUri;
        /// `invalid_client_metadata`, 400.
        invalid_client_metadata => InvalidClientMetadata;
        /// `invalid_software_statement`, 400.
        invalid_software_statement => InvalidSoftwareStatement;
        /// `unapproved_software_statement`, 400.
        unapproved_software_statement => UnapprovedSoftwareStatement;
        /// `unsupported_token_type`, 400.
        unsupported_token_type => UnsupportedTokenType;
    }

    /// A resource server's 401 ([RFC 6750 §3](https://www.rfc-editor.org/rfc/rfc6750#section-3),
    /// [RFC 9449 §7.1](https://www.rfc-editor.org/rfc/rfc9449#section-7.1)):
    /// `code` (usually `invalid_token` or `invalid_dpop_proof`) with
    /// `challenge`, which receives the `error` parameters.
    ///
    /// ```
    /// use attesto::error::{Challenge, ErrorCode, OAuthError};
    /// let err = OAuthError::unauthorized(ErrorCode::InvalidDpopProof, Challenge::dpop().with_algs(["ES256"]));
    /// assert_eq!(err.status(), 401);
    /// assert_eq!(err.www_authenticate().unwrap(), r#"DPoP error="invalid_dpop_proof", algs="ES256""#);
    /// ```
    #[must_use]
    pub fn unauthorized(code: ErrorCode, challenge: Challenge) -> Self {
        Self::new(code).with_status(401).with_challenge(challenge)
    }

    /// `insufficient_scope`, 403, with `challenge` carrying
    /// `scope="<required>"` ([RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)).
    ///
    /// ```
    /// use attesto::error::{Challenge, OAuthError};
    /// use attesto::scope::ScopeSet;
    /// let err = OAuthError::insufficient_scope(&ScopeSet::parse("read write").unwrap(), Challenge::bearer());
    /// assert_eq!(err.status(), 403);
    /// assert!(err.www_authenticate().unwrap().contains(r#"scope="read write""#));
    /// ```
    #[must_use]
    pub fn insufficient_scope(required: &ScopeSet, challenge: Challenge) -> Self {
        Self::new(ErrorCode::InsufficientScope)
            .with_description("the access token does not carry the required scope")
            .with_challenge(challenge.with_scope(required))
    }

    /// `use_dpop_nonce` as the token or PAR endpoint sends it
    /// ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)):
    /// 400, JSON body, and `DPoP-Nonce: <nonce>`.
    #[must_use]
    pub fn use_dpop_nonce(nonce: &str) -> Self {
        Self::new(ErrorCode::UseDpopNonce)
            .with_description("a DPoP nonce is required")
            .with_dpop_nonce(nonce)
    }

    /// `use_dpop_nonce` as a resource server sends it
    /// ([RFC 9449 §9](https://www.rfc-editor.org/rfc/rfc9449#section-9)):
    /// 401, `challenge` (normally [`Challenge::dpop`]) with
    /// `error="use_dpop_nonce"`, and `DPoP-Nonce: <nonce>`.
    #[must_use]
    pub fn use_dpop_nonce_challenge(nonce: &str, challenge: Challenge) -> Self {
        Self::use_dpop_nonce(nonce)
            .with_status(401)
            .with_challenge(challenge)
    }

    /// Set the description, sanitized ([`ErrorDescription`]). An empty
    /// (after sanitizing) text removes it.
    #[must_use]
    pub fn with_description(mut self, description: &str) -> Self {
        self.description = ErrorDescription::new(description);
        self
    }

    /// Set the `error_uri`.
    #[must_use]
    pub fn with_uri(mut self, uri: ErrorUri) -> Self {
        self.uri = Some(uri);
        self
    }

    /// Override the status. Only 400–599 are error statuses; any other value
    /// leaves the status unchanged.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        if (400..=599).contains(&status) {
            self.status = status;
        }
        self
    }

    /// Add a `WWW-Authenticate` challenge. Several are rendered in order,
    /// one header line each.
    #[must_use]
    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenges.push(challenge);
        self
    }

    /// Set the `DPoP-Nonce` response header. The nonce must be `1*NQCHAR`
    /// ([RFC 9449 §8.1](https://www.rfc-editor.org/rfc/rfc9449#section-8.1)) and at most
    /// [`MAX_DPOP_NONCE_LEN`] long; any other value is not stored (and is
    /// logged as a server bug without its text), so a broken nonce can never
    /// break the header.
    #[must_use]
    pub fn with_dpop_nonce(mut self, nonce: &str) -> Self {
        if !nonce.is_empty() && nonce.len() <= MAX_DPOP_NONCE_LEN && nonce.chars().all(is_nqchar) {
            self.dpop_nonce = Some(nonce.to_owned());
        } else {
            tracing::warn!(
                target: "attesto::error",
                len = nonce.len(),
                "DPoP nonce is not 1*NQCHAR; not emitted"
            );
            self.dpop_nonce = None;
        }
        self
    }

    /// Apply RFC 6749 §5.2 for a client that authenticated through the
    /// `Authorization` request header: an `invalid_client` error becomes 401
    /// with a `Basic realm="<realm>"` challenge (replacing any earlier
    /// `Basic` challenge). Errors with other codes are returned unchanged,
    /// as is `invalid_client` when this method is not called (body
    /// credentials or none: 400, no challenge).
    #[must_use]
    pub fn client_auth_via_header(mut self, realm: &str) -> Self {
        if self.code == ErrorCode::InvalidClient {
            self.status = 401;
            self.challenges.retain(|c| c.scheme() != AuthScheme::Basic);
            self.challenges.insert(0, Challenge::basic(realm));
        }
        self
    }

    /// The error code.
    #[must_use]
    pub const fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The sanitized description, if any.
    #[must_use]
    pub fn description(&self) -> Option<&str> {
        self.description.as_ref().map(ErrorDescription::as_str)
    }

    /// The error URI, if any.
    #[must_use]
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_ref().map(ErrorUri::as_str)
    }

    /// The HTTP status.
    #[must_use]
    pub const fn status(&self) -> u16 {
        self.status
    }

    /// The challenges.
    #[must_use]
    pub fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    /// The `DPoP-Nonce` to send, if any.
    #[must_use]
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.dpop_nonce.as_deref()
    }

    /// The RFC 6749 §5.2 body as a serializable value.
    #[must_use]
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: self.code.as_str(),
            error_description: self.description(),
            error_uri: self.uri(),
        }
    }

    /// The RFC 6749 §5.2 body as JSON (`Content-Type` [`JSON_CONTENT_TYPE`]),
    /// absent members omitted.
    #[must_use]
    pub fn json_body(&self) -> String {
        // Serialising three strings cannot fail; fall back to a fixed body
        // anyway rather than panic.
        serde_json::to_string(&self.body())
            .unwrap_or_else(|_| String::from(r#"{"error":"server_error"}"#))
    }

    /// Every header of the response, in order: `Cache-Control: no-store`,
    /// `Pragma: no-cache`, one `WWW-Authenticate` per challenge (each with
    /// this error's parameters unless [`Challenge::without_error`]), then
    /// `DPoP-Nonce` when set. Names are lowercase.
    #[must_use]
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![
            (CACHE_CONTROL, NO_STORE.to_owned()),
            (PRAGMA, NO_CACHE.to_owned()),
        ];
        h.extend(
            self.challenges
                .iter()
                .map(|c| (WWW_AUTHENTICATE, c.render(Some(self)))),
        );
        if let Some(n) = &self.dpop_nonce {
            h.push((DPOP_NONCE, n.clone()));
        }
        h
    }

    /// All challenges in one `WWW-Authenticate` value, comma-separated
    /// (RFC 9110 §11.6.1), for transports that take a single header; `None`
    /// without challenges.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<String> {
        if self.challenges.is_empty() {
            return None;
        }
        Some(
            self.challenges
                .iter()
                .map(|c| c.render(Some(self)))
                .collect::<Vec<_>>()
                .join(", "),
        )
    }

    /// The parameters of an authorization-endpoint error redirect
    /// ([RFC 6749 §4.1.2.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1)):
    /// `error`, `error_description`?, `error_uri`?, `state` (echoed exactly
    /// when the request had one) and `iss`
    /// ([RFC 9207 §2](https://www.rfc-editor.org/rfc/rfc9207#section-2)),
    /// unencoded. The caller form-encodes them into the query or fragment
    /// its response mode asks for (see [`redirect_url`](Self::redirect_url)).
    ///
    /// ```
    /// use attesto::error::OAuthError;
    /// let p = OAuthError::access_denied("").redirect_params(Some("xyz"), Some("https://as.example"));
    /// assert_eq!(p, vec![
    ///     ("error", "access_denied".to_owned()),
    ///     ("state", "xyz".to_owned()),
    ///     ("iss", "https://as.example".to_owned()),
    /// ]);
    /// ```
    #[must_use]
    pub fn redirect_params(
        &self,
        state: Option<&str>,
        iss: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        let mut p = vec![("error", self.code.as_str().to_owned())];
        if let Some(d) = self.description() {
            p.push(("error_description", d.to_owned()));
        }
        if let Some(u) = self.uri() {
            p.push(("error_uri", u.to_owned()));
        }
        if let Some(s) = state {
            p.push(("state", s.to_owned()));
        }
        if let Some(i) = iss {
            p.push(("iss", i.to_owned()));
        }
        p
    }

    /// `redirect_uri` with [`redirect_params`](Self::redirect_params)
    /// appended to its query (`response_mode=query`), form-encoded. Existing
    /// query parameters of the registered URI are kept (RFC 6749 §3.1.2).
    ///
    /// ```
    /// use attesto::error::OAuthError;
    /// let base = url::Url::parse("https://client.example/cb?x=1").unwrap();
    /// let url = OAuthError::invalid_scope("nope").redirect_url(&base, Some("s t"), None);
    /// assert_eq!(url.as_str(), "https://client.example/cb?x=1&error=invalid_scope&error_description=nope&state=s+t");
    /// ```
    #[must_use]
    pub fn redirect_url(
        &self,
        redirect_uri: &url::Url,
        state: Option<&str>,
        iss: Option<&str>,
    ) -> url::Url {
        let mut url = redirect_uri.clone();
        url.set_fragment(None);
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in self.redirect_params(state, iss) {
                q.append_pair(k, &v);
            }
        }
        url
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.description() {
            Some(d) => write!(f, "{}: {d}", self.code),
            None => write!(f, "{}", self.code),
        }
    }
}

impl std::error::Error for OAuthError {}

impl serde::Serialize for OAuthError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.body().serialize(serializer)
    }
}

impl From<ErrorCode> for OAuthError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

/// The RFC 6749 §5.2 error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ErrorBody<'a> {
    /// `error`.
    pub error: &'a str,
    /// `error_description`, omitted when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<&'a str>,
    /// `error_uri`, omitted when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<&'a str>,
}
