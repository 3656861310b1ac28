//! Strict `application/x-www-form-urlencoded` parsing for OAuth requests.
//!
//! OAuth is stricter than HTML forms: request and response parameters
//! "MUST NOT be included more than once", and "parameters sent without a
//! value MUST be treated as if they were omitted"
//! ([RFC 6749 §3.1](https://www.rfc-editor.org/rfc/rfc6749#section-3.1),
//! [§3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2)). General-purpose
//! form decoders silently keep the last duplicate and replace invalid UTF-8
//! with U+FFFD; this one refuses both, and bounds the number and size of
//! parameters so no request can make the server do unbounded work.
//!
//! ```
//! use attesto::form::{FormError, Params};
//! let p = Params::parse(b"grant_type=authorization_code&code=abc%2B1&state=").unwrap();
//! assert_eq!(p.get("code"), Some("abc+1"));
//! assert_eq!(p.get("state"), None); // empty means absent
//! assert_eq!(Params::parse(b"code=a&code=b"), Err(FormError::Duplicate("code".into())));
//! ```

use std::collections::BTreeMap;

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FormLimits {
    /// Maximum number of parameters.
    pub max_params: usize,
    /// Maximum decoded length of one value, in bytes.
    pub max_value_len: usize,
    /// Maximum length of the whole encoded body, in bytes.
    pub max_body_len: usize,
}

impl FormLimits {
    /// 64 parameters, 8 KiB per value (request objects and assertions fit), 64 KiB in all.
    pub const DEFAULT: FormLimits = FormLimits {
        max_params: 64,
        max_value_len: 8 * 1024,
        max_body_len: 64 * 1024,
    };
}

impl Default for FormLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a form body was refused. Every variant is an `invalid_request`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// A parameter occurs more than once.
    #[error("parameter `{0}` is repeated")]
    Duplicate(String),
    /// Malformed percent-encoding.
    #[error("malformed percent-encoding")]
    BadEncoding,
    /// A name or value is not UTF-8 once decoded.
    #[error("parameters must be UTF-8")]
    InvalidUtf8,
    /// Too many parameters, a value too long, or the body too large.
    #[error("request too large")]
    TooLarge,
    /// A name or value contains a control character (NUL, CR, LF, …).
    #[error("parameters must not contain control characters")]
    ControlCharacter,
}

/// Parsed OAuth parameters: unique names, non-empty values.
///
/// A few parameters are defined to repeat, e.g. `resource`
/// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)); only
/// names passed explicitly to [`Params::parse_with_multi`] may, and they are
/// read through [`Params::get_all`], never through [`Params::get`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>, BTreeMap<String, Vec<String>>);

