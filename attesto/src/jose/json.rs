//! Strict JSON object parsing for JOSE headers and claim sets.
//!
//! RFC 7515 §5.2 and RFC 7519 §7.2 require that a JOSE header or claim set
//! with duplicate member names be rejected (or that only the lexically last
//! be used; we take the stricter reading and reject). `serde_json` silently
//! keeps the last duplicate, so we parse through a visitor that refuses them.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON object whose top-level member names are unique.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StrictObject(pub(crate) Map<String, Value>);

impl<'de> serde::Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictObject, A::Error> {
                let mut map = Map::new();
                while let Some(key) = access.next_key::<String>()? {
                    if map.contains_key(&key) {
                        return Err(de::Error::custom("duplicate member name"));
                    }
                    let value: Value = access.next_value()?;
                    map.insert(key, value);
                }
                Ok(StrictObject(map))
            }
        }
        d.deserialize_map(V)
    }
}

/// Why a JSON object was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrictJsonError {
    /// Not UTF-8, not JSON, or not an object.
    Malformed,
    /// A member name occurs twice.
    Duplicate,
}

/// Parse `bytes` as a JSON object with unique member names.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, StrictJsonError> {
    match serde_json::from_slice::<StrictObject>(bytes) {
        Ok(o) => Ok(o.0),
        Err(e) if e.to_string().starts_with("duplicate member name") => {
            Err(StrictJsonError::Duplicate)
        }
        Err(_) => Err(StrictJsonError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_member_names_are_rejected() {
        assert_eq!(
            parse_object(br#"{"alg":"ES256","alg":"none"}"#),
            Err(StrictJsonError::Duplicate)
        );
    }

    #[test]
    fn non_objects_and_invalid_utf8_are_malformed() {
        for input in [&b"[]"[..], b"\"x\"", b"{", b"\xff\xfe", b"", b"null"] {
            assert_eq!(
                parse_object(input),
                Err(StrictJsonError::Malformed),
                "{input:?}"
            );
        }
    }

    #[test]
    fn nested_duplicates_are_left_to_the_value_parser() {
        // Only top-level names matter for header/claim semantics.
        assert!(parse_object(br#"{"a":{"b":1}}"#).is_ok());
    }
}
