//! Error texts: `error_description`, `error_uri`, and quoted-string escaping.

use std::fmt;

/// RFC 6749 Appendix A `NQSCHAR` = `%x20-21 / %x23-5B / %x5D-7E`: printable
/// ASCII and space, without `"` and `\`.
#[must_use]
pub(crate) const fn is_nqschar(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{21}' | '\u{23}'..='\u{5B}' | '\u{5D}'..='\u{7E}')
}

/// RFC 6749 Appendix A `NQCHAR` = `%x21 / %x23-5B / %x5D-7E`: [`is_nqschar`]
/// without the space.
#[must_use]
pub(crate) const fn is_nqchar(c: char) -> bool {
    c != ' ' && is_nqschar(c)
}

/// The longest `error_description` kept; longer texts are cut.
pub const MAX_DESCRIPTION_LEN: usize = 256;

/// A sanitized `error_description`
/// ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2),
/// [RFC 6750 §3](https://www.rfc-editor.org/rfc/rfc6750#section-3)).
///
/// Both RFCs restrict the value to `%x20-21 / %x23-5B / %x5D-7E`. Any text
/// can be turned into one, so an error path never fails on its description,
/// and whatever an attacker managed to put in the text (quotes, backslashes,
/// CR/LF, control or non-ASCII characters) never reaches a header or a body
/// raw:
///
/// * `"` becomes `'` and `\` becomes `/`;
/// * tab, CR, LF and any other whitespace become a space; other control
///   characters (C0, DEL, C1) are dropped; any other non-ASCII character
///   becomes `?`;
/// * leading and trailing spaces are trimmed and the text is cut at
///   [`MAX_DESCRIPTION_LEN`] characters;
/// * a text that is empty after this is no description ([`ErrorDescription::new`]
///   returns `None`).
///
/// ```
/// use attesto::error::ErrorDescription;
/// let d = ErrorDescription::new("bad \"x\"\r\nSet-Cookie: a=b").unwrap();
/// assert_eq!(d.as_str(), "bad 'x'  Set-Cookie: a=b");
/// assert!(ErrorDescription::new(" \r\n ").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorDescription(String);

impl ErrorDescription {
    /// Sanitize `text`; `None` when nothing printable is left.
    #[must_use]
    pub fn new(text: &str) -> Option<Self> {
        let mut out = String::with_capacity(text.len().min(MAX_DESCRIPTION_LEN));
        for c in text.chars() {
            let mapped = match c {
                '"' => Some('\''),
                '\\' => Some('/'),
                c if is_nqschar(c) => Some(c),
                c if c.is_whitespace() => Some(' '),
                c if c.is_control() => None,
                _ => Some('?'),
            };
            if let Some(m) = mapped {
                out.push(m);
            }
        }
        let trimmed = out.trim_matches(' ');
        // Every kept character is ASCII, so byte and char counts agree and
        // cutting at a byte index is on a char boundary.
        let cut = trimmed.get(..MAX_DESCRIPTION_LEN).unwrap_or(trimmed);
        let cut = cut.trim_end_matches(' ');
        if cut.is_empty() {
            None
        } else {
            Some(Self(cut.to_owned()))
        }
    }

    /// The sanitized text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ErrorDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest `error_uri` accepted.
pub const MAX_ERROR_URI_LEN: usize = 2048;

/// A validated `error_uri`
/// ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)):
/// an absolute URI whose characters are all in `%x21 / %x23-5B / %x5D-7E`.
///
/// ```
/// use attesto::error::ErrorUri;
/// assert!(ErrorUri::new("https://docs.example/errors#invalid_scope").is_ok());
/// assert!(ErrorUri::new("/relative").is_err());
/// assert!(ErrorUri::new("https://x.example/\"").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorUri(String);

impl ErrorUri {
    /// Validate an error URI.
    ///
    /// # Errors
    /// [`InvalidErrorUri`] when the text is empty, longer than
    /// [`MAX_ERROR_URI_LEN`], has a character outside the RFC 6749 set, or is
    /// not an absolute URI.
    pub fn new(uri: &str) -> Result<Self, InvalidErrorUri> {
        if uri.is_empty() || uri.len() > MAX_ERROR_URI_LEN {
            return Err(InvalidErrorUri);
        }
        if !uri.chars().all(is_nqchar) {
            return Err(InvalidErrorUri);
        }
        url::Url::parse(uri).map_err(|_| InvalidErrorUri)?;
        Ok(Self(uri.to_owned()))
    }

    /// The URI text, as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ErrorUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `error_uri` is not an absolute URI within the RFC 6749 §5.2 character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("error_uri must be an absolute URI of RFC 6749 §5.2 characters")]
pub struct InvalidErrorUri;

/// The text a challenge parameter carries once rendered: control characters
/// (including CR, LF and tab) dropped, non-ASCII characters replaced by `?`.
/// Quoting is lossless for everything else, so parsing the rendered
/// quoted-string back gives exactly `header_safe(value)`.
///
/// ```
/// assert_eq!(attesto::error::header_safe("a\r\n\"é"), "a\"?");
/// ```
#[must_use]
pub fn header_safe(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect()
}

/// Append `value` to `out` as an RFC 9110 §5.6.4 `quoted-string`: wrapped in
/// `"`, with `"` and `\` backslash-escaped. Characters that would make the
/// header invalid or splittable (CR, LF, every other control character) are
/// dropped and non-ASCII characters become `?` (see [`header_safe`]), so the
/// result is always a valid, single-line header value.
pub(crate) fn quote_into(out: &mut String, value: &str) {
    out.push('"');
    for c in header_safe(value).chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_maps_quotes_and_backslashes_to_safe_characters() {
        let d = ErrorDescription::new(r#"a"b\c"#).unwrap();
        assert_eq!(d.as_str(), "a'b/c");
    }

    #[test]
    fn description_is_cut_at_the_maximum_length() {
        let long = "x".repeat(MAX_DESCRIPTION_LEN + 50);
        let d = ErrorDescription::new(&long).unwrap();
        assert_eq!(d.as_str().len(), MAX_DESCRIPTION_LEN);
    }

    #[test]
    fn description_drops_controls_and_replaces_non_ascii() {
        let d = ErrorDescription::new("\u{0}é\u{7f}\u{85}ok").unwrap();
        assert_eq!(d.as_str(), "? ok");
    }

    #[test]
    fn quoting_escapes_quote_and_backslash_and_drops_crlf() {
        let mut s = String::new();
        quote_into(&mut s, "a\"b\\c\r\nd");
        assert_eq!(s, r#""a\"b\\cd""#);
    }
}
