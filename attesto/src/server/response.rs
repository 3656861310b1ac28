//! The one place protocol errors become HTTP responses.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{AuthenticationRequired, OAuthError};

fn append_headers(resp: &mut Response, headers: Vec<(&'static str, String)>) {
    let map = resp.headers_mut();
    for (name, value) in headers {
        // Values were sanitized by the error module; a value that still fails
        // HTTP validation is dropped rather than sent malformed.
        if let Ok(v) = HeaderValue::from_str(&value) {
            map.append(HeaderName::from_static(name), v);
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = Response::new(Body::from(self.json_body()));
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        append_headers(&mut resp, self.headers());
        resp
    }
}

impl IntoResponse for AuthenticationRequired {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = status;
        append_headers(&mut resp, self.headers());
        resp
    }
}

/// A JSON success response with `Cache-Control: no-store` (RFC 6749 §5.1).
pub(crate) fn no_store_json(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// A pre-serialized public document (discovery, JWKS) with a public cache policy.
pub(crate) fn public_json(body: axum::body::Bytes, content_type: &'static str) -> Response {
    let mut resp = Response::new(Body::from(body));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert(
        HeaderName::from_static("access-control-allow-origin"),
        HeaderValue::from_static("*"),
    );
    resp
}
