//! Signing and verification keys.

use std::fmt;

use josekit::jwk::KeyPair as _;
use josekit::jwk::alg::{ec::EcKeyPair, ed::EdKeyPair, rsa::RsaKeyPair};
use josekit::jws::{JwsSigner, JwsVerifier};
use serde_json::{Map, Value};

use super::JoseError;
use super::alg::{Algorithm, AlgorithmSet};
use super::jwk::Jwk;
use crate::secret::Secret;

/// The smallest RSA modulus attesto accepts, in bits (RFC 7518 §3.3).
pub const MIN_RSA_BITS: u32 = 2048;

/// A public key able to verify JWS signatures for a fixed set of algorithms.
///
/// The verifiers are built once at construction, so verification on the hot
/// path does no key parsing.
pub struct VerifyingKey {
    jwk: Jwk,
    thumbprint: String,
    verifiers: Vec<(Algorithm, Box<dyn JwsVerifier>)>,
}

impl VerifyingKey {
    /// A verifying key for every algorithm in `allowed` that the key supports.
    ///
    /// # Errors
    /// [`JoseError::KeyMismatch`] when the key supports none of `allowed`;
    /// [`JoseError::InvalidKey`] when the key material is unusable (for
    /// example an RSA modulus under 2048 bits or a point not on the curve).
    pub fn from_jwk(jwk: Jwk, allowed: AlgorithmSet) -> Result<Self, JoseError> {
        let algs = jwk.supported_algorithms(allowed);
        if algs.is_empty() {
            return Err(JoseError::KeyMismatch);
        }
        let native = jwk.to_josekit()?;
        let mut verifiers = Vec::new();
        for alg in algs.iter() {
            verifiers.push((alg, verifier_for(alg, &native)?));
        }
        let thumbprint = jwk.thumbprint();
        Ok(VerifyingKey {
            jwk,
            thumbprint,
            verifiers,
        })
    }

    /// The public key.
    #[must_use]
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The RFC 7638 SHA-256 thumbprint of the key.
    #[must_use]
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The algorithms this key verifies.
    #[must_use]
    pub fn algorithms(&self) -> AlgorithmSet {
        self.verifiers.iter().map(|(a, _)| *a).collect()
    }

    /// Verify `signature` over `message` with `alg`.
    ///
    /// # Errors
    /// [`JoseError::KeyMismatch`] when this key is not usable with `alg`;
    /// [`JoseError::InvalidSignature`] when the signature does not verify.
    pub fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError> {
        let (_, v) = self
            .verifiers
            .iter()
            .find(|(a, _)| *a == alg)
            .ok_or(JoseError::KeyMismatch)?;
        v.verify(message, signature)
            .map_err(|_| JoseError::InvalidSignature)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.jwk.kid())
            .field("kty", &self.jwk.kty())
            .field("algorithms", &self.algorithms())
            .finish()
    }
}

fn verifier_for(
    alg: Algorithm,
    jwk: &josekit::jwk::Jwk,
) -> Result<Box<dyn JwsVerifier>, JoseError> {
    use josekit::jws;
    let r: Result<Box<dyn JwsVerifier>, josekit::JoseError> = match alg {
        Algorithm::RS256 => jws::RS256.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::RS384 => jws::RS384.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::RS512 => jws::RS512.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::PS256 => jws::PS256.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::PS384 => jws::PS384.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::PS512 => jws::PS512.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::ES256 => jws::ES256.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::ES384 => jws::ES384.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::ES512 => jws::ES512.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::EdDSA => jws::EdDSA.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
    };
    r.map_err(|_| JoseError::InvalidKey("the key cannot verify this algorithm"))
}

fn signer_for(alg: Algorithm, jwk: &josekit::jwk::Jwk) -> Result<Box<dyn JwsSigner>, JoseError> {
    use josekit::jws;
    let r: Result<Box<dyn JwsSigner>, josekit::JoseError> = match alg {
        Algorithm::RS256 => jws::RS256.signer_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::RS384 => jws::RS384.signer_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::RS512 => jws::RS512.signer_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::PS256 => jws::PS256.signer_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::PS384 => jws::PS384.signer_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::PS512 => jws::PS512.signer_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::ES256 => jws::ES256.signer_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::ES384 => jws::ES384.signer_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::ES512 => jws::ES512.signer_from_jwk(jwk).map(|v| Box::new(v) as _),
        Algorithm::EdDSA => jws::EdDSA.signer_from_jwk(jwk).map(|v| Box::new(v) as _),
    };
    r.map_err(|_| JoseError::InvalidKey("the private key cannot sign with this algorithm"))
}