impl Params {
    /// Parse with [`FormLimits::DEFAULT`].
    ///
    /// # Errors
    /// See [`FormError`].
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        Self::parse_with(body, FormLimits::DEFAULT)
    }

    /// Parse with explicit limits.
    ///
    /// # Errors
    /// See [`FormError`].
    pub fn parse_with(body: &[u8], limits: FormLimits) -> Result<Self, FormError> {
        Self::parse_with_multi(body, limits, &[])
    }

    /// Parse with explicit limits, letting the names in `multi` repeat
    /// (every other name must still be unique). The values of a
    /// multi-valued name are kept in order, empty ones dropped, and read with
    /// [`Params::get_all`].
    ///
    /// ```
    /// use attesto::form::{FormError, FormLimits, Params};
    /// let body = b"resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example&scope=x";
    /// let p = Params::parse_with_multi(body, FormLimits::DEFAULT, &["resource"]).unwrap();
    /// assert_eq!(p.get_all("resource").collect::<Vec<_>>(), ["https://a.example", "https://b.example"]);
    /// assert_eq!(p.get("resource"), None);
    /// assert_eq!(
    ///     Params::parse_with_multi(b"scope=a&scope=b", FormLimits::DEFAULT, &["resource"]),
    ///     Err(FormError::Duplicate("scope".into()))
    /// );
    /// ```
    ///
    /// # Errors
    /// See [`FormError`].
    pub fn parse_with_multi(
        body: &[u8],
        limits: FormLimits,
        multi: &[&str],
    ) -> Result<Self, FormError> {
        if body.len() > limits.max_body_len {
            return Err(FormError::TooLarge);
        }
        let mut map = BTreeMap::new();
        let mut repeated: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut seen = 0usize;
        for pair in body.split(|b| *b == b'&') {
            if pair.is_empty() {
                continue;
            }
            seen += 1;
            if seen > limits.max_params {
                return Err(FormError::TooLarge);
            }
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (
                    pair.get(..i).unwrap_or_default(),
                    pair.get(i + 1..).unwrap_or_default(),
                ),
                None => (pair, &[][..]),
            };
            let name = decode(name, limits.max_value_len)?;
            let value = decode(value, limits.max_value_len)?;
            if name.is_empty() {
                continue;
            }
            if multi.contains(&name.as_str()) {
                let values = repeated.entry(name).or_default();
                if !value.is_empty() {
                    values.push(value);
                }
                continue;
            }
            if map.contains_key(&name) {
                return Err(FormError::Duplicate(name));
            }
            // Record the name even when the value is empty so that
            // `a=&a=x` is still caught as a duplicate.
            map.insert(name, value);
        }
        map.retain(|_, v| !v.is_empty());
        repeated.retain(|_, v| !v.is_empty());
        Ok(Params(map, repeated))
    }

    /// Build from pairs (for query strings already split, and tests).
    ///
    /// # Errors
    /// [`FormError::Duplicate`] when a name repeats.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FormError> {
        let mut map = BTreeMap::new();
        for (k, v) in pairs {
            if map.insert(k.to_owned(), v.to_owned()).is_some() {
                return Err(FormError::Duplicate(k.to_owned()));
            }
        }
        map.retain(|_, v: &mut String| !v.is_empty());
        Ok(Params(map, BTreeMap::new()))
    }

    /// The value of `name`, if present and non-empty.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The values of a multi-valued name (see [`Params::parse_with_multi`]),
    /// in request order; empty for a name that was absent or not declared
    /// multi-valued.
    pub fn get_all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.1
            .get(name)
            .into_iter()
            .flat_map(|v| v.iter().map(String::as_str))
    }

    /// Whether `name` is present (single- or multi-valued).
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name) || self.1.contains_key(name)
    }

    /// Remove and return `name`.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    /// Iterate over the single-valued `(name, value)` pairs (multi-valued
    /// names are read with [`Params::get_all`]).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of distinct parameter names.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len() + self.1.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty() && self.1.is_empty()
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode(input: &[u8], max: usize) -> Result<String, FormError> {
    // Most values (tokens, codes, client ids) carry no escapes: copy them whole.
    if !input.iter().any(|b| matches!(b, b'+' | b'%')) {
        if input.len() > max {
            return Err(FormError::TooLarge);
        }
        let s = std::str::from_utf8(input).map_err(|_| FormError::InvalidUtf8)?;
        return checked_text(s.to_owned());
    }
    let mut out = Vec::with_capacity(input.len().min(max));
    let mut it = input.iter().copied();
    while let Some(b) = it.next() {
        let byte = match b {
            b'+' => b' ',
            b'%' => {
                let hi = it.next().and_then(hex).ok_or(FormError::BadEncoding)?;
                let lo = it.next().and_then(hex).ok_or(FormError::BadEncoding)?;
                (hi << 4) | lo
            }
            other => other,
        };
        if out.len() >= max {
            return Err(FormError::TooLarge);
        }
        out.push(byte);
    }
    checked_text(String::from_utf8(out).map_err(|_| FormError::InvalidUtf8)?)
}

