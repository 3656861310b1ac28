//! Turning request facts into presented client credentials.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::{ClientAuthError, ClientAuthMethod, ClientAuthReason};
use crate::secret::Secret;

/// The `client_assertion_type` for JWT client assertions
/// ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2)).
pub const CLIENT_ASSERTION_TYPE_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest `Authorization` header value considered, in bytes.
pub const MAX_AUTHORIZATION_HEADER_LEN: usize = 4096;
/// The longest client id accepted, in bytes (room for CIMD URLs).
pub const MAX_CLIENT_ID_LEN: usize = 1024;
/// The longest client secret accepted, in bytes.
pub const MAX_CLIENT_SECRET_LEN: usize = 1024;
/// The longest client assertion accepted, in bytes.
pub const MAX_ASSERTION_LEN: usize = 16 * 1024;

/// The credentials a request presents, before any verification.
///
/// Exactly one method per request; the client id is always known (for an
/// assertion it is the **unverified** `sub`, to look up the client's keys;
/// [`AssertionVerifier`](super::AssertionVerifier) then checks it).
#[derive(Clone)]
#[non_exhaustive]
pub enum PresentedCredentials {
    /// `Authorization: Basic` ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)).
    ClientSecretBasic {
        /// The form-urldecoded user id.
        client_id: String,
        /// The form-urldecoded password.
        secret: Secret,
    },
    /// `client_id` + `client_secret` in the body.
    ClientSecretPost {
        /// `client_id`.
        client_id: String,
        /// `client_secret`.
        secret: Secret,
    },
    /// `client_assertion` + `client_assertion_type` ([RFC 7523 §2.2](https://www.rfc-editor.org/rfc/rfc7523#section-2.2)).
    PrivateKeyJwt {
        /// The assertion's (unverified) `sub`.
        client_id: String,
        /// The compact JWT.
        assertion: String,
    },
    /// Only a `client_id` (public client, or a client authenticated by the
    /// TLS layer).
    ClientIdOnly {
        /// `client_id`.
        client_id: String,
    },
}

impl fmt::Debug for PresentedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedCredentials")
            .field("method", &self.method())
            .field("client_id", &self.client_id())
            .finish_non_exhaustive()
    }
}

impl PresentedCredentials {
    /// The client identifier the credentials carry.
    #[must_use]
    pub fn client_id(&self) -> &str {
        match self {
            Self::ClientSecretBasic { client_id, .. }
            | Self::ClientSecretPost { client_id, .. }
            | Self::PrivateKeyJwt { client_id, .. }
            | Self::ClientIdOnly { client_id } => client_id,
        }
    }

    /// The method used (`none` for [`PresentedCredentials::ClientIdOnly`]).
    #[must_use]
    pub fn method(&self) -> ClientAuthMethod {
        match self {
            Self::ClientSecretBasic { .. } => ClientAuthMethod::ClientSecretBasic,
            Self::ClientSecretPost { .. } => ClientAuthMethod::ClientSecretPost,
            Self::PrivateKeyJwt { .. } => ClientAuthMethod::PrivateKeyJwt,
            Self::ClientIdOnly { .. } => ClientAuthMethod::None,
        }
    }

    /// `Some("Basic")` when the credentials came in the `Authorization` header.
    #[must_use]
    pub fn authorization_scheme(&self) -> Option<&'static str> {
        match self {
            Self::ClientSecretBasic { .. } => Some("Basic"),
            _ => None,
        }
    }
}

/// The credential parameters of the form, each at most once.
#[derive(Default)]
struct FormCredentials<'a> {
    client_id: Option<&'a str>,
    client_secret: Option<&'a str>,
    client_assertion: Option<&'a str>,
    client_assertion_type: Option<&'a str>,
}

fn collect_form<'a>(form: &[(&'a str, &'a str)]) -> Result<FormCredentials<'a>, ClientAuthReason> {
    let mut out = FormCredentials::default();
    for (name, value) in form {
        let (slot, label) = match *name {
            "client_id" => (&mut out.client_id, "client_id"),
            "client_secret" => (&mut out.client_secret, "client_secret"),
            "client_assertion" => (&mut out.client_assertion, "client_assertion"),
            "client_assertion_type" => (&mut out.client_assertion_type, "client_assertion_type"),
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(ClientAuthReason::DuplicateParameter(label));
        }
    }
    Ok(out)
}

