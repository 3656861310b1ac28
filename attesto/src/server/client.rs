//! Request intake and client authentication shared by the token, revocation
//! and introspection endpoints.
//!
//! * [`read_form`]: the `application/x-www-form-urlencoded` body
//!   ([RFC 6749 §3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2)),
//!   bounded in size and time, parsed strictly ([`Params`]); every failure is
//!   an OAuth JSON error (413 for an oversized body), never a plain-text
//!   framework rejection.
//! * [`authenticate`]: [`parse_credentials`] → the host's
//!   [`ClientRegistry::find_client`] → [`RegisteredClient`] →
//!   [`ClientAuthenticator::authenticate`]
//!   ([RFC 6749 §2.3](https://www.rfc-editor.org/rfc/rfc6749#section-2.3)).
//!   An unknown or revoked client fails exactly like a wrong secret;
//!   `invalid_client` is 401 with a `Basic` challenge only when the client
//!   tried the `Authorization` header
//!   ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)),
//!   400 otherwise; a registry failure is 503.

// `OAuthError` is the one error value of every endpoint step and is rendered
// once per request; boxing it would only add an allocation on every error.
#![allow(clippy::result_large_err)]

use std::future::poll_fn;
use std::pin::Pin;

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::{Host, Inner};
use crate::client_auth::{
    AuthenticatedClient, ClientAuthError, ClientAuthMethod, ClientAuthPolicy, ClientAuthReason,
    HashedSecret, PresentedCredentials, RegisteredClient, StoredSecret, parse_credentials,
};
use crate::clock::UnixTime;
use crate::error::{DEFAULT_BASIC_REALM, ErrorCode, OAuthError};
use crate::form::{FormError, FormLimits, Params};
use crate::host::{ClientKeys, ClientLookup, ClientRegistry, OAuthClient};
use crate::jose::JwkSet;
use crate::store::Stores;

/// The longest value of one form parameter, in bytes (client assertions and
/// refresh tokens fit comfortably).
const MAX_VALUE_LEN: usize = 16 * 1024;

/// The most form parameters accepted.
const MAX_PARAMS: usize = 64;

