//! The authorization endpoint
//! ([RFC 6749 §3.1](https://www.rfc-editor.org/rfc/rfc6749#section-3.1),
//! [§4.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1),
//! [OIDC Core §3.1.2](https://openid.net/specs/openid-connect-core-1_0.html#AuthorizationEndpoint)).
//!
//! `GET` reads the query, `POST` an `application/x-www-form-urlencoded`
//! body; both are parsed with the same strict rules ([`crate::form`]).
//!
//! Disposition of errors (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6):
//! until the client exists and the `redirect_uri` exactly matches one it
//! registered, nothing is redirected — the answer is a plain HTML error
//! page (400, no `Location`), so the endpoint is never an open redirector.
//! After that, every error is redirected to the `redirect_uri` with
//! `error`, `error_description`, `state` (verbatim) and `iss` (RFC 9207).
//! A backend failure is a 503 JSON error, never a redirect.
//!
//! Then the host's login and consent run ([`super::Interaction`]); either
//! may answer with its own response and re-enter through
//! [`AuthorizeContext::resume`]. The code is 32 random bytes (base64url),
//! stored only as its hash with everything the token endpoint needs
//! ([`AuthorizationCodeRecord`]).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use url::Url;

use super::resource::emit;
use super::{AuthorizeContext, GrantType, Host, Inner, ServerConfig};
use crate::error::{ErrorCode, OAuthError};
use crate::form::{FormError, FormLimits, Params};
use crate::host::{
    ClientLookup, ClientRegistry, ConsentOutcome, Event, EventName, InteractionRequired,
    LoginOptions, LoginOutcome, OAuthClient,
};
use crate::pkce::Pkce;
use crate::scope::ScopeSet;
use crate::store::{
    AuthorizationCodeRecord, AuthorizationCodeStore, Confirmation, Stores, TokenHash,
};

/// The most `resource` parameters one request may carry.
const MAX_RESOURCES: usize = 16;

/// The longest `nonce` accepted, in bytes.
const MAX_NONCE_LEN: usize = 512;

/// The longest `max_age` accepted (ten years, in seconds).
const MAX_MAX_AGE: u64 = 10 * 366 * 24 * 3600;

/// The routes of this endpoint: `GET` and `POST` on `paths.authorize`,
/// mounted only when the `authorization_code` grant is enabled (the
/// endpoint is advertised under the same condition).
pub(crate) fn routes<H: Host, S: Stores>(cfg: &ServerConfig) -> Router<Arc<Inner<H, S>>> {
    if !cfg.has_grant(GrantType::AuthorizationCode) {
        return Router::new();
    }
    Router::new().route(
        &cfg.paths.authorize,
        get(authorize_get::<H, S>).post(authorize_post::<H, S>),
    )
}

async fn authorize_get<H: Host, S: Stores>(
    State(s): State<Arc<Inner<H, S>>>,
    req: Request,
) -> Response {
    let (parts, _body) = req.into_parts();
    let query = parts.uri.query().unwrap_or("");
    let parsed = parse_params(query.as_bytes());
    let resume = if query.is_empty() {
        s.cfg.paths.authorize.clone()
    } else {
        format!("{}?{query}", s.cfg.paths.authorize)
    };
    authorize(&s, &parts, parsed, resume, StatusCode::FOUND).await
}

async fn authorize_post<H: Host, S: Stores>(
    State(s): State<Arc<Inner<H, S>>>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    if !is_form(&parts) {
        return error_page(
            &s,
            None,
            "the request body must be application/x-www-form-urlencoded",
        );
    }
    let limit = s.cfg.max_body_bytes.min(FormLimits::DEFAULT.max_body_len);
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return error_page(&s, None, "the request body is too large or unreadable");
    };
    let parsed = parse_params(&bytes);
    let resume = match &parsed {
        Ok((params, resources)) => {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in params.iter() {
                q.append_pair(k, v);
            }
            for r in resources {
                q.append_pair("resource", r);
            }
            format!("{}?{}", s.cfg.paths.authorize, q.finish())
        }
        Err(_) => s.cfg.paths.authorize.clone(),
    };
    authorize(&s, &parts, parsed, resume, StatusCode::SEE_OTHER).await
}

