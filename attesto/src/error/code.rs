//! The closed set of OAuth error codes.

use std::fmt;
use std::str::FromStr;

use super::text::is_nqschar;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $status:literal;)*) => {
        /// An OAuth 2.0 / OpenID Connect error code: the value of the `error`
        /// parameter.
        ///
        /// The registered codes are variants, so no error path can fail because a
        /// code is unknown (the set is "total by construction"). An extension code is
        /// possible only through [`ExtensionErrorCode`], which validates its text.
        ///
        /// | variants | defined in | default status |
        /// |---|---|---|
        /// | `invalid_request` … `temporarily_unavailable` | [RFC 6749 §4.1.2.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1), [§5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2) | 400, except `server_error` 500 and `temporarily_unavailable` 503 |
        /// | `login_required` … `registration_not_supported` | [OpenID Connect Core §3.1.2.6](https://openid.net/specs/openid-connect-core-1_0.html#AuthError) | 400 |
        /// | `invalid_token`, `insufficient_scope` | [RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1) | 401, 403 |
        /// | `invalid_dpop_proof`, `use_dpop_nonce` | [RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5), [§8](https://www.rfc-editor.org/rfc/rfc9449#section-8) | 400 (the token endpoint; a resource answers 401 through [`OAuthError::unauthorized`](super::OAuthError::unauthorized)) |
        /// | `invalid_target` | [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2) | 400 |
        /// | `authorization_pending`, `slow_down`, `expired_token` | [RFC 8628 §3.5](https://www.rfc-editor.org/rfc/rfc8628#section-3.5) | 400 |
        /// | `invalid_redirect_uri` … `unapproved_software_statement` | [RFC 7591 §3.2.2](https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2) | 400 |
        /// | `unsupported_token_type` | [RFC 7009 §2.2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1) | 400 |
        ///
        /// `invalid_client` defaults to 400: RFC 6749 §5.2 requires 401 (with a
        /// `WWW-Authenticate` challenge) only when the client authenticated through
        /// the `Authorization` header, which
        /// [`OAuthError::client_auth_via_header`](super::OAuthError::client_auth_via_header) applies.
        ///
        /// ```
        /// use attesto::error::ErrorCode;
        /// let code: ErrorCode = "invalid_grant".parse().unwrap();
        /// assert_eq!(code, ErrorCode::InvalidGrant);
        /// assert_eq!(code.as_str(), "invalid_grant");
        /// assert_eq!(code.default_status(), 400);
        /// assert_eq!(ErrorCode::InvalidToken.default_status(), 401);
        /// assert!("bad\"code".parse::<ErrorCode>().is_err());
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// An extension code, validated by [`ExtensionErrorCode::new`].
            Other(ExtensionErrorCode),
        }

        /// Every registered code with its wire name.
        const REGISTERED: &[(ErrorCode, &str)] = &[$((ErrorCode::$variant, $name),)*];

        impl ErrorCode {
            /// The wire name, e.g. `"invalid_request"`.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $name,)*
                    Self::Other(ext) => ext.as_str(),
                }
            }

            /// The HTTP status this code is answered with unless a constructor or
            /// [`OAuthError::with_status`](super::OAuthError::with_status) says otherwise.
            #[must_use]
            pub const fn default_status(&self) -> u16 {
                match self {
                    $(Self::$variant => $status,)*
                    Self::Other(_) => 400,
                }
            }
        }
    };
}