/// The form parameters that carry client credentials.
const CREDENTIAL_PARAMS: [&str; 4] = [
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

/// A backend (store or host) failure: the cause goes to the log only and
/// the client gets 503 `temporarily_unavailable`.
pub(crate) fn backend_error(err: &dyn std::error::Error) -> OAuthError {
    tracing::error!(target: "attesto::server", error = %err, "backend unavailable");
    OAuthError::new(ErrorCode::TemporarilyUnavailable)
        .with_description("the server is temporarily unavailable")
}

/// Whether the request's `Content-Type` is `application/x-www-form-urlencoded`
/// (parameters such as `charset` allowed, names case-insensitive).
fn is_form_content_type(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn form_error(e: &FormError) -> OAuthError {
    let description = match e {
        FormError::Duplicate(_) => "request parameters must not be repeated",
        FormError::BadEncoding => "malformed percent-encoding in the request body",
        FormError::InvalidUtf8 => "request parameters must be UTF-8",
        FormError::TooLarge => "request too large",
        FormError::ControlCharacter => "request parameters must not contain control characters",
    };
    OAuthError::invalid_request(description)
}

fn too_large() -> OAuthError {
    OAuthError::invalid_request("request body too large").with_status(413)
}

/// Read the whole body, at most `limit` bytes, within `timeout`.
async fn read_body(
    mut body: Body,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Vec<u8>, OAuthError> {
    let read = async {
        let mut out = Vec::new();
        while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            let frame =
                frame.map_err(|_| OAuthError::invalid_request("unreadable request body"))?;
            if let Ok(data) = frame.into_data() {
                if out.len().saturating_add(data.len()) > limit {
                    return Err(too_large());
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(out)
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| {
            Err(OAuthError::invalid_request(
                "the request body was not received in time",
            ))
        })
}

/// Take a form POST apart: check the content type, refuse OAuth parameters in
/// the query string (they belong in the body, RFC 6749 §3.2 / RFC 9700
/// §4.3.3), read the body within the configured size and time limits and
/// parse it strictly. `multi` names the parameters allowed to repeat.
pub(crate) async fn read_form<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    req: Request,
    multi: &[&str],
) -> Result<(Parts, Params), OAuthError> {
    let (parts, body) = req.into_parts();
    if !is_form_content_type(&parts.headers) {
        return Err(OAuthError::invalid_request(
            "the content type must be application/x-www-form-urlencoded",
        ));
    }
    if let Some(query) = parts.uri.query()
        && url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| is_body_only(&k))
    {
        return Err(OAuthError::invalid_request(
            "OAuth parameters must be sent in the request body, not the query string",
        ));
    }
    let limit = inner.cfg.max_body_bytes;
    if let Some(len) = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > u64::try_from(limit).unwrap_or(u64::MAX)
    {
        return Err(too_large());
    }
    let bytes = read_body(body, limit, inner.cfg.request_timeout).await?;
    if bytes.is_empty() {
        return Err(OAuthError::invalid_request("the request body is empty"));
    }
    let limits = FormLimits {
        max_params: MAX_PARAMS,
        max_value_len: MAX_VALUE_LEN.min(limit),
        max_body_len: limit,
    };
    let params = Params::parse_with_multi(&bytes, limits, multi).map_err(|e| form_error(&e))?;
    Ok((parts, params))
}

/// Parameters that must never travel in the query string of a back-channel
/// endpoint.
fn is_body_only(name: &str) -> bool {
    matches!(
        name,
        "grant_type"
            | "client_id"
            | "client_secret"
            | "client_assertion"
            | "client_assertion_type"
            | "scope"
            | "code"
            | "code_verifier"
            | "redirect_uri"
            | "refresh_token"
            | "resource"
            | "token"
            | "token_type_hint"
    )
}

/// An authenticated client: the host's model and how it authenticated.
pub(crate) struct Authenticated<C> {
    /// The host's client.
    pub(crate) client: C,
    /// The authentication result (client id, method, assertion).
    pub(crate) auth: AuthenticatedClient,
}

impl<C> Authenticated<C> {
    /// The authenticated client id.
    pub(crate) fn client_id(&self) -> &str {
        &self.auth.client_id
    }
}

/// A failed client authentication, with the client id the request named
/// (for audit events) when there was one.
pub(crate) struct AuthFailure {
    /// The error to send.
    pub(crate) error: OAuthError,
    /// The presented (unauthenticated) client id, if any.
    pub(crate) client_id: Option<String>,
}

/// Render a client-authentication error per RFC 6749 §5.2: one generic
/// description per code; 401 + `Basic` challenge only after an
/// `Authorization`-header attempt; a failing replay store is 503.
pub(crate) fn client_auth_error(e: &ClientAuthError) -> OAuthError {
    tracing::info!(target: "attesto::client_auth", reason = %e.reason(), "client authentication failed");
    if let ClientAuthReason::Unavailable(cause) = e.reason() {
        return backend_error(cause.as_ref());
    }
    let code = match e.error_code() {
        "invalid_request" => ErrorCode::InvalidRequest,
        "server_error" => ErrorCode::ServerError,
        _ => ErrorCode::InvalidClient,
    };
    let err = OAuthError::new(code).with_description(e.error_description());
    if e.via_authorization_header() {
        err.client_auth_via_header(DEFAULT_BASIC_REALM)
    } else {
        err
    }
}

/// The credential parameters of the form, as `parse_credentials` takes them.
fn credential_pairs(params: &Params) -> Vec<(&'static str, &str)> {
    CREDENTIAL_PARAMS
        .iter()
        .filter_map(|name| params.get(name).map(|v| (*name, v)))
        .collect()
}

/// Every `Authorization` header value; a value that is not visible ASCII is
/// passed on as an empty (unusable) Basic attempt, so it still earns the
/// 401 + challenge of a failed header authentication.
fn authorization_values(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .map(|v| v.to_str().unwrap_or(""))
        .collect()
}

/// The client's stored secret, in the form the authenticator compares.
fn stored_secret<C: OAuthClient>(client: &C) -> Option<StoredSecret> {
    let stored = client.client_secret_hash()?;
    match HashedSecret::from_stored(stored) {
        Ok(h) => Some(StoredSecret::Hashed(h)),
        Err(_) => {
            tracing::warn!(
                target: "attesto::client_auth",
                client_id = &*client.client_id(),
                "client secret hash is not an attesto hash; the client cannot authenticate with a secret"
            );
            None
        }
    }
}

/// The client's JWK Set for `private_key_jwt`, when it holds one inline.
fn client_jwks<C: OAuthClient>(client: &C) -> Option<JwkSet> {
    let parsed = match client.keys() {
        ClientKeys::Inline(v) => JwkSet::from_value(&v),
        ClientKeys::InlineJson(s) => JwkSet::from_json(&s),
        ClientKeys::Uri(_) => {
            tracing::warn!(
                target: "attesto::client_auth",
                client_id = &*client.client_id(),
                "jwks_uri clients are not supported yet; private_key_jwt fails for this client"
            );
            return None;
        }
        _ => return None,
    };
    match parsed {
        Ok(set) => Some(set),
        Err(e) => {
            tracing::warn!(
                target: "attesto::client_auth",
                client_id = &*client.client_id(),
                error = %e,
                "the client's JWK Set is unusable"
            );
            None
        }
    }
}

/// A back-channel request about one token (RFC 7009 revocation, RFC 7662
/// introspection): the strictly parsed form, the authenticated client, and
/// the required `token` parameter.
pub(crate) struct TokenRequest<C> {
    /// The request head (headers for content negotiation).
    pub(crate) parts: Parts,
    /// The parsed form.
    pub(crate) params: Params,
    /// The authenticated client.
    pub(crate) client: Authenticated<C>,
}

impl<C> TokenRequest<C> {
    /// The `token` parameter (checked present by [`read_token_request`]).
    pub(crate) fn token(&self) -> &str {
        self.params.get("token").unwrap_or_default()
    }
}

/// The shared intake of the revocation and introspection endpoints: read the
/// form, authenticate the client under `policy`, require `token`.
pub(crate) async fn read_token_request<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    req: Request,
    policy: &ClientAuthPolicy,
    now: UnixTime,
) -> Result<TokenRequest<<H as ClientRegistry>::Client>, OAuthError> {
    let (parts, params) = read_form(inner, req, &[]).await?;
    let client = authenticate(inner, &parts.headers, &params, policy, now)
        .await
        .map_err(|f| f.error)?;
    if params.get("token").is_none() {
        return Err(OAuthError::invalid_request("token is required"));
    }
    Ok(TokenRequest {
        parts,
        params,
        client,
    })
}

/// Authenticate the client of a back-channel request; see the
/// [module docs](self).
pub(crate) async fn authenticate<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    headers: &HeaderMap,
    params: &Params,
    policy: &ClientAuthPolicy,
    now: UnixTime,
) -> Result<Authenticated<<H as ClientRegistry>::Client>, AuthFailure> {
    let authorization = authorization_values(headers);
    let presented =
        parse_credentials(&authorization, &credential_pairs(params)).map_err(|e| AuthFailure {
            error: client_auth_error(&e),
            client_id: params.get("client_id").map(str::to_owned),
        })?;
    let fail = |presented: &PresentedCredentials, error: OAuthError| AuthFailure {
        error,
        client_id: Some(presented.client_id().to_owned()),
    };
    let lookup = inner
        .host
        .find_client(presented.client_id())
        .await
        .map_err(|e| fail(&presented, backend_error(&e)))?;
    let client = match lookup {
        ClientLookup::Found(c) => Some(c),
        ClientLookup::Revoked => {
            tracing::info!(target: "attesto::client_auth", client_id = presented.client_id(), "revoked client");
            None
        }
        _ => None,
    };
    let result = match &client {
        Some(c) => {
            let methods: [ClientAuthMethod; 1] = [c.token_endpoint_auth_method()];
            let secret = stored_secret(c);
            let jwks = if methods.contains(&ClientAuthMethod::PrivateKeyJwt) {
                client_jwks(c)
            } else {
                None
            };
            let id = c.client_id();
            let mut registered = RegisteredClient::new(&id, &methods);
            if let Some(s) = &secret {
                registered = registered.with_secret(s);
            }
            if let Some(j) = &jwks {
                registered = registered.with_jwks(j);
            }
            inner
                .client_auth
                .authenticate(&presented, Some(&registered), policy, &inner.replay, now)
                .await
        }
        None => {
            inner
                .client_auth
                .authenticate(&presented, None, policy, &inner.replay, now)
                .await
        }
    };
    match (result, client) {
        (Ok(auth), Some(client)) => Ok(Authenticated { client, auth }),
        (Err(e), _) => Err(fail(&presented, client_auth_error(&e))),
        (Ok(_), None) => Err(fail(
            &presented,
            OAuthError::invalid_client("client authentication failed"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn form_content_type_allows_parameters_and_case() {
        let mut h = HeaderMap::new();
        for (v, ok) in [
            ("application/x-www-form-urlencoded", true),
            ("Application/X-WWW-Form-URLencoded; charset=UTF-8", true),
            ("application/json", false),
            ("text/plain", false),
            ("application/x-www-form-urlencodedx", false),
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(v));
            assert_eq!(is_form_content_type(&h), ok, "{v}");
        }
        h.append(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert!(!is_form_content_type(&h), "two content types");
        assert!(!is_form_content_type(&HeaderMap::new()));
    }

    #[test]
    fn credentials_in_the_query_string_are_body_only() {
        assert!(is_body_only("client_secret"));
        assert!(is_body_only("grant_type"));
        assert!(!is_body_only("foo"));
    }
}