fn is_form(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Strict parameters ([`crate::form`]: duplicates, encoding, UTF-8, control
/// characters, limits), with `resource` allowed to repeat
/// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)); its
/// values are returned in request order, repeats dropped, at most
/// [`MAX_RESOURCES`].
fn parse_params(body: &[u8]) -> Result<(Params, Vec<String>), FormError> {
    let params = Params::parse_with_multi(body, FormLimits::DEFAULT, &["resource"])?;
    let mut resources: Vec<String> = Vec::new();
    for r in params.get_all("resource") {
        if !resources.iter().any(|x| x == r) {
            resources.push(r.to_owned());
        }
        if resources.len() > MAX_RESOURCES {
            return Err(FormError::TooLarge);
        }
    }
    Ok((params, resources))
}

/// Where errors go once the client and redirect URI are trusted.
struct Redirect<'a> {
    uri: Url,
    state: Option<&'a str>,
    iss: &'a str,
    status: StatusCode,
}

impl Redirect<'_> {
    fn error(&self, err: &OAuthError) -> Response {
        redirect_response(
            &err.redirect_url(&self.uri, self.state, Some(self.iss)),
            self.status,
        )
    }

    fn code(&self, code: &str) -> Response {
        let mut url = self.uri.clone();
        url.set_fragment(None);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("code", code);
            if let Some(s) = self.state {
                q.append_pair("state", s);
            }
            q.append_pair("iss", self.iss);
        }
        redirect_response(&url, self.status)
    }
}

fn redirect_response(url: &Url, status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        h.insert(header::LOCATION, v);
    }
    no_store(h);
    resp
}

