//! The demo's HTML: the login and consent pages and their form handlers.
//!
//! Every value interpolated into HTML goes through [`escape`]. Every POST
//! carries the session's CSRF token, compared in constant time; a missing
//! session or a wrong token is 403. The `return_to` a form posts is only
//! ever followed when it is a same-origin path into the authorization
//! endpoint, so the forms cannot be turned into an open redirect.

use std::fmt::Write as _;
use std::sync::Arc;

use attesto::form::Params;
use attesto::secret::Secret;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::host::{Shared, now};

/// Escape text for an HTML body or a double-quoted attribute.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.5rem 1.2rem;margin-right:.5rem}.error{color:#b00020}.muted{color:#666;font-size:.9rem}code{background:#f3f3f3;padding:0 .2rem}";

/// A complete HTML page with the demo's security headers.
pub(crate) fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        escape(title)
    );
    let mut resp = Response::new(Body::from(page));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

fn error_page(status: StatusCode, message: &str) -> Response {
    html(
        status,
        "Error",
        &format!(
            "<h1>Something went wrong</h1><p class=\"error\">{}</p>",
            escape(message)
        ),
    )
}

fn forbidden() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "This form has expired or was not sent by this site. Go back to the application and start again.",
    )
}

fn set_cookie(resp: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut resp = StatusCode::SEE_OTHER.into_response();
            resp.headers_mut().insert(header::LOCATION, v);
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(_) => error_page(StatusCode::BAD_REQUEST, "invalid return address"),
    }
}

/// `return_to` if it is a same-origin path into the authorization endpoint:
/// exactly the authorize path, optionally followed by a query; printable
/// ASCII only, no fragment, no backslash.
pub(crate) fn safe_return_to<'a>(shared: &Shared, return_to: &'a str) -> Option<&'a str> {
    let rest = return_to.strip_prefix(shared.authorize_path.as_str())?;
    let ok = (rest.is_empty() || rest.starts_with('?'))
        && return_to.len() <= 8192
        && return_to
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'#' && b != b'\\');
    ok.then_some(return_to)
}

/// The login page for a request that will resume at `resume`, the username
/// field prefilled with `username` (the untrusted `login_hint`, or what was
/// typed). Creates the browser session (and sets its cookie) when there is
/// none yet.
pub(crate) fn login_page(
    shared: &Shared,
    headers: &HeaderMap,
    resume: &str,
    client_name: Option<&str>,
    username: Option<&str>,
    error: Option<&str>,
) -> Response {
    let mut new_cookie = None;
    let csrf = match shared.with_session(headers, |s| s.csrf.clone()) {
        Some(csrf) => csrf,
        None => {
            let mut csrf = None;
            let Some(id) = shared.create_session(|s| csrf = Some(s.csrf.clone())) else {
                return error_page(StatusCode::SERVICE_UNAVAILABLE, "could not start a session");
            };
            new_cookie = Some(shared.session_cookie(&id));
            match csrf {
                Some(c) => c,
                None => {
                    return error_page(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "could not start a session",
                    );
                }
            }
        }
    };
    let mut body = String::from("<h1>Sign in</h1>");
    if let Some(name) = client_name {
        let _ = write!(
            body,
            "<p>to continue to <strong>{}</strong></p>",
            escape(name)
        );
    }
    if let Some(err) = error {
        let _ = write!(
            body,
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(err)
        );
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/login\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<input type=\"hidden\" name=\"return_to\" value=\"{}\">\
<label for=\"username\">Username</label><input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" required autofocus>\
<label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Sign in</button></form>\
<p class=\"muted\">attesto demo: the user is <code>{}</code> (the password was printed at start).</p>",
        escape(csrf.expose()),
        escape(resume),
        escape(username.unwrap_or("")),
        escape(shared.user()),
    );
    let mut resp = html(StatusCode::OK, "Sign in", &body);
    if let Some(cookie) = new_cookie {
        set_cookie(&mut resp, &cookie);
    }
    resp
}

/// What each scope means, for the consent page.
fn describe_scope(scope: &str) -> &'static str {
    match scope {
        "openid" => "Sign you in (your user identifier)",
        "profile" => "Your name and username",
        "email" => "Your email address",
        "offline_access" => "Stay signed in (refresh tokens)",
        "api.read" => "Read your data through the demo API",
        "api.write" => "Change your data through the demo API",
        _ => "",
    }
}

/// The consent page: the client, the scopes, approve or deny.
pub(crate) fn consent_page(
    csrf: &Secret,
    resume: &str,
    client_name: &str,
    scopes: &[String],
    user: &str,
) -> Response {
    let mut list = String::new();
    for s in scopes {
        let what = describe_scope(s);
        if what.is_empty() {
            let _ = write!(list, "<li><code>{}</code></li>", escape(s));
        } else {
            let _ = write!(
                list,
                "<li><code>{}</code> — {}</li>",
                escape(s),
                escape(what)
            );
        }
    }
    if list.is_empty() {
        list.push_str("<li>No scopes (basic access only)</li>");
    }
    let body = format!(
        "<h1>Authorize {name}</h1>\
<p><strong>{name}</strong> wants to access your account <code>{user}</code>:</p>\
<ul id=\"scopes\">{list}</ul>\
<form method=\"post\" action=\"/consent\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<input type=\"hidden\" name=\"return_to\" value=\"{resume}\">\
<button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        name = escape(client_name),
        user = escape(user),
        csrf = escape(csrf.expose()),
        resume = escape(resume),
    );
    html(StatusCode::OK, "Authorize", &body)
}

