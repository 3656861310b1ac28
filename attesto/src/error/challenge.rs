//! `WWW-Authenticate` challenges.

use std::fmt;

use super::text::{is_nqchar, quote_into};
use super::{CACHE_CONTROL, NO_CACHE, NO_STORE, OAuthError, PRAGMA, WWW_AUTHENTICATE};
use crate::scope::ScopeSet;

/// The realm of the token endpoint's `Basic` challenge when none is
/// configured.
pub const DEFAULT_BASIC_REALM: &str = "OAuth";

/// The authentication scheme a [`Challenge`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthScheme {
    /// `Basic` ([RFC 7617](https://www.rfc-editor.org/rfc/rfc7617)): the token
    /// endpoint after a failed `Authorization: Basic` client authentication.
    Basic,
    /// `Bearer` ([RFC 6750 §3](https://www.rfc-editor.org/rfc/rfc6750#section-3)).
    Bearer,
    /// `DPoP` ([RFC 9449 §7.1](https://www.rfc-editor.org/rfc/rfc9449#section-7.1)).
    DPoP,
}

impl AuthScheme {
    /// The scheme name as written in the header.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "Basic",
            Self::Bearer => "Bearer",
            Self::DPoP => "DPoP",
        }
    }
}

impl fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One challenge of a `WWW-Authenticate` header
/// ([RFC 9110 §11.6.1](https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1)).
///
/// A challenge holds the scheme and its scheme-specific auth-params
/// (`realm`, `scope`, `algs`, `resource_metadata`). The `error`,
/// `error_description` and `error_uri` auth-params come from the
/// [`OAuthError`] the challenge is attached to, so they can never disagree
/// with the response body; a challenge rendered on its own
/// ([`Challenge::header_value`]) has none, which is the RFC 6750 §3.1 form
/// for a request that carried no credentials.
///
/// Parameters are rendered in a fixed order (`realm`, `error`,
/// `error_description`, `error_uri`, `scope`, `algs`, `resource_metadata`),
/// each as a quoted-string with `"` and `\` escaped and control characters
/// removed, so no value can add a parameter or a header line.
///
/// ```
/// use attesto::error::Challenge;
/// use attesto::scope::ScopeSet;
/// let c = Challenge::bearer()
///     .with_realm("api")
///     .with_scope(&ScopeSet::parse("a b").unwrap())
///     .with_resource_metadata("https://rs.example/.well-known/oauth-protected-resource");
/// assert_eq!(
///     c.header_value(),
///     r#"Bearer realm="api", scope="a b", resource_metadata="https://rs.example/.well-known/oauth-protected-resource""#
/// );
/// assert_eq!(
///     Challenge::dpop().with_algs(["ES256", "PS256"]).header_value(),
///     r#"DPoP algs="ES256 PS256""#
/// );
/// assert_eq!(Challenge::basic("OAuth").header_value(), r#"Basic realm="OAuth""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: AuthScheme,
    realm: Option<String>,
    scope: Option<String>,
    algs: Vec<String>,
    resource_metadata: Option<String>,
    carries_error: bool,
}

impl Challenge {
    fn with_scheme(scheme: AuthScheme) -> Self {
        Self {
            scheme,
            realm: None,
            scope: None,
            algs: Vec::new(),
            resource_metadata: None,
            carries_error: scheme != AuthScheme::Basic,
        }
    }

    /// A `Basic realm="…"` challenge ([RFC 7617 §2](https://www.rfc-editor.org/rfc/rfc7617#section-2)).
    /// It never carries error parameters.
    #[must_use]
    pub fn basic(realm: &str) -> Self {
        Self::with_scheme(AuthScheme::Basic).with_realm(realm)
    }

    /// A `Bearer` challenge ([RFC 6750 §3](https://www.rfc-editor.org/rfc/rfc6750#section-3)).
    #[must_use]
    pub fn bearer() -> Self {
        Self::with_scheme(AuthScheme::Bearer)
    }

    /// A `DPoP` challenge ([RFC 9449 §7.1](https://www.rfc-editor.org/rfc/rfc9449#section-7.1)).
    #[must_use]
    pub fn dpop() -> Self {
        Self::with_scheme(AuthScheme::DPoP)
    }

    /// Set the `realm` auth-param.
    #[must_use]
    pub fn with_realm(mut self, realm: &str) -> Self {
        self.realm = Some(realm.to_owned());
        self
    }

    /// Set the `scope` auth-param: the scope needed for the resource
    /// (RFC 6750 §3). Ignored for `Basic`; an empty set sets nothing.
    #[must_use]
    pub fn with_scope(mut self, scope: &ScopeSet) -> Self {
        if self.scheme != AuthScheme::Basic && !scope.is_empty() {
            self.scope = Some(scope.to_string());
        }
        self
    }