fn no_store(h: &mut axum::http::HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The validated request, ready for login and consent.
struct Validated {
    scopes: Vec<String>,
    challenge: String,
    nonce: Option<String>,
    resources: Vec<String>,
    options: LoginOptions,
    dpop_jkt: Option<String>,
}

async fn authorize<H: Host, S: Stores>(
    s: &Inner<H, S>,
    parts: &Parts,
    parsed: Result<(Params, Vec<String>), FormError>,
    resume: String,
    status: StatusCode,
) -> Response {
    let (params, resources) = match parsed {
        Ok(p) => p,
        Err(e) => return error_page(s, None, &e.to_string()),
    };
    let Some(client_id) = params.get("client_id") else {
        return error_page(s, None, "the client_id parameter is missing");
    };
    let client = match s.host.find_client(client_id).await {
        Ok(ClientLookup::Found(c)) => c,
        Ok(_) => return error_page(s, None, "the client is unknown"),
        Err(e) => return super::unavailable(&e),
    };
    let client_id = client.client_id();
    let client_id: &str = &client_id;
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return error_page(s, Some(client_id), "the redirect_uri parameter is missing");
    };
    if !client.has_redirect_uri(redirect_uri) {
        return error_page(
            s,
            Some(client_id),
            "the redirect_uri is not registered for this client",
        );
    }
    let Some(uri) = Url::parse(redirect_uri)
        .ok()
        .filter(|u| u.fragment().is_none() && !u.cannot_be_a_base())
    else {
        return error_page(
            s,
            Some(client_id),
            "the registered redirect_uri is unusable",
        );
    };
    let redirect = Redirect {
        uri,
        state: params.get("state"),
        iss: &s.cfg.issuer,
        status,
    };
    let fail = |err: OAuthError| {
        let mut e = Event::new(EventName::AuthorizationFailed);
        e.client_id = Some(client_id.to_owned());
        e.result = Some(static_code(err.code()));
        emit(&*s.events, &e);
        tracing::info!(target: "attesto::authorize", client_id, error = err.code().as_str(), "authorization request refused");
        redirect.error(&err)
    };

    let req = match validate(s, &client, &params, resources) {
        Ok(r) => r,
        Err(err) => return fail(err),
    };

    let ctx = AuthorizeContext {
        parts,
        client_id,
        redirect_uri,
        scopes: &req.scopes,
        resources: &req.resources,
        options: &req.options,
        login_hint: params.get("login_hint"),
        resume: &resume,
    };
    let authn = match s.host.login(&ctx).await {
        LoginOutcome::Authenticated(a) => a,
        LoginOutcome::Respond(resp) if !req.options.no_interaction => return host_response(resp),
        LoginOutcome::Respond(_) => {
            return fail(OAuthError::login_required("the end-user must authenticate"));
        }
        LoginOutcome::InteractionRequired(kind) => return fail(interaction_error(kind)),
    };
    let subject = match s.cfg.user_kind.subject(&authn.subject_id) {
        Ok(sub) => sub,
        Err(e) => {
            tracing::error!(target: "attesto::authorize", error = %e, "the host authenticated an invalid subject id");
            return fail(OAuthError::server_error(
                "the end-user could not be identified",
            ));
        }
    };
    let now = s.clock.now();
    if let Some(max_age) = req.options.max_age {
        // OIDC Core §3.1.2.1: with max_age the ID token must carry
        // auth_time, and an authentication older than max_age must be
        // redone. The host is told (`LoginOptions::max_age`); it is checked here.
        let Some(auth_time) = authn.auth_time else {
            tracing::error!(target: "attesto::authorize", "max_age was requested but the host reported no auth_time");
            return fail(OAuthError::server_error(
                "the authentication time is unknown",
            ));
        };
        let age = now.saturating_sub(auth_time);
        if u64::try_from(age).is_ok_and(|age| age > max_age) {
            return fail(OAuthError::login_required(
                "the authentication is older than max_age",
            ));
        }
    }

    let granted = match s.host.consent(&ctx, &authn).await {
        ConsentOutcome::Granted(list) => list,
        ConsentOutcome::Respond(resp) if !req.options.no_interaction => {
            return host_response(resp);
        }
        ConsentOutcome::Respond(_) => {
            return fail(OAuthError::consent_required("the end-user must consent"));
        }
        ConsentOutcome::Denied => return denied(s, &redirect, client_id, subject.as_str()),
    };
    // Consent may narrow, never widen.
    let scope: Vec<String> = req
        .scopes
        .iter()
        .filter(|r| granted.contains(r))
        .cloned()
        .collect();
    if scope.is_empty() {
        return denied(s, &redirect, client_id, subject.as_str());
    }

    let code = match s.rng.token(32) {
        Ok(c) => c,
        Err(e) => return super::unavailable(&e),
    };
    let ttl = i64::try_from(s.cfg.code_ttl.as_secs()).unwrap_or(600);
    let record = AuthorizationCodeRecord {
        code_hash: TokenHash::of(&code),
        client_id: client_id.to_owned(),
        redirect_uri: Some(redirect_uri.to_owned()),
        scope,
        code_challenge: Some(req.challenge),
        nonce: req.nonce,
        // The host's local id (the token endpoint applies the user kind's
        // prefix); validated against the kind above.
        subject: authn.subject_id.clone(),
        auth_time: authn.auth_time,
        acr: authn.acr.clone(),
        amr: authn.amr.clone(),
        sid: authn.sid.clone(),
        resource: req.resources,
        confirmation: req
            .dpop_jkt
            .map_or_else(Confirmation::none, Confirmation::dpop),
        claims: None,
        issued_at: now,
        expires_at: now.saturating_add(ttl),
    };
    let scope_str = record.scope.join(" ");
    if let Err(e) = s.stores.authorization_codes().insert(record).await {
        return super::unavailable(&e);
    }
    let mut e = Event::new(EventName::CodeIssued);
    e.client_id = Some(client_id.to_owned());
    e.subject = Some(subject.as_str().to_owned());
    e.scope = Some(scope_str);
    e.grant_type = Some(GrantType::AuthorizationCode.as_str().to_owned());
    emit(&*s.events, &e);
    tracing::info!(target: "attesto::authorize", client_id, "authorization code issued");
    redirect.code(&code)
}

fn denied<H: Host, S: Stores>(
    s: &Inner<H, S>,
    redirect: &Redirect<'_>,
    client_id: &str,
    subject: &str,
) -> Response {
    let mut e = Event::new(EventName::AuthorizationDenied);
    e.client_id = Some(client_id.to_owned());
    e.subject = Some(subject.to_owned());
    e.result = Some("access_denied");
    emit(&*s.events, &e);
    tracing::info!(target: "attesto::authorize", client_id, "authorization denied by the resource owner");
    redirect.error(&OAuthError::access_denied(
        "the resource owner denied the request",
    ))
}

fn interaction_error(kind: InteractionRequired) -> OAuthError {
    match kind {
        InteractionRequired::Login => OAuthError::login_required("the end-user must authenticate"),
        InteractionRequired::Consent => OAuthError::consent_required("the end-user must consent"),
        InteractionRequired::AccountSelection => {
            OAuthError::account_selection_required("the end-user must select an account")
        }
        InteractionRequired::Interaction => {
            OAuthError::interaction_required("the end-user must interact")
        }
    }
}