/// Parse a form body; `None` for anything malformed (duplicates, bad UTF-8, …).
fn form(headers: &HeaderMap, body: &[u8]) -> Option<Params> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = ct.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return None;
    }
    Params::parse(body).ok()
}

/// The session's CSRF token matches the form's (constant time)?
fn csrf_ok(session_csrf: &Secret, form: &Params) -> bool {
    form.get("csrf")
        .is_some_and(|presented| session_csrf.ct_eq_str(presented))
}

/// `POST /login`: check the CSRF token and the password, then resume.
pub(crate) async fn post_login(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(form) = form(&headers, &body) else {
        return error_page(StatusCode::BAD_REQUEST, "malformed form");
    };
    let Some(true) = shared.with_session(&headers, |s| csrf_ok(&s.csrf, &form)) else {
        return forbidden();
    };
    let Some(return_to) = form
        .get("return_to")
        .and_then(|r| safe_return_to(&shared, r))
    else {
        return error_page(StatusCode::BAD_REQUEST, "invalid return address");
    };
    let username = form.get("username").unwrap_or("");
    let password = form.get("password").unwrap_or("");
    if !shared.check_password(username, password) {
        tracing::info!(target: "attesto_demo", "failed login");
        let mut resp = login_page(
            &shared,
            &headers,
            return_to,
            None,
            Some(username),
            Some("Invalid username or password."),
        );
        *resp.status_mut() = StatusCode::OK;
        return resp;
    }
    let now = now();
    let user = shared.user().to_owned();
    let resume = return_to.to_owned();
    let Some(id) = shared.rotate_session(&headers, |s| {
        s.user = Some(user);
        s.auth_time = now;
        s.fresh_login = Some((resume, now));
    }) else {
        return error_page(StatusCode::SERVICE_UNAVAILABLE, "could not start a session");
    };
    tracing::info!(target: "attesto_demo", user = shared.user(), "login");
    let mut resp = see_other(return_to);
    set_cookie(&mut resp, &shared.session_cookie(&id));
    resp
}

enum ConsentPost {
    Recorded,
    NotPending,
    Forbidden,
}

/// `POST /consent`: record approve / deny for the pending request, then resume.
pub(crate) async fn post_consent(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(form) = form(&headers, &body) else {
        return error_page(StatusCode::BAD_REQUEST, "malformed form");
    };
    let Some(return_to) = form
        .get("return_to")
        .and_then(|r| safe_return_to(&shared, r))
    else {
        // Checked after the CSRF token below too; an invalid address is
        // never followed either way.
        return match shared.with_session(&headers, |s| csrf_ok(&s.csrf, &form)) {
            Some(true) => error_page(StatusCode::BAD_REQUEST, "invalid return address"),
            _ => forbidden(),
        };
    };
    let approve = match form.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return error_page(StatusCode::BAD_REQUEST, "choose approve or deny"),
    };
    let now = now();
    let outcome = shared.with_session(&headers, |s| {
        if !csrf_ok(&s.csrf, &form) || s.user.is_none() {
            return ConsentPost::Forbidden;
        }
        match s.pending_consent.take() {
            Some((resume, key)) if resume == return_to => {
                if approve {
                    s.consents.insert(key);
                }
                s.decision = Some((resume, approve, now));
                ConsentPost::Recorded
            }
            _ => ConsentPost::NotPending,
        }
    });
    match outcome {
        Some(ConsentPost::Recorded) => see_other(return_to),
        Some(ConsentPost::NotPending) => error_page(
            StatusCode::BAD_REQUEST,
            "no consent is pending for this request; go back to the application and start again",
        ),
        Some(ConsentPost::Forbidden) | None => forbidden(),
    }
}

/// `GET /`: what this server is and where to start.
pub(crate) async fn index(State(info): State<Arc<crate::Info>>) -> Response {
    let body = format!(
        "<h1>attesto demo</h1>\
<p>An OAuth 2.0 / OpenID Connect authorization server.</p>\
<ul><li>Issuer: <code>{issuer}</code></li>\
<li>Discovery: <code>{issuer}/.well-known/openid-configuration</code></li>\
<li>JWKS: <code>{issuer}/.well-known/jwks.json</code></li>\
<li>Registration: <code>POST {register}</code></li>\
<li>Protected API: <code>GET {api}</code></li>\
<li>Demo user: <code>{user}</code></li></ul>\
<p>Register a client, then send the browser to the authorization endpoint; see the README.</p>",
        issuer = escape(&info.issuer),
        register = escape(&info.register),
        api = escape(&info.api_me),
        user = escape(&info.user),
    );
    html(StatusCode::OK, "attesto demo", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralizes_markup() {
        assert_eq!(
            escape(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"
        );
    }
}
