//! Certificate-bound access tokens ([RFC 8705 §3](https://www.rfc-editor.org/rfc/rfc8705#section-3)).
//!
//! A token bound to a client certificate carries
//! `"cnf": {"x5t#S256": "<thumbprint>"}`, where the thumbprint is the
//! base64url (unpadded) SHA-256 of the certificate's DER encoding
//! ([RFC 8705 §3.1](https://www.rfc-editor.org/rfc/rfc8705#section-3.1)).
//! A resource server accepts the token only over a TLS connection whose
//! client certificate has that thumbprint ([`verify_binding`]).
//!
//! Certificates reach this module as DER from the TLS stack, or as a header
//! set by a TLS-terminating proxy ([`ClientCertificate::from_forwarded_header`]).
//! This module only *parses* such headers; deciding whether the proxy is
//! trusted is the server's job, and a header from an untrusted peer must
//! never reach it.
//!
//! Every input is checked to be exactly one X.509 certificate. Bytes that are
//! not ([`MtlsError::InvalidCertificate`]) are a malformed request —
//! `invalid_request` "invalid client certificate" — not a client
//! authentication failure.
//!
//! ```
//! use attesto::mtls::{verify_binding, CertificateThumbprint, ClientCertificate};
//! # fn cert_der() -> Vec<u8> {
//! #     use openssl::{asn1::Asn1Time, bn::BigNum, ec::{EcGroup, EcKey}, hash::MessageDigest,
//! #                   nid::Nid, pkey::PKey, x509::{X509Builder, X509NameBuilder}};
//! #     let key = PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()).unwrap();
//! #     let mut name = X509NameBuilder::new().unwrap();
//! #     name.append_entry_by_text("CN", "client").unwrap();
//! #     let name = name.build();
//! #     let mut b = X509Builder::new().unwrap();
//! #     b.set_version(2).unwrap();
//! #     b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap()).unwrap();
//! #     b.set_subject_name(&name).unwrap();
//! #     b.set_issuer_name(&name).unwrap();
//! #     b.set_pubkey(&key).unwrap();
//! #     b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
//! #     b.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
//! #     b.sign(&key, MessageDigest::sha256()).unwrap();
//! #     b.build().to_der().unwrap()
//! # }
//! let der = cert_der();
//! let cert = ClientCertificate::from_der(&der).unwrap();
//! let x5t = cert.thumbprint();
//! assert_eq!(x5t.as_str().len(), 43);
//! assert!(verify_binding(x5t.as_str(), &der).is_ok());
//! assert!(ClientCertificate::from_der(b"not a certificate").is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use openssl::x509::X509;

use crate::error::{ErrorCode, OAuthError};
use crate::secret::{ct_eq, sha256_b64url};

/// The largest certificate accepted, in DER bytes.
pub const MAX_CERT_DER_LEN: usize = 32 * 1024;
/// The largest forwarded-certificate header value accepted, in bytes.
pub const MAX_FORWARDED_CERT_LEN: usize = 3 * MAX_CERT_DER_LEN;

/// Why a certificate or a binding was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MtlsError {
    /// The bytes are not exactly one DER (or PEM) X.509 certificate.
    #[error("invalid client certificate")]
    InvalidCertificate,
    /// The PEM holds more than one certificate.
    #[error("more than one client certificate")]
    MultipleCertificates,
    /// The certificate (or the header carrying it) is too large.
    #[error("client certificate is too large")]
    TooLarge,
    /// The forwarded header is not valid percent-encoding or base64.
    #[error("client certificate header is malformed")]
    InvalidEncoding,
    /// No certificate was presented.
    #[error("client certificate required")]
    Missing,
    /// A `x5t#S256` value is not 43 base64url characters of a SHA-256 hash.
    #[error("invalid x5t#S256 thumbprint")]
    InvalidThumbprint,
    /// The certificate does not match the token's `x5t#S256`.
    #[error("client certificate does not match the token binding")]
    ThumbprintMismatch,
}

impl From<MtlsError> for OAuthError {
    /// * a certificate that cannot be read → `invalid_request` "invalid
    ///   client certificate" (the seed's classification);
    /// * no certificate → `invalid_request` "client certificate required";
    /// * a bad or mismatched `x5t#S256` → `invalid_token` (401; the resource
    ///   server adds its challenge). A token endpoint checking a bound
    ///   refresh token maps a mismatch to `invalid_grant` itself.
    fn from(e: MtlsError) -> Self {
        match e {
            MtlsError::Missing => OAuthError::new(ErrorCode::InvalidRequest)
                .with_description("client certificate required"),
            MtlsError::InvalidThumbprint | MtlsError::ThumbprintMismatch => {
                OAuthError::new(ErrorCode::InvalidToken)
                    .with_description("the access token is not bound to this client certificate")
            }
            _ => OAuthError::new(ErrorCode::InvalidRequest)
                .with_description("invalid client certificate"),
        }
    }
}

