//! `htu` normalization ([RFC 9449 §4.3](https://www.rfc-editor.org/rfc/rfc9449#section-4.3) step 9).

use url::Url;

/// Why a URI cannot be used as (or compared with) an `htu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HtuError {
    /// Not an absolute URI.
    #[error("not an absolute URI")]
    Unparseable,
    /// Only `http` and `https` targets are meaningful for DPoP.
    #[error("the URI scheme must be http or https")]
    Scheme,
    /// The URI has no host.
    #[error("the URI has no host")]
    NoHost,
    /// The URI carries user information (deprecated for http(s), RFC 9110 §4.2.4).
    #[error("the URI must not carry user information")]
    UserInfo,
    /// A proof's `htu` carries a query or fragment, which RFC 9449 §4.2 excludes.
    #[error("htu must not have a query or fragment")]
    QueryOrFragment,
}

/// Whether the URI being normalized comes from a proof (`htu` claim) or from
/// the server (the request's target URI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HtuSource {
    /// The `htu` claim: a query or fragment is an error (RFC 9449 §4.2:
    /// "without query and fragment parts").
    Proof,
    /// The request URI: query and fragment are dropped (RFC 9449 §4.3 step 9:
    /// "ignoring any query and fragment parts").
    Request,
}

/// The normalized form of an HTTP target URI, for comparing a proof's `htu`
/// with the request ([RFC 9449 §4.3](https://www.rfc-editor.org/rfc/rfc9449#section-4.3)):
/// syntax-based and scheme-based normalization of
/// [RFC 3986 §6.2.2–6.2.3](https://www.rfc-editor.org/rfc/rfc3986#section-6.2.2).
///
/// * scheme and host are lowercased (IDNA for non-ASCII hosts), the default
///   port is removed, an empty path becomes `/`, dot segments are resolved;
/// * percent-encodings of unreserved characters are decoded and the hex
///   digits of the others uppercased (`%7e` → `~`, `%2f` → `%2F`);
/// * nothing else in the path changes (no case folding, no trailing-slash
///   games);
/// * query and fragment are dropped.
///
/// ```
/// use attesto::dpop::normalize_htu;
/// assert_eq!(normalize_htu("HTTPS://Server.Example:443/Token?x=1").unwrap(), "https://server.example/Token");
/// assert_eq!(normalize_htu("http://a.example:8080").unwrap(), "http://a.example:8080/");
/// assert_eq!(normalize_htu("https://a.example/%7euser/x%2fy").unwrap(), "https://a.example/~user/x%2Fy");
/// assert!(normalize_htu("ftp://a.example/").is_err());
/// ```
///
/// # Errors
/// [`HtuError`] when the input is not an absolute `http(s)` URI with a host
/// and no user information.
pub fn normalize_htu(uri: &str) -> Result<String, HtuError> {
    normalize(uri, HtuSource::Request)
}

pub(crate) fn normalize(uri: &str, source: HtuSource) -> Result<String, HtuError> {
    let url = Url::parse(uri).map_err(|_| HtuError::Unparseable)?;
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(HtuError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HtuError::UserInfo);
    }
    if source == HtuSource::Proof && (url.query().is_some() || url.fragment().is_some()) {
        return Err(HtuError::QueryOrFragment);
    }
    let host = url.host_str().ok_or(HtuError::NoHost)?;
    if host.is_empty() {
        return Err(HtuError::NoHost);
    }
    let mut out = String::with_capacity(uri.len());
    out.push_str(scheme);
    out.push_str("://");
    out.push_str(host);
    // `Url::port` is `None` for the scheme's default port.
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    let path = url.path();
    if path.is_empty() {
        out.push('/');
    } else {
        normalize_percent_encoding(path, &mut out);
    }
    Ok(out)
}