error_codes! {
    /// `invalid_request`: the request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest = "invalid_request", 400;
    /// `invalid_client`: client authentication failed.
    InvalidClient = "invalid_client", 400;
    /// `invalid_grant`: the grant (code, refresh token, assertion, PKCE verifier) is invalid.
    InvalidGrant = "invalid_grant", 400;
    /// `unauthorized_client`: the client may not use this grant or response type.
    UnauthorizedClient = "unauthorized_client", 400;
    /// `unsupported_grant_type`: the grant type is not supported.
    UnsupportedGrantType = "unsupported_grant_type", 400;
    /// `invalid_scope`: the requested scope is invalid, unknown, malformed or exceeds the grant.
    InvalidScope = "invalid_scope", 400;
    /// `access_denied`: the resource owner or the server denied the request.
    AccessDenied = "access_denied", 400;
    /// `unsupported_response_type`: the response type is not supported.
    UnsupportedResponseType = "unsupported_response_type", 400;
    /// `server_error`: an unexpected condition on the server.
    ServerError = "server_error", 500;
    /// `temporarily_unavailable`: the server is overloaded or in maintenance.
    TemporarilyUnavailable = "temporarily_unavailable", 503;
    /// `login_required` (OIDC): `prompt=none` but the end-user must log in.
    LoginRequired = "login_required", 400;
    /// `consent_required` (OIDC): `prompt=none` but consent is needed.
    ConsentRequired = "consent_required", 400;
    /// `interaction_required` (OIDC): `prompt=none` but some interaction is needed.
    InteractionRequired = "interaction_required", 400;
    /// `account_selection_required` (OIDC): the end-user must pick an account.
    AccountSelectionRequired = "account_selection_required", 400;
    /// `invalid_request_uri` (OIDC / RFC 9126): the `request_uri` is unknown, expired or used.
    InvalidRequestUri = "invalid_request_uri", 400;
    /// `invalid_request_object` (OIDC / RFC 9101): the request object is invalid.
    InvalidRequestObject = "invalid_request_object", 400;
    /// `request_not_supported` (OIDC): the `request` parameter is not supported.
    RequestNotSupported = "request_not_supported", 400;
    /// `request_uri_not_supported` (OIDC): the `request_uri` parameter (or its kind) is not supported.
    RequestUriNotSupported = "request_uri_not_supported", 400;
    /// `registration_not_supported` (OIDC): the `registration` parameter is not supported.
    RegistrationNotSupported = "registration_not_supported", 400;
    /// `invalid_token` (RFC 6750): the access token is expired, revoked, malformed or mis-bound.
    InvalidToken = "invalid_token", 401;
    /// `insufficient_scope` (RFC 6750): the token lacks a required scope.
    InsufficientScope = "insufficient_scope", 403;
    /// `invalid_dpop_proof` (RFC 9449): the DPoP proof is invalid.
    InvalidDpopProof = "invalid_dpop_proof", 400;
    /// `use_dpop_nonce` (RFC 9449): retry with the nonce in the `DPoP-Nonce` header.
    UseDpopNonce = "use_dpop_nonce", 400;
    /// `invalid_target` (RFC 8707): the `resource` is invalid or not served.
    InvalidTarget = "invalid_target", 400;
    /// `authorization_pending` (RFC 8628): the user has not finished the device flow yet.
    AuthorizationPending = "authorization_pending", 400;
    /// `slow_down` (RFC 8628): poll less often.
    SlowDown = "slow_down", 400;
    /// `expired_token` (RFC 8628): the device code expired.
    ExpiredToken = "expired_token", 400;
    /// `invalid_redirect_uri` (RFC 7591): a registered redirect URI is invalid.
    InvalidRedirectUri = "invalid_redirect_uri", 400;
    /// `invalid_client_metadata` (RFC 7591): a client metadata value is invalid.
    InvalidClientMetadata = "invalid_client_metadata", 400;
    /// `invalid_software_statement` (RFC 7591): the software statement is invalid.
    InvalidSoftwareStatement = "invalid_software_statement", 400;
    /// `unapproved_software_statement` (RFC 7591): the software statement is not approved.
    UnapprovedSoftwareStatement = "unapproved_software_statement", 400;
    /// `unsupported_token_type` (RFC 7009): revocation of this token type is not supported.
    UnsupportedTokenType = "unsupported_token_type", 400;
}

impl ErrorCode {
    /// Every registered (non-extension) code, in declaration order.
    pub fn registered() -> impl Iterator<Item = ErrorCode> {
        REGISTERED.iter().map(|(c, _)| c.clone())
    }

    /// Parse a wire name. Registered names give their variant; anything else
    /// must be a valid [`ExtensionErrorCode`].
    ///
    /// # Errors
    /// [`InvalidErrorCode`] when the text is empty, too long, or has a
    /// character outside RFC 6749 Appendix A.7 (or a space).
    pub fn parse(name: &str) -> Result<Self, InvalidErrorCode> {
        match REGISTERED.iter().find(|(_, n)| *n == name) {
            Some((code, _)) => Ok(code.clone()),
            None => ExtensionErrorCode::new(name).map(Self::Other),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = InvalidErrorCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The longest extension error code accepted.
pub const MAX_EXTENSION_CODE_LEN: usize = 64;

/// An extension error code (RFC 6749 §8.5): 1 to
/// [`MAX_EXTENSION_CODE_LEN`] characters of
/// [RFC 6749 Appendix A.7](https://www.rfc-editor.org/rfc/rfc6749#appendix-A.7)
/// `NQSCHAR` without the space (stricter than A.7, so a code never needs
/// trimming), and not the name of a registered code.
///
/// ```
/// use attesto::error::{ErrorCode, ExtensionErrorCode};
/// let ext = ExtensionErrorCode::new("vendor_specific").unwrap();
/// assert_eq!(ErrorCode::Other(ext).as_str(), "vendor_specific");
/// assert!(ExtensionErrorCode::new("invalid_request").is_err()); // registered
/// assert!(ExtensionErrorCode::new("a\r\nb").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionErrorCode(String);

impl ExtensionErrorCode {
    /// Validate an extension code.
    ///
    /// # Errors
    /// [`InvalidErrorCode`] for empty, oversized or out-of-charset text, or a
    /// registered name (use the variant instead).
    pub fn new(name: &str) -> Result<Self, InvalidErrorCode> {
        if name.is_empty() {
            return Err(InvalidErrorCode::Empty);
        }
        if name.len() > MAX_EXTENSION_CODE_LEN {
            return Err(InvalidErrorCode::TooLong);
        }
        if !name.chars().all(|c| c != ' ' && is_nqschar(c)) {
            return Err(InvalidErrorCode::InvalidCharacter);
        }
        if REGISTERED.iter().any(|(_, n)| *n == name) {
            return Err(InvalidErrorCode::Registered);
        }
        Ok(Self(name.to_owned()))
    }

    /// The code text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why an error code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidErrorCode {
    /// The code is empty.
    #[error("error code is empty")]
    Empty,
    /// The code is longer than [`MAX_EXTENSION_CODE_LEN`].
    #[error("error code is too long")]
    TooLong,
    /// The code has a character outside RFC 6749 Appendix A.7 (or a space).
    #[error("error code has a character outside RFC 6749 Appendix A.7")]
    InvalidCharacter,
    /// An extension code may not reuse a registered name.
    #[error("error code is a registered code, use its variant")]
    Registered,
}