/// The algorithm a key is used with when none is given: RS256 for RSA (the
/// OpenID Connect default), the curve's ECDSA algorithm for EC, EdDSA for OKP.
fn default_alg(kty: &str, crv: Option<&str>) -> Result<Algorithm, JoseError> {
    match (kty, crv) {
        ("RSA", _) => Ok(Algorithm::RS256),
        ("EC", Some("P-256")) => Ok(Algorithm::ES256),
        ("EC", Some("P-384")) => Ok(Algorithm::ES384),
        ("EC", Some("P-521")) => Ok(Algorithm::ES512),
        ("OKP", Some("Ed25519")) => Ok(Algorithm::EdDSA),
        _ => Err(JoseError::InvalidKey("unsupported key type or curve")),
    }
}

/// A private signing key bound to one algorithm and one `kid`.
///
/// Its `Debug` never shows key material. The public half is derived from the
/// private key, so a keystore cannot publish a public key that does not match.
///
/// ```
/// use attesto::jose::{Algorithm, SigningKey};
/// let key = SigningKey::generate(Algorithm::ES256).unwrap();
/// assert_eq!(key.algorithm(), Algorithm::ES256);
/// // kid defaults to the RFC 7638 thumbprint of the public key
/// assert_eq!(key.kid(), key.verifying_key().thumbprint());
/// assert!(!format!("{key:?}").contains("\"d\""));
/// ```
pub struct SigningKey {
    alg: Algorithm,
    kid: String,
    signer: Box<dyn JwsSigner>,
    verifying: VerifyingKey,
    published: Jwk,
    private: Map<String, Value>,
}

impl SigningKey {
    /// Generate a fresh key for `alg` (RSA keys are 2048 bits).
    ///
    /// # Errors
    /// [`JoseError::Crypto`] when key generation fails.
    pub fn generate(alg: Algorithm) -> Result<Self, JoseError> {
        let jwk = match alg.key_type() {
            "RSA" => RsaKeyPair::generate(MIN_RSA_BITS).map(|k| k.to_jwk_key_pair()),
            "EC" => {
                let curve = match alg {
                    Algorithm::ES384 => josekit::jwk::alg::ec::EcCurve::P384,
                    Algorithm::ES512 => josekit::jwk::alg::ec::EcCurve::P521,
                    _ => josekit::jwk::alg::ec::EcCurve::P256,
                };
                EcKeyPair::generate(curve).map(|k| k.to_jwk_key_pair())
            }
            _ => EdKeyPair::generate(josekit::jwk::alg::ed::EdCurve::Ed25519)
                .map(|k| k.to_jwk_key_pair()),
        }
        .map_err(|_| JoseError::Crypto)?;
        Self::from_private_map(jwk.as_ref().clone(), Some(alg), None)
    }

    /// Load a private key from PEM (PKCS#8, or traditional RSA/EC PEM).
    ///
    /// `alg` defaults by key type (RS256, ES256/384/512 by curve, EdDSA);
    /// `kid` defaults to the RFC 7638 thumbprint.
    ///
    /// # Errors
    /// [`JoseError::InvalidKey`] for anything that is not a supported private key.
    pub fn from_pem(
        pem: &str,
        alg: Option<Algorithm>,
        kid: Option<&str>,
    ) -> Result<Self, JoseError> {
        let pkey = openssl::pkey::PKey::private_key_from_pem(pem.as_bytes())
            .map_err(|_| JoseError::InvalidKey("not a PEM private key"))?;
        use openssl::pkey::Id;
        let jwk = match pkey.id() {
            Id::RSA => RsaKeyPair::from_pem(pem).map(|k| k.to_jwk_key_pair()),
            Id::EC => EcKeyPair::from_pem(pem, None).map(|k| k.to_jwk_key_pair()),
            Id::ED25519 => EdKeyPair::from_pem(pem).map(|k| k.to_jwk_key_pair()),
            _ => return Err(JoseError::InvalidKey("unsupported private key type")),
        }
        .map_err(|_| JoseError::InvalidKey("unusable PEM private key"))?;
        Self::from_private_map(jwk.as_ref().clone(), alg, kid)
    }

