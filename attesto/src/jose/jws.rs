//! JWS Compact Serialization ([RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1))
//! with strict parsing and an explicit algorithm allow-list.

use serde_json::{Map, Value};

use super::alg::{Algorithm, AlgorithmSet};
use super::jwk::Jwk;
use super::keys::{SigningKey, VerifyingKey};
use super::{JoseError, b64_decode, b64_encode};

/// The default cap on the length of a compact JWS we are willing to parse.
pub const DEFAULT_MAX_JWS_LEN: usize = 16 * 1024;

/// A parsed, *unverified* protected header.
///
/// Only the members attesto acts on are typed; everything else stays in
/// [`JwsHeader::raw`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwsHeader {
    /// `alg`: always one of the supported asymmetric algorithms.
    pub alg: Algorithm,
    /// `typ`, if present.
    pub typ: Option<String>,
    /// `kid`, if present.
    pub kid: Option<String>,
    /// `jwk`, if present (always a public key; private members are refused).
    pub jwk: Option<Jwk>,
    /// The whole header object.
    pub raw: Map<String, Value>,
}

impl JwsHeader {
    /// Whether `typ` equals `expected` per [RFC 7515 §4.1.9](https://www.rfc-editor.org/rfc/rfc7515#section-4.1.9):
    /// case-insensitive, with an optional `application/` prefix.
    ///
    /// ```
    /// # use attesto::jose::{JwsHeader};
    /// # fn h(typ: &str) -> bool { attesto::jose::typ_matches(Some(typ), "at+jwt") }
    /// assert!(h("at+jwt"));
    /// assert!(h("application/AT+JWT"));
    /// assert!(!h("jwt"));
    /// ```
    #[must_use]
    pub fn typ_is(&self, expected: &str) -> bool {
        typ_matches(self.typ.as_deref(), expected)
    }
}

/// Whether a `typ` value names the media type `expected` (case-insensitive,
/// `application/` prefix optional). `None` never matches.
#[must_use]
pub fn typ_matches(typ: Option<&str>, expected: &str) -> bool {
    let Some(t) = typ else { return false };
    let t = match t.get(..12) {
        Some(p) if p.eq_ignore_ascii_case("application/") => t.get(12..).unwrap_or(""),
        _ => t,
    };
    t.eq_ignore_ascii_case(expected)
}

/// A compact JWS that has been parsed but not verified.
///
/// Nothing in it may be trusted until [`UnverifiedJws::verify`] succeeds;
/// the header may be inspected to pick a key.
#[derive(Debug)]
pub struct UnverifiedJws<'a> {
    header: JwsHeader,
    signing_input: &'a str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// A JWS whose signature has been verified.
#[derive(Debug)]
pub struct VerifiedJws {
    /// The protected header.
    pub header: JwsHeader,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl VerifiedJws {
    /// The payload as a JWT claims set: a JSON object with unique member names
    /// ([RFC 7519 §7.2](https://www.rfc-editor.org/rfc/rfc7519#section-7.2) steps 9-10).
    ///
    /// # Errors
    /// [`JoseError::Malformed`] or [`JoseError::DuplicateMember`].
    pub fn claims(&self) -> Result<Map<String, Value>, JoseError> {
        parse_json_object(&self.payload)
    }
}

pub(crate) fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Value>, JoseError> {
    super::json::parse_object(bytes).map_err(|e| match e {
        super::json::StrictJsonError::Duplicate => JoseError::DuplicateMember,
        super::json::StrictJsonError::Malformed => JoseError::Malformed("not a JSON object"),
    })
}

impl<'a> UnverifiedJws<'a> {
    /// Parse a compact JWS of at most `max_len` bytes.
    ///
    /// Refuses: more or fewer than three parts, non-base64url or padded
    /// segments, a header that is not a JSON object or has duplicate members,
    /// an `alg` that is missing, `none`, symmetric or unknown, any `crit`
    /// header (attesto understands no JWS extensions), `b64: false`
    /// (RFC 7797), and a `jwk` header that is not a public key.
    ///
    /// # Errors
    /// A [`JoseError`] naming the first problem.
    pub fn parse(token: &'a str, max_len: usize) -> Result<Self, JoseError> {
        if token.len() > max_len {
            return Err(JoseError::TooLarge);
        }
        let mut parts = token.splitn(4, '.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed(
                "a compact JWS has exactly three parts",
            ));
        };
        if h.is_empty() || s.is_empty() {
            return Err(JoseError::Malformed("empty header or signature"));
        }
        let header_bytes = b64_decode(h)?;
        let raw = parse_json_object(&header_bytes)?;
        let header = parse_header(raw)?;
        let payload = b64_decode(p)?;
        let signature = b64_decode(s)?;
        let signing_input = token
            .get(..h.len() + 1 + p.len())
            .ok_or(JoseError::Malformed("bad segment"))?;
        Ok(UnverifiedJws {
            header,
            signing_input,
            payload,
            signature,
        })
    }

    /// The unverified header, for key selection.
    #[must_use]
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// Verify the signature with `key`, provided the header's `alg` is in
    /// `allowed` and the key supports it.
    ///
    /// # Errors
    /// [`JoseError::AlgorithmNotAllowed`], [`JoseError::KeyMismatch`] or
    /// [`JoseError::InvalidSignature`].
    pub fn verify(
        self,
        key: &VerifyingKey,
        allowed: AlgorithmSet,
    ) -> Result<VerifiedJws, JoseError> {
        let alg = self.header.alg;
        if !allowed.contains(alg) {
            return Err(JoseError::AlgorithmNotAllowed(alg));
        }
        key.verify(alg, self.signing_input.as_bytes(), &self.signature)?;
        Ok(VerifiedJws {
            header: self.header,
            payload: self.payload,
        })
    }
}