/// RFC 3986 §6.2.2.1 (uppercase hex) and §6.2.2.2 (decode unreserved).
fn normalize_percent_encoding(path: &str, out: &mut String) {
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2))
            && let (Some(hv), Some(lv)) = (hex_val(h), hex_val(l))
        {
            let decoded = (hv << 4) | lv;
            if is_unreserved(decoded) {
                out.push(char::from(decoded));
            } else {
                out.push('%');
                out.push(char::from(h.to_ascii_uppercase()));
                out.push(char::from(l.to_ascii_uppercase()));
            }
            i += 3;
            continue;
        }
        // `Url::path` is ASCII (everything else is percent-encoded), so
        // byte-wise copying keeps it valid; fall back to the char for safety.
        if b.is_ascii() {
            out.push(char::from(b));
            i += 1;
        } else {
            let rest = path.get(i..).unwrap_or("");
            if let Some(c) = rest.chars().next() {
                out.push(c);
                i += c.len_utf8();
            } else {
                break;
            }
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_host_and_default_port_are_normalized() {
        for (a, b) in [
            (
                "https://SERVER.example/token",
                "https://server.example/token",
            ),
            (
                "HTTPS://server.example:443/token",
                "https://server.example/token",
            ),
            (
                "http://server.example:80/token",
                "http://server.example/token",
            ),
            (
                "https://server.example:8443/token",
                "https://server.example:8443/token",
            ),
            ("https://server.example", "https://server.example/"),
            (
                "https://server.example/a/./b/../c",
                "https://server.example/a/c",
            ),
            ("https://[::1]:443/x", "https://[::1]/x"),
        ] {
            assert_eq!(normalize(a, HtuSource::Proof).unwrap(), b, "{a}");
        }
    }

    #[test]
    fn path_case_is_preserved() {
        assert_ne!(
            normalize("https://a.example/Token", HtuSource::Proof).unwrap(),
            normalize("https://a.example/token", HtuSource::Proof).unwrap()
        );
        assert_ne!(
            normalize("https://a.example/token/", HtuSource::Proof).unwrap(),
            normalize("https://a.example/token", HtuSource::Proof).unwrap()
        );
    }

    #[test]
    fn percent_encoding_is_normalized() {
        assert_eq!(
            normalize("https://a.example/%41%2f%2F%7E", HtuSource::Proof).unwrap(),
            "https://a.example/A%2F%2F~"
        );
        // a stray percent stays as it is
        assert_eq!(
            normalize("https://a.example/100%", HtuSource::Proof).unwrap(),
            "https://a.example/100%"
        );
    }

    #[test]
    fn proof_htu_with_query_or_fragment_is_rejected_but_request_query_is_dropped() {
        assert_eq!(
            normalize("https://a.example/r?x=1", HtuSource::Proof),
            Err(HtuError::QueryOrFragment)
        );
        assert_eq!(
            normalize("https://a.example/r#f", HtuSource::Proof),
            Err(HtuError::QueryOrFragment)
        );
        assert_eq!(
            normalize("https://a.example/r?", HtuSource::Proof),
            Err(HtuError::QueryOrFragment)
        );
        assert_eq!(
            normalize("https://a.example/r?x=1#f", HtuSource::Request).unwrap(),
            "https://a.example/r"
        );
    }

    #[test]
    fn non_http_userinfo_and_relative_uris_are_rejected() {
        assert_eq!(
            normalize("/token", HtuSource::Proof),
            Err(HtuError::Unparseable)
        );
        assert_eq!(
            normalize("urn:x:y", HtuSource::Proof),
            Err(HtuError::Scheme)
        );
        assert_eq!(
            normalize("file:///etc/passwd", HtuSource::Proof),
            Err(HtuError::Scheme)
        );
        assert_eq!(
            normalize("https://user:pw@a.example/", HtuSource::Proof),
            Err(HtuError::UserInfo)
        );
        assert_eq!(normalize("", HtuSource::Proof), Err(HtuError::Unparseable));
    }
}
