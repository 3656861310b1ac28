//! Public JSON Web Keys ([RFC 7517](https://www.rfc-editor.org/rfc/rfc7517)) and
//! thumbprints ([RFC 7638](https://www.rfc-editor.org/rfc/rfc7638)).

use std::fmt;

use serde_json::{Map, Value};

use super::JoseError;
use super::alg::{Algorithm, AlgorithmSet};
use crate::secret::sha256_b64url;

/// Members that only private or symmetric keys carry. A [`Jwk`] never holds them.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Members a public JWK may carry; everything else is dropped when a key is
/// published, so nothing unexpected leaks into a JWKS document.
const PUBLIC_MEMBERS: [&str; 14] = [
    "kty", "use", "key_ops", "alg", "kid", "x5u", "x5c", "x5t", "x5t#S256", "n", "e", "crv", "x",
    "y",
];

/// The largest JWK we parse, in bytes of JSON. RSA 4096 public keys are ~750 bytes.
pub const MAX_JWK_LEN: usize = 16 * 1024;

/// A public JSON Web Key ([RFC 7517 §4](https://www.rfc-editor.org/rfc/rfc7517#section-4)).
///
/// Construction refuses private members (`d`, `p`, `q`, …, `k`), so a value of
/// this type is always safe to publish. Only `RSA`, `EC` (P-256/384/521) and
/// `OKP` (Ed25519) keys are accepted.
///
/// ```
/// use attesto::jose::Jwk;
/// let jwk = Jwk::from_json(r#"{"kty":"EC","crv":"P-256",
///   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
///   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap();
/// assert_eq!(jwk.kty(), "EC");
/// assert!(Jwk::from_json(r#"{"kty":"oct","k":"c2VjcmV0"}"#).is_err());
/// ```
#[derive(Clone, PartialEq)]
pub struct Jwk {
    map: Map<String, Value>,
}

impl Jwk {
    /// Parse a public JWK from JSON text.
    ///
    /// # Errors
    /// [`JoseError::InvalidKey`] for anything that is not a well-formed public
    /// RSA, EC or OKP key (including any private member).
    pub fn from_json(json: &str) -> Result<Self, JoseError> {
        if json.len() > MAX_JWK_LEN {
            return Err(JoseError::TooLarge);
        }
        let map = super::json::parse_object(json.as_bytes())
            .map_err(|_| JoseError::InvalidKey("not a JSON object"))?;
        Self::from_map(map)
    }

    /// Build a public JWK from a JSON object.
    ///
    /// # Errors
    /// As [`Jwk::from_json`].
    pub fn from_value(value: &Value) -> Result<Self, JoseError> {
        match value {
            Value::Object(map) => Self::from_map(map.clone()),
            _ => Err(JoseError::InvalidKey("a JWK must be a JSON object")),
        }
    }

    pub(crate) fn from_map(map: Map<String, Value>) -> Result<Self, JoseError> {
        if PRIVATE_MEMBERS.iter().any(|m| map.contains_key(*m)) {
            return Err(JoseError::InvalidKey(
                "a public JWK must not contain private key members",
            ));
        }
        let jwk = Jwk { map };
        jwk.validate_shape()?;
        Ok(jwk)
    }

    /// Build from a private JWK by keeping only the public members.
    pub(crate) fn public_from_private(private: &Map<String, Value>) -> Result<Self, JoseError> {
        let map = private
            .iter()
            .filter(|(k, _)| PUBLIC_MEMBERS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self::from_map(map)
    }

    fn str_member(&self, name: &str) -> Option<&str> {
        self.map.get(name).and_then(Value::as_str)
    }

    fn require_b64(&self, name: &'static str) -> Result<(), JoseError> {
        match self.map.get(name) {
            Some(Value::String(s)) if !s.is_empty() && super::b64_decode(s).is_ok() => Ok(()),
            _ => Err(JoseError::InvalidKey(
                "a required key member is missing or not base64url",
            )),
        }
    }

    fn validate_shape(&self) -> Result<(), JoseError> {
        for name in ["kid", "use", "alg"] {
            if self.map.get(name).is_some_and(|v| !v.is_string()) {
                return Err(JoseError::InvalidKey("kid, use and alg must be strings"));
            }
        }
        if self.str_member("use").is_some_and(|u| u != "sig") {
            return Err(JoseError::InvalidKey(
                "only signature keys (use=sig) are accepted",
            ));
        }
        match self.kty() {
            "RSA" => {
                self.require_b64("n")?;
                self.require_b64("e")?;
            }
            "EC" => {
                match self.str_member("crv") {
                    Some("P-256" | "P-384" | "P-521") => {}
                    _ => return Err(JoseError::InvalidKey("unsupported EC curve")),
                }
                self.require_b64("x")?;
                self.require_b64("y")?;
            }
            "OKP" => {
                if self.str_member("crv") != Some("Ed25519") {
                    return Err(JoseError::InvalidKey("unsupported OKP curve"));
                }
                self.require_b64("x")?;
            }
            _ => return Err(JoseError::InvalidKey("unsupported key type")),
        }
        if let Some(alg) = self.str_member("alg") {
            let alg: Algorithm = alg
                .parse()
                .map_err(|_| JoseError::InvalidKey("unsupported alg"))?;
            if !self.supports(alg) {
                return Err(JoseError::InvalidKey(
                    "the key's alg does not match its type",
                ));
            }
        }
        Ok(())
    }

    /// The key type (`kty`): `RSA`, `EC` or `OKP`.
    #[must_use]
    pub fn kty(&self) -> &str {
        self.str_member("kty").unwrap_or("")
    }

    /// The key identifier (`kid`), if any.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.str_member("kid")
    }