/// Visible ASCII and space: RFC 6749 Appendix A.1/A.2 `VSCHAR`.
fn is_vschar(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

fn check_client_id(id: &str) -> Result<(), ClientAuthReason> {
    if id.is_empty() || id.len() > MAX_CLIENT_ID_LEN || !is_vschar(id) {
        return Err(ClientAuthReason::MalformedCredential);
    }
    Ok(())
}

fn check_secret(secret: &str) -> Result<(), ClientAuthReason> {
    if secret.is_empty() || secret.len() > MAX_CLIENT_SECRET_LEN || !is_vschar(secret) {
        return Err(ClientAuthReason::MalformedCredential);
    }
    Ok(())
}

/// `token` from RFC 9110 §5.6.2.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Strict `application/x-www-form-urlencoded` decoding of one component:
/// `+` is a space, `%XX` a byte, anything else literal; a `%` not followed
/// by two hex digits and a non-UTF-8 result are errors.
fn form_urldecode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let h = bytes.get(i + 1).and_then(|c| char::from(*c).to_digit(16))?;
                let l = bytes.get(i + 2).and_then(|c| char::from(*c).to_digit(16))?;
                out.push(u8::try_from(h * 16 + l).ok()?);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The scheme to report for an `Authorization` header value: `"Basic"` for
/// Basic or an unusable scheme token, otherwise the scheme as sent.
fn scheme_of(value: &str) -> String {
    let trimmed = value.trim_matches([' ', '\t']);
    let scheme = trimmed.split([' ', '\t']).next().unwrap_or("");
    if is_token(scheme) && !scheme.eq_ignore_ascii_case("basic") {
        scheme.to_owned()
    } else {
        "Basic".to_owned()
    }
}

/// Decode one `Authorization: Basic` value into the client id and secret
/// ([RFC 7617 §2](https://www.rfc-editor.org/rfc/rfc7617#section-2),
/// [RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)):
/// the scheme is case-insensitive, the credentials are canonical padded
/// base64 of UTF-8 `id:secret`, split at the first colon, and both halves are
/// form-urldecoded (so a colon in the id arrives as `%3A`).
///
/// ```
/// use attesto::client_auth::parse_basic_authorization;
/// // base64("my%3Aapp:a%2Bb%3Ac") -> id "my:app", secret "a+b:c"
/// let (id, secret) = parse_basic_authorization("Basic bXklM0FhcHA6YSUyQmIlM0Fj").unwrap();
/// assert_eq!(id, "my:app");
/// assert!(secret.ct_eq_str("a+b:c"));
/// assert!(parse_basic_authorization("Basic !!!").is_err());
/// assert!(parse_basic_authorization("Bearer abc").is_err());
/// ```
///
/// # Errors
/// [`ClientAuthError`] (`invalid_client`, with the scheme recorded) for
/// anything malformed.
pub fn parse_basic_authorization(value: &str) -> Result<(String, Secret), ClientAuthError> {
    parse_basic(value).map_err(|r| ClientAuthError::new(r, Some(scheme_of(value))))
}

fn parse_basic(value: &str) -> Result<(String, Secret), ClientAuthReason> {
    use ClientAuthReason::MalformedBasic as M;
    if value.len() > MAX_AUTHORIZATION_HEADER_LEN {
        return Err(M("header too long"));
    }
    let trimmed = value.trim_matches([' ', '\t']);
    let (scheme, rest) = match trimmed.split_once(' ') {
        Some((s, r)) => (s, r.trim_start_matches(' ')),
        None => (trimmed, ""),
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return if is_token(scheme) {
            Err(ClientAuthReason::UnsupportedScheme)
        } else {
            Err(M("no scheme"))
        };
    }
    if rest.is_empty() {
        return Err(M("no credentials"));
    }
    let decoded = STANDARD.decode(rest).map_err(|_| M("not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| M("not UTF-8"))?;
    let (id, secret) = decoded.split_once(':').ok_or(M("no colon"))?;
    let id = form_urldecode(id).ok_or(M("bad urlencoding in the user id"))?;
    let secret = form_urldecode(secret).ok_or(M("bad urlencoding in the password"))?;
    check_client_id(&id)?;
    check_secret(&secret)?;
    Ok((id, Secret::new(secret)))
}

/// The unverified `sub` of an assertion (and `iss`, which must equal it),
/// to find the client whose keys verify it.
fn peek_assertion_subject(assertion: &str) -> Result<String, ClientAuthReason> {
    use super::AssertionError as A;
    let bad = |e: A| ClientAuthReason::Assertion(e);
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(bad(A::TooLarge));
    }
    let mut parts = assertion.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(A::Malformed(crate::jose::JoseError::Malformed(
            "a compact JWS has exactly three parts",
        ))));
    };
    let payload = crate::jose::b64_decode(payload).map_err(|e| bad(A::Malformed(e)))?;
    let claims = crate::jose::parse_json_object(&payload).map_err(|e| bad(A::Malformed(e)))?;
    let sub = match claims.get("sub") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(bad(A::InvalidClaim("sub"))),
        None => return Err(bad(A::MissingClaim("sub"))),
    };
    match claims.get("iss") {
        Some(Value::String(iss)) if iss == sub => {}
        Some(Value::String(_)) => return Err(bad(A::IssuerMismatch)),
        Some(_) => return Err(bad(A::InvalidClaim("iss"))),
        None => return Err(bad(A::MissingClaim("iss"))),
    }
    check_client_id(sub)?;
    Ok(sub.clone())
}