/// The host's own response, passed through; `Cache-Control: no-store` is
/// added only when the host set no cache policy.
fn host_response(mut resp: Response) -> Response {
    if !resp.headers().contains_key(header::CACHE_CONTROL) {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Every check after the client and redirect URI are trusted, in order.
// An error ends the request once; boxing it would only add an allocation.
#[allow(clippy::result_large_err)]
fn validate<H: Host, S: Stores>(
    s: &Inner<H, S>,
    client: &<H as ClientRegistry>::Client,
    params: &Params,
    resources: Vec<String>,
) -> Result<Validated, OAuthError> {
    if params.contains("request") {
        return Err(OAuthError::request_not_supported(
            "request objects are not supported",
        ));
    }
    if params.contains("request_uri") {
        return Err(OAuthError::request_uri_not_supported(
            "request_uri is not supported",
        ));
    }
    if params.contains("registration") {
        return Err(OAuthError::registration_not_supported(
            "the registration parameter is not supported",
        ));
    }
    match params.get("response_type") {
        None => {
            return Err(OAuthError::invalid_request(
                "the response_type parameter is missing",
            ));
        }
        Some("code") => {}
        Some(_) => {
            return Err(OAuthError::unsupported_response_type(
                "only response_type=code is supported",
            ));
        }
    }
    if !client.response_types().iter().any(|t| t == "code") {
        return Err(OAuthError::unauthorized_client(
            "the client may not use response_type=code",
        ));
    }
    if !client.allows_grant(GrantType::AuthorizationCode.as_str()) {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the authorization_code grant",
        ));
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(OAuthError::invalid_request(
            "only response_mode=query is supported",
        ));
    }

    // PKCE is mandatory, S256 only (RFC 9700 §2.1.1).
    let challenge = match Pkce::from_authorization_request(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        Ok(Some(p)) => p.challenge.as_str().to_owned(),
        Ok(None) => {
            return Err(OAuthError::invalid_request(
                "code_challenge is required (PKCE, S256)",
            ));
        }
        Err(e) => return Err(e.into()),
    };

    let scopes = scopes(s, client, params.get("scope"))?;

    // RFC 8707 §2: absolute URIs without fragment, each allowed.
    for r in &resources {
        let well_formed = Url::parse(r).is_ok_and(|u| u.fragment().is_none()) && !r.contains('#');
        if !well_formed {
            return Err(OAuthError::invalid_target(
                "a resource must be an absolute URI without a fragment",
            ));
        }
        if *r != s.cfg.default_resource && !s.host.resource_allowed(&client.client_id(), r) {
            return Err(OAuthError::invalid_target(
                "the resource is not allowed for this client",
            ));
        }
    }

    let mut options = LoginOptions::default();
    if let Some(prompt) = params.get("prompt") {
        let mut count = 0usize;
        for value in prompt.split(' ') {
            count += 1;
            match value {
                "none" => options.no_interaction = true,
                "login" => options.force_reauthentication = true,
                "consent" => options.force_consent = true,
                "select_account" => options.select_account = true,
                _ => {
                    return Err(OAuthError::invalid_request("unsupported prompt value"));
                }
            }
        }
        if options.no_interaction && count > 1 {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
    }
    if let Some(max_age) = params.get("max_age") {
        let parsed = (max_age.len() <= 12 && max_age.bytes().all(|b| b.is_ascii_digit()))
            .then(|| max_age.parse::<u64>().ok())
            .flatten()
            .filter(|m| *m <= MAX_MAX_AGE);
        match parsed {
            Some(m) => options.max_age = Some(m),
            None => {
                return Err(OAuthError::invalid_request(
                    "max_age must be a non-negative integer",
                ));
            }
        }
    }

    let nonce = params.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE_LEN) {
        return Err(OAuthError::invalid_request("the nonce is too long"));
    }

    // RFC 9449 §10: bind the code to a DPoP key.
    let dpop_jkt = match params.get("dpop_jkt") {
        None => None,
        Some(_) if !s.cfg.dpop.enabled => {
            return Err(OAuthError::invalid_request("DPoP is not supported"));
        }
        Some(jkt) if is_sha256_b64url(jkt) => Some(jkt.to_owned()),
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "dpop_jkt must be a base64url SHA-256 JWK thumbprint",
            ));
        }
    };

    Ok(Validated {
        scopes,
        challenge,
        nonce,
        resources,
        options,
        dpop_jkt,
    })
}

