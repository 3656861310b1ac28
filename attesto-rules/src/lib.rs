//! The configuration rules of attesto, shared by the runtime builder
//! (`attesto::server::ServerConfig`) and the `#[authorization_server]` macro,
//! so each rule lives in exactly one place.
//!
//! This crate has no dependency on the runtime: the macro crate links it at
//! compile time to reject a configuration at `cargo build`, and the runtime
//! links it to reject the same configuration at `build()`.

pub mod claims;
pub mod plan;

pub use plan::{
    At, Callback, ConfigError, Endpoint, Feature, Grant, Plan, RequestObjectPolicy, RequestObjects,
    Ttl, check,
};

/// Why an issuer identifier was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// Not an absolute URL with a host.
    #[error("the issuer must be an absolute URL with a host (RFC 8414 §2)")]
    NotAbsolute,
    /// Not `https` (plain `http` is allowed only for loopback hosts).
    #[error(
        "the issuer must use https; http is allowed only on loopback for development (RFC 8414 §2)"
    )]
    NotHttps,
    /// Has a query or fragment.
    #[error("the issuer must not have a query or fragment (RFC 8414 §2)")]
    QueryOrFragment,
    /// Has user information.
    #[error("the issuer must not carry user information")]
    UserInfo,
}

/// Whether `host` is a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`).
#[must_use]
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => {
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Check an issuer identifier ([RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2)):
/// an absolute `https` URL with a host and no query or fragment. `http` is
/// accepted only for loopback hosts, for local development.
///
/// ```
/// use attesto_rules::{validate_issuer, IssuerError};
/// assert!(validate_issuer("https://id.example.com").is_ok());
/// assert!(validate_issuer("http://127.0.0.1:8080").is_ok());
/// assert_eq!(validate_issuer("http://id.example.com"), Err(IssuerError::NotHttps));
/// assert_eq!(validate_issuer("issuer.example"), Err(IssuerError::NotAbsolute));
/// assert_eq!(validate_issuer("https://id.example.com/?x=1"), Err(IssuerError::QueryOrFragment));
/// ```
///
/// # Errors
/// An [`IssuerError`] naming the broken rule.
pub fn validate_issuer(issuer: &str) -> Result<(), IssuerError> {
    let url = url::Url::parse(issuer).map_err(|_| IssuerError::NotAbsolute)?;
    let host = url.host().ok_or(IssuerError::NotAbsolute)?;
    if url.query().is_some()
        || url.fragment().is_some()
        || issuer.contains('?')
        || issuer.contains('#')
    {
        return Err(IssuerError::QueryOrFragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(IssuerError::UserInfo);
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&host) => Ok(()),
        _ => Err(IssuerError::NotHttps),
    }
}

/// Why a path prefix or endpoint path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Does not start with `/`.
    #[error("the path must be absolute (start with `/`)")]
    NotAbsolute,
    /// Ends with `/`.
    #[error("the path must not end with `/`")]
    TrailingSlash,
    /// Has a query or fragment.
    #[error("the path must not have a query or fragment")]
    QueryOrFragment,
    /// Has an empty, `.` or `..` segment, or a character outside RFC 3986 `pchar`.
    #[error("the path has an empty, dot, or invalid segment")]
    BadSegment,
}

/// Check a route prefix (`/oauth`) or endpoint path (`/oauth/token`). The
/// empty prefix means the host root. Usable in `const` context so a
/// generated configuration can be checked at compile time.
///
/// ```
/// use attesto_rules::{validate_path, PathError};
/// const _: () = assert!(validate_path("/oauth").is_ok());
/// assert!(validate_path("").is_ok());
/// assert_eq!(validate_path("oauth"), Err(PathError::NotAbsolute));
/// assert_eq!(validate_path("/oauth/"), Err(PathError::TrailingSlash));
/// assert_eq!(validate_path("/oauth?x"), Err(PathError::QueryOrFragment));
/// assert_eq!(validate_path("/a/../b"), Err(PathError::BadSegment));
/// ```
///
/// # Errors
/// A [`PathError`] naming the broken rule.
pub const fn validate_path(path: &str) -> Result<(), PathError> {
    let mut rest = path.as_bytes();
    match rest {
        [] => return Ok(()),
        [b'/'] | [.., b'/'] => return Err(PathError::TrailingSlash),
        [b'/', tail @ ..] => rest = tail,
        _ => return Err(PathError::NotAbsolute),
    }
    let mut seg_len = 0usize;
    let mut all_dots = true;
    loop {
        let at_end = rest.is_empty();
        match rest {
            [] | [b'/', ..] => {
                // a segment ended: it must be non-empty and not `.` or `..`
                if seg_len == 0 || (all_dots && seg_len <= 2) {
                    return Err(PathError::BadSegment);
                }
                seg_len = 0;
                all_dots = true;
            }
            [b'?' | b'#', ..] => return Err(PathError::QueryOrFragment),
            [c, ..] => {
                let c = *c;
                let pchar = c.is_ascii_alphanumeric()
                    || matches!(
                        c,
                        b'-' | b'.'
                            | b'_'
                            | b'~'
                            | b'!'
                            | b'$'
                            | b'&'
                            | b'\''
                            | b'('
                            | b')'
                            | b'*'
                            | b'+'
                            | b','
                            | b';'
                            | b'='
                            | b':'
                            | b'@'
                    );
                if !pchar {
                    return Err(PathError::BadSegment);
                }
                seg_len += 1;
                all_dots &= c == b'.';
            }
        }
        if at_end {
            return Ok(());
        }
        if let [_, tail @ ..] = rest {
            rest = tail;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_with_fragment_or_userinfo_is_refused() {
        assert_eq!(
            validate_issuer("https://id.example.com#x"),
            Err(IssuerError::QueryOrFragment)
        );
        assert_eq!(
            validate_issuer("https://u:p@id.example.com"),
            Err(IssuerError::UserInfo)
        );
        assert_eq!(
            validate_issuer("ftp://id.example.com"),
            Err(IssuerError::NotHttps)
        );
        assert!(validate_issuer("http://localhost:3000").is_ok());
        assert!(validate_issuer("http://[::1]:3000").is_ok());
        assert_eq!(
            validate_issuer("http://127.0.0.1.nip.io"),
            Err(IssuerError::NotHttps)
        );
    }

    #[test]
    fn paths_with_empty_or_dot_segments_are_refused() {
        for bad in ["//", "/a//b", "/.", "/..", "/a/./b", "/a b", "/a%2F"] {
            assert!(validate_path(bad).is_err(), "{bad}");
        }
        for good in ["/oauth", "/oauth/v1", "/a.b", "/..a", "/a..", "/x/token"] {
            assert!(validate_path(good).is_ok(), "{good}");
        }
    }
}