/// Parse the client credentials of a request
/// ([RFC 6749 §2.3](https://www.rfc-editor.org/rfc/rfc6749#section-2.3)).
///
/// `authorization` holds every `Authorization` header value; `form` every
/// body parameter (name, decoded value) — other parameters are ignored.
///
/// Rules, in order:
/// * more than one `Authorization` header, or a credential parameter given
///   twice → `invalid_request`;
/// * more than one method (the header, `client_secret`, `client_assertion`/
///   `client_assertion_type`) → `invalid_request`;
/// * an `Authorization` header that is not valid Basic → `invalid_client`
///   (with the scheme recorded, so a Basic challenge follows);
/// * `client_assertion` and `client_assertion_type` must come together
///   (`invalid_request`); any type but JWT bearer is `invalid_client`
///   (RFC 7521 §4.2.1);
/// * a body `client_id` must equal the Basic user id or the assertion `sub`
///   (RFC 6749 §2.3.1, RFC 7521 §4.2) → otherwise `invalid_request`;
/// * `client_secret` needs `client_id` (`invalid_request`);
/// * nothing at all → `invalid_client`.
///
/// ```
/// use attesto::client_auth::{parse_credentials, ClientAuthMethod};
/// let c = parse_credentials(&[], &[("client_id", "app"), ("client_secret", "s")]).unwrap();
/// assert_eq!(c.method(), ClientAuthMethod::ClientSecretPost);
/// let e = parse_credentials(&["Basic YXBwOnM="], &[("client_secret", "s")]).unwrap_err();
/// assert_eq!(e.error_code(), "invalid_request");
/// ```
///
/// # Errors
/// [`ClientAuthError`] as above.
pub fn parse_credentials(
    authorization: &[&str],
    form: &[(&str, &str)],
) -> Result<PresentedCredentials, ClientAuthError> {
    let scheme = authorization.first().map(|v| scheme_of(v));
    parse_inner(authorization, form).map_err(|r| ClientAuthError::new(r, scheme))
}