/// A certificate's `x5t#S256`: base64url (no padding) of the SHA-256 of its
/// DER encoding ([RFC 8705 §3.1](https://www.rfc-editor.org/rfc/rfc8705#section-3.1)).
///
/// Serialises as the string, as in the `cnf` claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateThumbprint(String);

impl CertificateThumbprint {
    /// The thumbprint of the certificate in `der`, after checking that `der`
    /// is exactly one X.509 certificate.
    ///
    /// # Errors
    /// As [`ClientCertificate::from_der`].
    pub fn from_der(der: &[u8]) -> Result<Self, MtlsError> {
        ClientCertificate::from_der(der).map(|c| c.thumbprint())
    }

    /// The thumbprint of the single certificate in `pem`.
    ///
    /// # Errors
    /// As [`ClientCertificate::from_pem`].
    pub fn from_pem(pem: &[u8]) -> Result<Self, MtlsError> {
        ClientCertificate::from_pem(pem).map(|c| c.thumbprint())
    }

    /// Validate a thumbprint read from a token or store: 43 base64url
    /// characters that decode to 32 bytes.
    ///
    /// # Errors
    /// [`MtlsError::InvalidThumbprint`].
    pub fn parse(x5t: &str) -> Result<Self, MtlsError> {
        if x5t.len() != 43 {
            return Err(MtlsError::InvalidThumbprint);
        }
        match URL_SAFE_NO_PAD.decode(x5t) {
            Ok(bytes) if bytes.len() == 32 => Ok(Self(x5t.to_owned())),
            _ => Err(MtlsError::InvalidThumbprint),
        }
    }

    /// The thumbprint text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `cert` has this thumbprint, in constant time.
    #[must_use]
    pub fn matches(&self, cert: &ClientCertificate) -> bool {
        ct_eq(self.0.as_bytes(), cert.thumbprint().0.as_bytes())
    }

    /// Check that `cert` has this thumbprint.
    ///
    /// # Errors
    /// [`MtlsError::ThumbprintMismatch`].
    pub fn verify(&self, cert: &ClientCertificate) -> Result<(), MtlsError> {
        if self.matches(cert) {
            Ok(())
        } else {
            Err(MtlsError::ThumbprintMismatch)
        }
    }
}

impl fmt::Display for CertificateThumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CertificateThumbprint {
    type Err = MtlsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for CertificateThumbprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for CertificateThumbprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Check a token's `x5t#S256` against the certificate of the connection
/// that presented it, in constant time
/// ([RFC 8705 §3](https://www.rfc-editor.org/rfc/rfc8705#section-3)).
///
/// # Errors
/// [`MtlsError::InvalidThumbprint`] for a malformed `expected_x5t`,
/// [`MtlsError::InvalidCertificate`] (or another parse error) for bytes that
/// are not one certificate, [`MtlsError::ThumbprintMismatch`] otherwise.
pub fn verify_binding(expected_x5t: &str, presented_cert_der: &[u8]) -> Result<(), MtlsError> {
    let expected = CertificateThumbprint::parse(expected_x5t)?;
    let cert = ClientCertificate::from_der(presented_cert_der)?;
    expected.verify(&cert)
}

/// How a TLS-terminating proxy forwards the client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForwardedCertEncoding {
    /// Percent-encoded PEM, as nginx's `$ssl_client_escaped_cert` and AWS
    /// ALB's `X-Amzn-Mtls-Clientcert`. `+` is a literal `+` (base64), not a
    /// space.
    EscapedPem,
    /// The DER certificate in standard base64 (padding optional, no line
    /// breaks), e.g. a PEM body without its `BEGIN`/`END` lines. The value
    /// may also be percent-encoded (as Traefik's
    /// `X-Forwarded-Tls-Client-Cert`); `%` is not a base64 character, so
    /// this is unambiguous.
    Base64Der,
}

/// A client certificate known to be exactly one well-formed X.509
/// certificate, kept as its DER bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    der: Vec<u8>,
}