fn parse_header(raw: Map<String, Value>) -> Result<JwsHeader, JoseError> {
    let alg = match raw.get("alg") {
        Some(Value::String(a)) => a
            .parse::<Algorithm>()
            .map_err(|_| JoseError::UnsupportedAlgorithm)?,
        Some(_) => return Err(JoseError::Malformed("alg must be a string")),
        None => return Err(JoseError::Malformed("the header has no alg")),
    };
    if raw.contains_key("crit") {
        return Err(JoseError::CriticalHeader);
    }
    if raw.contains_key("b64") {
        return Err(JoseError::CriticalHeader);
    }
    let opt_str = |name: &'static str| -> Result<Option<String>, JoseError> {
        match raw.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(JoseError::Malformed("typ and kid must be strings")),
        }
    };
    let typ = opt_str("typ")?;
    let kid = opt_str("kid")?;
    let jwk = match raw.get("jwk") {
        None => None,
        Some(v) => Some(Jwk::from_value(v)?),
    };
    Ok(JwsHeader {
        alg,
        typ,
        kid,
        jwk,
        raw,
    })
}

/// Extra protected-header members for [`sign_compact`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct HeaderParams<'a> {
    /// `typ`.
    pub typ: Option<&'a str>,
    /// Include the key's `kid` (default true through [`HeaderParams::typ`]).
    pub omit_kid: bool,
    /// `jwk`: embed this public key (DPoP proofs).
    pub jwk: Option<&'a Jwk>,
    /// Any further members. `alg`, `kid`, `typ`, `jwk` and `crit` here are ignored.
    pub extra: Option<&'a Map<String, Value>>,
}

impl<'a> HeaderParams<'a> {
    /// Header with `typ` and the key's `kid`.
    #[must_use]
    pub fn typ(typ: &'a str) -> Self {
        HeaderParams {
            typ: Some(typ),
            ..HeaderParams::default()
        }
    }
}

/// Sign `payload` as a compact JWS with `key`; `alg` and (unless omitted)
/// `kid` come from the key.
///
/// # Errors
/// [`JoseError::Crypto`] if signing fails.
pub fn sign_compact(
    key: &SigningKey,
    params: &HeaderParams<'_>,
    payload: &[u8],
) -> Result<String, JoseError> {
    let mut header = Map::new();
    header.insert("alg".into(), Value::String(key.algorithm().as_str().into()));
    if let Some(t) = params.typ {
        header.insert("typ".into(), Value::String(t.into()));
    }
    if !params.omit_kid {
        header.insert("kid".into(), Value::String(key.kid().into()));
    }
    if let Some(j) = params.jwk {
        header.insert("jwk".into(), Value::Object(j.as_map().clone()));
    }
    if let Some(extra) = params.extra {
        for (k, v) in extra {
            if !matches!(k.as_str(), "alg" | "kid" | "typ" | "jwk" | "crit") {
                header.insert(k.clone(), v.clone());
            }
        }
    }
    let header_json = serde_json::to_vec(&header).map_err(|_| JoseError::Crypto)?;
    sign_with_encoded_header(key, &b64_encode(&header_json), payload)
}

/// Sign with a header that is already base64url-encoded (lets hot paths
/// cache the encoded header per key).
pub(crate) fn sign_with_encoded_header(
    key: &SigningKey,
    header_b64: &str,
    payload: &[u8],
) -> Result<String, JoseError> {
    let payload_b64 = b64_encode(payload);
    let mut out = String::with_capacity(header_b64.len() + payload_b64.len() + 2 + 700);
    out.push_str(header_b64);
    out.push('.');
    out.push_str(&payload_b64);
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    out.push_str(&b64_encode(&sig));
    Ok(out)
}