fn parse_inner(
    authorization: &[&str],
    form: &[(&str, &str)],
) -> Result<PresentedCredentials, ClientAuthReason> {
    let header = match authorization {
        [] => None,
        [one] => Some(*one),
        _ => return Err(ClientAuthReason::MultipleAuthorizationHeaders),
    };
    let f = collect_form(form)?;
    let assertion_attempted = f.client_assertion.is_some() || f.client_assertion_type.is_some();
    let methods = usize::from(header.is_some())
        + usize::from(f.client_secret.is_some())
        + usize::from(assertion_attempted);
    if methods > 1 {
        return Err(ClientAuthReason::MultipleMethods);
    }

    if let Some(h) = header {
        let (client_id, secret) = parse_basic(h)?;
        if f.client_id.is_some_and(|id| id != client_id) {
            return Err(ClientAuthReason::ClientIdMismatch);
        }
        return Ok(PresentedCredentials::ClientSecretBasic { client_id, secret });
    }

    if assertion_attempted {
        let (Some(assertion), Some(kind)) = (f.client_assertion, f.client_assertion_type) else {
            return Err(ClientAuthReason::IncompleteAssertion);
        };
        if kind != CLIENT_ASSERTION_TYPE_JWT_BEARER {
            return Err(ClientAuthReason::UnsupportedAssertionType);
        }
        let client_id = peek_assertion_subject(assertion)?;
        if f.client_id.is_some_and(|id| id != client_id) {
            return Err(ClientAuthReason::ClientIdMismatch);
        }
        return Ok(PresentedCredentials::PrivateKeyJwt {
            client_id,
            assertion: assertion.to_owned(),
        });
    }

    match (f.client_id, f.client_secret) {
        (Some(id), Some(secret)) => {
            check_client_id(id)?;
            check_secret(secret)?;
            Ok(PresentedCredentials::ClientSecretPost {
                client_id: id.to_owned(),
                secret: Secret::new(secret),
            })
        }
        (None, Some(_)) => Err(ClientAuthReason::MissingClientId),
        (Some(id), None) => {
            check_client_id(id)?;
            Ok(PresentedCredentials::ClientIdOnly {
                client_id: id.to_owned(),
            })
        }
        (None, None) => Err(ClientAuthReason::NoCredentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn form_urldecoding_is_strict() {
        assert_eq!(form_urldecode("a+b%2Bc%3a").as_deref(), Some("a b+c:"));
        assert_eq!(form_urldecode("%"), None);
        assert_eq!(form_urldecode("%4"), None);
        assert_eq!(form_urldecode("%zz"), None);
        assert_eq!(form_urldecode("%ff"), None); // not UTF-8
        assert_eq!(form_urldecode("%C3%A9").as_deref(), Some("é"));
    }

    #[test]
    fn basic_scheme_is_case_insensitive_and_tolerates_extra_spaces() {
        for h in [
            basic("app:pw"),
            format!("basic {}", STANDARD.encode("app:pw")),
            format!("BASIC   {} ", STANDARD.encode("app:pw")),
        ] {
            let (id, s) = parse_basic(&h).unwrap();
            assert_eq!(id, "app");
            assert!(s.ct_eq_str("pw"));
        }
    }

    #[test]
    fn basic_rejects_unpadded_and_non_canonical_base64() {
        // "app:pw" = YXBwOnB3 (no padding needed); "app:p" = YXBwOnA=
        assert!(parse_basic("Basic YXBwOnA").is_err());
        assert!(parse_basic("Basic YXBwOnA=").is_ok());
        assert!(parse_basic("Basic YXBwOnB=").is_err()); // non-zero trailing bits
    }

    #[test]
    fn scheme_reporting_follows_the_seed() {
        assert_eq!(scheme_of("Basic !!!"), "Basic");
        assert_eq!(scheme_of(""), "Basic");
        assert_eq!(scheme_of("   "), "Basic");
        assert_eq!(scheme_of("(bad) x"), "Basic");
        assert_eq!(scheme_of("Bearer xyz"), "Bearer");
        assert_eq!(scheme_of("DPoP xyz"), "DPoP");
        assert_eq!(scheme_of("basic abc"), "Basic");
    }

    #[test]
    fn control_characters_in_credentials_are_rejected() {
        assert!(parse_basic(&basic("app%0A:pw")).is_err());
        assert!(parse_basic(&basic("app:p%00w")).is_err());
        assert!(parse_basic(&basic(":pw")).is_err());
        assert!(parse_basic(&basic("app:")).is_err());
    }
}