impl ClientCertificate {
    /// Check `der` is exactly one X.509 certificate: it parses, and encoding
    /// the parsed certificate gives back the same bytes, so trailing data or
    /// a non-DER encoding is refused and the thumbprint is that of the
    /// certificate the peer really sent.
    ///
    /// # Errors
    /// [`MtlsError::TooLarge`] beyond [`MAX_CERT_DER_LEN`], otherwise
    /// [`MtlsError::InvalidCertificate`].
    pub fn from_der(der: &[u8]) -> Result<Self, MtlsError> {
        if der.is_empty() {
            return Err(MtlsError::InvalidCertificate);
        }
        if der.len() > MAX_CERT_DER_LEN {
            return Err(MtlsError::TooLarge);
        }
        let cert = X509::from_der(der).map_err(|_| MtlsError::InvalidCertificate)?;
        let reencoded = cert.to_der().map_err(|_| MtlsError::InvalidCertificate)?;
        if reencoded != der {
            return Err(MtlsError::InvalidCertificate);
        }
        Ok(Self { der: der.to_vec() })
    }

    /// Read the one certificate of a PEM document.
    ///
    /// # Errors
    /// [`MtlsError::MultipleCertificates`] for a chain,
    /// [`MtlsError::TooLarge`], or [`MtlsError::InvalidCertificate`].
    pub fn from_pem(pem: &[u8]) -> Result<Self, MtlsError> {
        if pem.len() > MAX_FORWARDED_CERT_LEN {
            return Err(MtlsError::TooLarge);
        }
        let mut certs = X509::stack_from_pem(pem).map_err(|_| MtlsError::InvalidCertificate)?;
        if certs.len() > 1 {
            return Err(MtlsError::MultipleCertificates);
        }
        let cert = certs.pop().ok_or(MtlsError::InvalidCertificate)?;
        let der = cert.to_der().map_err(|_| MtlsError::InvalidCertificate)?;
        Self::from_der(&der)
    }

    /// Read a certificate forwarded by a proxy in a header. Parsing only:
    /// call this only for requests from a trusted proxy. An empty value is
    /// [`MtlsError::Missing`] (nginx sends an empty string when the client
    /// sent no certificate).
    ///
    /// # Errors
    /// [`MtlsError::Missing`], [`MtlsError::InvalidEncoding`],
    /// [`MtlsError::TooLarge`], or the errors of [`from_pem`](Self::from_pem) /
    /// [`from_der`](Self::from_der).
    pub fn from_forwarded_header(
        value: &str,
        encoding: ForwardedCertEncoding,
    ) -> Result<Self, MtlsError> {
        let value = value.trim_matches(|c| c == ' ' || c == '\t');
        if value.is_empty() {
            return Err(MtlsError::Missing);
        }
        if value.len() > MAX_FORWARDED_CERT_LEN {
            return Err(MtlsError::TooLarge);
        }
        match encoding {
            ForwardedCertEncoding::EscapedPem => Self::from_pem(&percent_decode(value)?),
            ForwardedCertEncoding::Base64Der => {
                let decoded;
                let b64: &[u8] = if value.contains('%') {
                    decoded = percent_decode(value)?;
                    &decoded
                } else {
                    value.as_bytes()
                };
                let der = if b64.ends_with(b"=") {
                    STANDARD.decode(b64)
                } else {
                    STANDARD_NO_PAD.decode(b64)
                }
                .map_err(|_| MtlsError::InvalidEncoding)?;
                Self::from_der(&der)
            }
        }
    }

    /// The DER bytes.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The `x5t#S256` thumbprint.
    #[must_use]
    pub fn thumbprint(&self) -> CertificateThumbprint {
        CertificateThumbprint(sha256_b64url(&self.der))
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.thumbprint().0)
            .finish_non_exhaustive()
    }
}

/// Strict percent-decoding: `%` must be followed by two hex digits; `+`
/// stays `+`.
fn percent_decode(value: &str) -> Result<Vec<u8>, MtlsError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut iter = bytes.iter();
    while let Some(&b) = iter.next() {
        if b == b'%' {
            let hi = iter.next().and_then(|h| hex_value(*h));
            let lo = iter.next().and_then(|l| hex_value(*l));
            match (hi, lo) {
                (Some(h), Some(l)) => out.push((h << 4) | l),
                _ => return Err(MtlsError::InvalidEncoding),
            }
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decode_keeps_plus_and_rejects_truncated_escapes() {
        assert_eq!(percent_decode("a+b%2B%0A").unwrap(), b"a+b+\n");
        assert_eq!(percent_decode("%4"), Err(MtlsError::InvalidEncoding));
        assert_eq!(percent_decode("%zz"), Err(MtlsError::InvalidEncoding));
    }
}