    /// Load a private key from a private JWK (JSON). `alg` and `kid` are taken
    /// from the JWK when present.
    ///
    /// # Errors
    /// [`JoseError::InvalidKey`] when the JWK is not a supported private key.
    pub fn from_jwk_json(json: &str) -> Result<Self, JoseError> {
        let map = super::json::parse_object(json.as_bytes())
            .map_err(|_| JoseError::InvalidKey("not a JSON object"))?;
        Self::from_private_map(map, None, None)
    }

    pub(crate) fn from_private_map(
        map: Map<String, Value>,
        alg: Option<Algorithm>,
        kid: Option<&str>,
    ) -> Result<Self, JoseError> {
        if !map.get("d").is_some_and(Value::is_string) {
            return Err(JoseError::InvalidKey(
                "a private JWK needs the private member d",
            ));
        }
        let kty = map.get("kty").and_then(Value::as_str).unwrap_or("");
        let crv = map.get("crv").and_then(Value::as_str);
        let declared = match map.get("alg") {
            None => None,
            Some(Value::String(a)) => Some(
                a.parse::<Algorithm>()
                    .map_err(|_| JoseError::InvalidKey("unsupported alg"))?,
            ),
            Some(_) => return Err(JoseError::InvalidKey("alg must be a string")),
        };
        let alg = match (alg, declared) {
            (Some(a), Some(d)) if a != d => return Err(JoseError::KeyMismatch),
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => default_alg(kty, crv)?,
        };
        let mut public_map = map.clone();
        public_map.remove("alg");
        public_map.remove("kid");
        let public = Jwk::public_from_private(&public_map)?;
        if !public.supports(alg) {
            return Err(JoseError::KeyMismatch);
        }
        let kid = match (kid, map.get("kid")) {
            (Some(k), _) => k.to_owned(),
            (None, Some(Value::String(k))) => k.clone(),
            (None, Some(_)) => return Err(JoseError::InvalidKey("kid must be a string")),
            (None, None) => public.thumbprint(),
        };
        let mut native_map = map.clone();
        native_map.remove("alg");
        native_map.remove("kid");
        native_map.remove("key_ops");
        native_map.remove("use");
        let native = josekit::jwk::Jwk::from_map(native_map.clone())
            .map_err(|_| JoseError::InvalidKey("unusable key"))?;
        let signer = signer_for(alg, &native)?;
        let published = public.clone().with_kid_alg(&kid, Some(alg));
        let verifying = VerifyingKey::from_jwk(published.clone(), AlgorithmSet::new(&[alg]))?;
        Ok(SigningKey {
            alg,
            kid,
            signer,
            verifying,
            published,
            private: native_map,
        })
    }

    /// The algorithm this key signs with.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key identifier placed in the `kid` header.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, as published in the JWKS (with `kid`, `alg`, `use`).
    #[must_use]
    pub fn public_jwk(&self) -> &Jwk {
        &self.published
    }

    /// A verifying key for this key's signatures.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    /// Sign `message`, returning the JWS signature bytes.
    ///
    /// # Errors
    /// [`JoseError::Crypto`] if the signing operation fails.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.signer.sign(message).map_err(|_| JoseError::Crypto)
    }

    /// The private key as a JWK (JSON, with `kid` and `alg`), for persisting
    /// a generated key. Handle it as the secret it is.
    #[must_use]
    pub fn to_private_jwk_json(&self) -> Secret {
        let mut m = self.private.clone();
        m.insert("kid".into(), Value::String(self.kid.clone()));
        m.insert("alg".into(), Value::String(self.alg.as_str().into()));
        Secret::new(Value::Object(m).to_string())
    }

    /// The private key as PKCS#8 PEM, for persisting a generated key.
    ///
    /// # Errors
    /// [`JoseError::Crypto`] if the key cannot be re-encoded.
    pub fn to_pkcs8_pem(&self) -> Result<Secret, JoseError> {
        let native =
            josekit::jwk::Jwk::from_map(self.private.clone()).map_err(|_| JoseError::Crypto)?;
        let pem = match self.alg.key_type() {
            "RSA" => RsaKeyPair::from_jwk(&native).map(|k| k.to_pem_private_key()),
            "EC" => EcKeyPair::from_jwk(&native).map(|k| k.to_pem_private_key()),
            _ => EdKeyPair::from_jwk(&native).map(|k| k.to_pem_private_key()),
        }
        .map_err(|_| JoseError::Crypto)?;
        String::from_utf8(pem)
            .map(Secret::new)
            .map_err(|_| JoseError::Crypto)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}