    /// Set the `algs` auth-param: the JWS algorithms accepted for DPoP proofs
    /// (RFC 9449 §7.1), space-separated. Only for `DPoP` challenges. A name
    /// that is empty or has a character outside `%x21 / %x23-5B / %x5D-7E`
    /// (which includes the space that separates names) is left out, as are
    /// repeats; server configuration supplies these names, never a request.
    #[must_use]
    pub fn with_algs<I, S>(mut self, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        if self.scheme != AuthScheme::DPoP {
            return self;
        }
        self.algs.clear();
        for alg in algs {
            let alg = alg.as_ref();
            if !alg.is_empty()
                && alg.len() <= 64
                && alg.chars().all(is_nqchar)
                && !self.algs.iter().any(|a| a == alg)
            {
                self.algs.push(alg.to_owned());
            }
        }
        self
    }

    /// Set the `resource_metadata` auth-param: the URL of the protected
    /// resource's metadata document
    /// ([RFC 9728 §5.1](https://www.rfc-editor.org/rfc/rfc9728#section-5.1)).
    /// Ignored for `Basic`.
    #[must_use]
    pub fn with_resource_metadata(mut self, url: &str) -> Self {
        if self.scheme != AuthScheme::Basic {
            self.resource_metadata = Some(url.to_owned());
        }
        self
    }

    /// Leave the `error` parameters of the [`OAuthError`] this challenge is
    /// attached to out of it. Use it for a second challenge that only
    /// advertises a scheme, e.g. `Bearer error="invalid_token"` next to
    /// `DPoP algs="ES256"`.
    #[must_use]
    pub fn without_error(mut self) -> Self {
        self.carries_error = false;
        self
    }

    /// The scheme.
    #[must_use]
    pub const fn scheme(&self) -> AuthScheme {
        self.scheme
    }

    /// The `realm`, if set.
    #[must_use]
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The `scope` value, if set.
    #[must_use]
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The `algs` names.
    #[must_use]
    pub fn algs(&self) -> &[String] {
        &self.algs
    }

    /// The `resource_metadata` URL, if set.
    #[must_use]
    pub fn resource_metadata(&self) -> Option<&str> {
        self.resource_metadata.as_deref()
    }

    /// The challenge on its own, without error parameters.
    #[must_use]
    pub fn header_value(&self) -> String {
        self.render(None)
    }

    /// Render, taking `error`, `error_description` and `error_uri` from
    /// `error` when this challenge carries errors.
    pub(crate) fn render(&self, error: Option<&OAuthError>) -> String {
        let algs = self.algs.join(" ");
        let mut params: Vec<(&str, &str)> = Vec::new();
        if let Some(realm) = &self.realm {
            params.push(("realm", realm));
        }
        if let Some(err) = error.filter(|_| self.carries_error) {
            params.push(("error", err.code().as_str()));
            if let Some(d) = err.description() {
                params.push(("error_description", d));
            }
            if let Some(u) = err.uri() {
                params.push(("error_uri", u));
            }
        }
        if let Some(scope) = &self.scope {
            params.push(("scope", scope));
        }
        if !algs.is_empty() {
            params.push(("algs", &algs));
        }
        if let Some(rm) = &self.resource_metadata {
            params.push(("resource_metadata", rm));
        }
        let mut out = String::from(self.scheme.as_str());
        for (i, (name, value)) in params.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            out.push_str(name);
            out.push('=');
            quote_into(&mut out, value);
        }
        out
    }
}

/// A 401 that only asks for credentials: the RFC 6750 §3.1 answer to a
/// request that carried no access token, which "SHOULD NOT include an error
/// code or other error information". It has challenges and cache headers but
/// no error body.
///
/// ```
/// use attesto::error::{AuthenticationRequired, Challenge};
/// let r = AuthenticationRequired::new([
///     Challenge::bearer().with_realm("api"),
///     Challenge::dpop().with_algs(["ES256"]),
/// ]);
/// assert_eq!(r.status(), 401);
/// let www: Vec<_> = r.headers().into_iter().filter(|(n, _)| *n == "www-authenticate").collect();
/// assert_eq!(www.len(), 2);
/// assert_eq!(www[0].1, r#"Bearer realm="api""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationRequired {
    challenges: Vec<Challenge>,
}

impl AuthenticationRequired {
    /// A 401 offering `challenges`, in order.
    pub fn new(challenges: impl IntoIterator<Item = Challenge>) -> Self {
        Self {
            challenges: challenges.into_iter().collect(),
        }
    }

    /// Always 401.
    #[must_use]
    pub const fn status(&self) -> u16 {
        401
    }

    /// The challenges.
    #[must_use]
    pub fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    /// `Cache-Control: no-store`, `Pragma: no-cache`, and one
    /// `WWW-Authenticate` per challenge.
    #[must_use]
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![
            (CACHE_CONTROL, NO_STORE.to_owned()),
            (PRAGMA, NO_CACHE.to_owned()),
        ];
        h.extend(
            self.challenges
                .iter()
                .map(|c| (WWW_AUTHENTICATE, c.header_value())),
        );
        h
    }
}