    /// The curve (`crv`) of an EC or OKP key.
    #[must_use]
    pub fn crv(&self) -> Option<&str> {
        self.str_member("crv")
    }

    /// The algorithm the key is restricted to (`alg`), if any.
    #[must_use]
    pub fn alg(&self) -> Option<Algorithm> {
        self.str_member("alg").and_then(|a| a.parse().ok())
    }

    /// Whether this key can verify signatures made with `alg`: the key type
    /// and curve match, and a declared `alg` (if any) is the same.
    #[must_use]
    pub fn supports(&self, alg: Algorithm) -> bool {
        if self.kty() != alg.key_type() || self.crv() != alg.curve() {
            return false;
        }
        match self.str_member("alg") {
            Some(declared) => declared == alg.as_str(),
            None => true,
        }
    }

    /// Every algorithm in `allowed` this key can verify.
    #[must_use]
    pub fn supported_algorithms(&self, allowed: AlgorithmSet) -> AlgorithmSet {
        allowed.iter().filter(|a| self.supports(*a)).collect()
    }

    /// The [RFC 7638](https://www.rfc-editor.org/rfc/rfc7638#section-3) SHA-256
    /// thumbprint, base64url-encoded: the hash of the required members in
    /// lexicographic order with no whitespace.
    ///
    /// ```
    /// use attesto::jose::Jwk;
    /// // RFC 7638 §3.1 example key.
    /// let jwk = Jwk::from_json(r#"{"kty":"RSA","e":"AQAB","alg":"RS256","kid":"2011-04-29",
    ///  "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#).unwrap();
    /// assert_eq!(jwk.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    /// ```
    #[must_use]
    pub fn thumbprint(&self) -> String {
        sha256_b64url(self.thumbprint_input().as_bytes())
    }

    fn thumbprint_input(&self) -> String {
        // Members are validated strings (validate_shape), so the JSON string
        // encoding below is exact; serde_json escapes as RFC 8259 requires.
        let members: &[&str] = match self.kty() {
            "RSA" => &["e", "kty", "n"],
            "EC" => &["crv", "kty", "x", "y"],
            _ => &["crv", "kty", "x"],
        };
        let mut out = String::from("{");
        for (i, m) in members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(m);
            out.push_str("\":");
            let v = self.map.get(*m).cloned().unwrap_or(Value::Null);
            out.push_str(&v.to_string());
        }
        out.push('}');
        out
    }

    /// The JSON object.
    #[must_use]
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// A copy carrying `kid` and `alg` (used when publishing a signing key).
    pub(crate) fn with_kid_alg(mut self, kid: &str, alg: Option<Algorithm>) -> Self {
        self.map.insert("kid".into(), Value::String(kid.to_owned()));
        if let Some(alg) = alg {
            self.map
                .insert("alg".into(), Value::String(alg.as_str().to_owned()));
        }
        self.map.insert("use".into(), Value::String("sig".into()));
        self
    }

    pub(crate) fn to_josekit(&self) -> Result<josekit::jwk::Jwk, JoseError> {
        josekit::jwk::Jwk::from_map(self.map.clone())
            .map_err(|_| JoseError::InvalidKey("unusable key"))
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty())
            .field("crv", &self.crv())
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

impl serde::Serialize for Jwk {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Jwk {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        Jwk::from_map(map).map_err(serde::de::Error::custom)
    }
}

/// A JWK Set ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)) of public keys.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// Parse a JWK Set of public keys. Keys of unsupported types are skipped
    /// (RFC 7517 §5: "implementations SHOULD ignore JWKs within a JWK Set that
    /// use kty values that are not understood"); a key with a private member
    /// fails the whole set.
    ///
    /// # Errors
    /// [`JoseError::InvalidKey`] when the document is not a JWK Set or holds
    /// private key material; [`JoseError::TooLarge`] over 256 KiB.
    pub fn from_json(json: &str) -> Result<Self, JoseError> {
        if json.len() > 256 * 1024 {
            return Err(JoseError::TooLarge);
        }
        let map = super::json::parse_object(json.as_bytes())
            .map_err(|_| JoseError::InvalidKey("not a JSON object"))?;
        Self::from_map(&map)
    }

    /// As [`JwkSet::from_json`], from a parsed value.
    ///
    /// # Errors
    /// As [`JwkSet::from_json`].
    pub fn from_value(value: &Value) -> Result<Self, JoseError> {
        match value {
            Value::Object(map) => Self::from_map(map),
            _ => Err(JoseError::InvalidKey("a JWK Set must be a JSON object")),
        }
    }

    fn from_map(map: &Map<String, Value>) -> Result<Self, JoseError> {
        let Some(Value::Array(items)) = map.get("keys") else {
            return Err(JoseError::InvalidKey("a JWK Set needs a keys array"));
        };
        let mut keys = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(m) = item else {
                return Err(JoseError::InvalidKey("a JWK must be a JSON object"));
            };
            if PRIVATE_MEMBERS.iter().any(|p| m.contains_key(*p)) {
                return Err(JoseError::InvalidKey(
                    "a public JWK must not contain private key members",
                ));
            }
            if let Ok(k) = Jwk::from_map(m.clone()) {
                keys.push(k);
            }
        }
        Ok(JwkSet { keys })
    }

    /// Keys that can verify `alg`, preferring an exact `kid` match. With a
    /// `kid`, only keys with that `kid` are returned.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys
            .iter()
            .filter(move |k| k.supports(alg) && kid.is_none_or(|kid| k.kid() == Some(kid)))
    }
}