/// The requested scope, decided by the host's [`ScopePolicy`](crate::host::ScopePolicy)
/// (by default: every scope in the catalog, with wildcards, and in the
/// client's allowed scopes; RFC 6749 §3.3). No scope is `invalid_scope`:
/// the server has no default scope to fall back to.
#[allow(clippy::result_large_err)] // as `validate`
fn scopes<H: Host, S: Stores>(
    s: &Inner<H, S>,
    client: &<H as ClientRegistry>::Client,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    let requested = ScopeSet::from_param(requested)?;
    if requested.is_empty() {
        return Err(OAuthError::invalid_scope("the scope parameter is required"));
    }
    let requested: Vec<&str> = requested.as_strs().collect();
    super::decide_scope(&s.host, &s.token_ep.scopes, client, &requested)
}

fn is_sha256_b64url(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The codes this endpoint emits, as `'static` names for events.
fn static_code(code: &ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidRequest => "invalid_request",
        ErrorCode::UnauthorizedClient => "unauthorized_client",
        ErrorCode::UnsupportedResponseType => "unsupported_response_type",
        ErrorCode::InvalidScope => "invalid_scope",
        ErrorCode::InvalidTarget => "invalid_target",
        ErrorCode::AccessDenied => "access_denied",
        ErrorCode::LoginRequired => "login_required",
        ErrorCode::ConsentRequired => "consent_required",
        ErrorCode::InteractionRequired => "interaction_required",
        ErrorCode::AccountSelectionRequired => "account_selection_required",
        ErrorCode::RequestNotSupported => "request_not_supported",
        ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
        ErrorCode::RegistrationNotSupported => "registration_not_supported",
        _ => "server_error",
    }
}

/// The direct error page: the request cannot be trusted with a redirect
/// (unknown client, unregistered or missing redirect URI, unparseable
/// request). Plain HTML with every dynamic text escaped, `no-store`, a
/// restrictive CSP; 400, no `Location`.
fn error_page<H: Host, S: Stores>(
    s: &Inner<H, S>,
    client_id: Option<&str>,
    description: &str,
) -> Response {
    let mut e = Event::new(EventName::AuthorizationFailed);
    e.client_id = client_id.map(str::to_owned);
    e.result = Some("invalid_request");
    emit(&*s.events, &e);
    tracing::info!(target: "attesto::authorize", client_id, "authorization request refused without redirect");
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\
         <body><h1>This authorization request cannot be processed</h1>\
         <p>Error: <code>invalid_request</code></p><p>{}</p>\
         <p>Return to the application you came from and try again.</p></body></html>\n",
        escape_html(description)
    );
    let mut resp = (StatusCode::BAD_REQUEST, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    no_store(h);
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// Escape text for an HTML text node or quoted attribute.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn resource_may_repeat_other_parameters_may_not() {
        let (p, r) = parse_params(
            b"resource=https%3A%2F%2Fa.example&client_id=x&resource=https://b.example",
        )
        .unwrap();
        assert_eq!(p.get("client_id"), Some("x"));
        assert_eq!(r, vec!["https://a.example", "https://b.example"]);
        assert_eq!(
            parse_params(b"client_id=x&client_id=y"),
            Err(FormError::Duplicate("client_id".into()))
        );
        let (_, r) =
            parse_params(b"re%73ource=https://c.example&resource=https://d.example").unwrap();
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn too_many_resources_are_refused() {
        let body: Vec<String> = (0..=MAX_RESOURCES)
            .map(|i| format!("resource=https://r{i}.example"))
            .collect();
        assert_eq!(
            parse_params(body.join("&").as_bytes()),
            Err(FormError::TooLarge)
        );
    }

    #[test]
    fn html_escaping_neutralises_markup() {
        assert_eq!(
            escape_html(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#x27;"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_params(&body);
        }

        #[test]
        fn escaped_text_has_no_markup(text in ".{0,64}") {
            let out = escape_html(&text);
            prop_assert!(!out.contains('<') && !out.contains('>') && !out.contains('"'));
        }
    }
}