/// `s`, unless it holds a control character other than tab (C0, DEL or C1).
fn checked_text(s: String) -> Result<String, FormError> {
    let control = if s.is_ascii() {
        s.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
    } else {
        s.chars().any(|c| c.is_control() && c != '\t')
    };
    if control {
        return Err(FormError::ControlCharacter);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repeated_parameter_is_refused_even_when_one_is_empty() {
        assert_eq!(
            Params::parse(b"scope=&scope=admin"),
            Err(FormError::Duplicate("scope".into()))
        );
        assert_eq!(
            Params::parse(b"a=1&b=2&a=1"),
            Err(FormError::Duplicate("a".into()))
        );
    }

    #[test]
    fn empty_values_are_treated_as_omitted() {
        let p = Params::parse(b"a=&b=x&c").unwrap();
        assert!(!p.contains("a"));
        assert!(!p.contains("c"));
        assert_eq!(p.get("b"), Some("x"));
    }

    #[test]
    fn invalid_utf8_after_decoding_is_refused() {
        assert_eq!(Params::parse(b"a=%FF%FE"), Err(FormError::InvalidUtf8));
        assert_eq!(Params::parse(b"a=\xff"), Err(FormError::InvalidUtf8));
    }

    #[test]
    fn malformed_percent_encoding_is_refused() {
        for body in [&b"a=%"[..], b"a=%4", b"a=%zz", b"%G0=1"] {
            assert_eq!(Params::parse(body), Err(FormError::BadEncoding), "{body:?}");
        }
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(
            Params::parse(b"state=a%0D%0ASet-Cookie"),
            Err(FormError::ControlCharacter)
        );
        assert_eq!(
            Params::parse(b"state=a%00"),
            Err(FormError::ControlCharacter)
        );
    }

    #[test]
    fn unescaped_values_are_checked_like_escaped_ones() {
        for body in [
            &b"state=a\x01b"[..],
            b"state=a\x7fb",
            "state=a\u{85}b".as_bytes(),
        ] {
            assert_eq!(
                Params::parse(body),
                Err(FormError::ControlCharacter),
                "{body:?}"
            );
        }
        assert_eq!(Params::parse(b"state=\xff"), Err(FormError::InvalidUtf8));
        let p = Params::parse("state=a\tb&name=J\u{f6}rg".as_bytes()).unwrap();
        assert_eq!(p.get("state"), Some("a\tb"));
        assert_eq!(p.get("name"), Some("J\u{f6}rg"));
    }

    #[test]
    fn oversized_inputs_are_refused() {
        let limits = FormLimits {
            max_params: 2,
            max_value_len: 4,
            max_body_len: 32,
        };
        assert_eq!(
            Params::parse_with(b"a=1&b=2&c=3", limits),
            Err(FormError::TooLarge)
        );
        assert_eq!(
            Params::parse_with(b"a=12345", limits),
            Err(FormError::TooLarge)
        );
        assert_eq!(
            Params::parse_with(&[b'a'; 33], limits),
            Err(FormError::TooLarge)
        );
    }

    #[test]
    fn plus_and_percent_decode() {
        let p =
            Params::parse(b"scope=openid+email&redirect_uri=https%3A%2F%2Fa.example%2Fcb").unwrap();
        assert_eq!(p.get("scope"), Some("openid email"));
        assert_eq!(p.get("redirect_uri"), Some("https://a.example/cb"));
    }

    #[test]
    fn only_declared_names_may_repeat() {
        let p = Params::parse_with_multi(
            b"resource=a&grant_type=x&resource=&resource=b",
            FormLimits::DEFAULT,
            &["resource"],
        )
        .unwrap();
        assert_eq!(p.get_all("resource").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(p.get("grant_type"), Some("x"));
        assert_eq!(p.get_all("grant_type").count(), 0);
        assert_eq!(
            Params::parse_with_multi(b"resource=a&resource=b", FormLimits::DEFAULT, &[]),
            Err(FormError::Duplicate("resource".into()))
        );
        let only_empty =
            Params::parse_with_multi(b"resource=", FormLimits::DEFAULT, &["resource"]).unwrap();
        assert!(!only_empty.contains("resource"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_with_multi_valued_names(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Params::parse_with_multi(&body, FormLimits::DEFAULT, &["resource", "a"]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Params::parse(&body);
        }

        #[test]
        fn raw_and_percent_encoded_values_decode_alike(v in "[^%+&=]{0,32}") {
            let raw = format!("k={v}");
            let enc: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
            let escaped = format!("k={enc}");
            let a = Params::parse(raw.as_bytes()).map(|p| p.get("k").map(str::to_owned));
            let b = Params::parse(escaped.as_bytes()).map(|p| p.get("k").map(str::to_owned));
            prop_assert_eq!(a, b);
        }

        #[test]
        fn encoded_pairs_round_trip(pairs in proptest::collection::btree_map("[a-z_]{1,8}", "[ -~]{1,16}", 0..8)) {
            let body: String = pairs.iter().map(|(k, v)| {
                let enc: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                format!("{k}={enc}")
            }).collect::<Vec<_>>().join("&");
            let p = Params::parse(body.as_bytes()).unwrap();
            for (k, v) in &pairs {
                prop_assert_eq!(p.get(k), Some(v.as_str()));
            }
        }
    }
}
