//! Keystores: which key signs, which keys verify, and the published JWKS.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::JoseError;
use super::alg::Algorithm;
use super::jwk::{Jwk, JwkSet};
use super::keys::{SigningKey, VerifyingKey};

/// A published JWK Set with its JSON serialized once, ready to serve.
#[derive(Debug, Clone)]
pub struct JwksDocument {
    set: JwkSet,
    json: Arc<str>,
}

impl JwksDocument {
    /// Build the document (public members only) and serialize it.
    #[must_use]
    pub fn new(set: JwkSet) -> Self {
        let json = serde_json::to_string(&set).unwrap_or_else(|_| String::from(r#"{"keys":[]}"#));
        JwksDocument {
            set,
            json: json.into(),
        }
    }

    /// The keys.
    #[must_use]
    pub fn set(&self) -> &JwkSet {
        &self.set
    }

    /// The serialized JSON (`{"keys":[…]}`), for the `jwks_uri` response.
    #[must_use]
    pub fn json(&self) -> &str {
        &self.json
    }
}

/// The server's keys.
///
/// Implement this to back keys with a KMS or a rotating store; the
/// [`StaticKeystore`] covers keys loaded at start-up. Lookups are on the hot
/// path of every token mint and verification, so they return shared handles
/// and must not block.
pub trait Keystore: Send + Sync + 'static {
    /// The active signer for `alg`, if the server has one.
    fn signing_key(&self, alg: Algorithm) -> Option<Arc<SigningKey>>;

    /// The default signer (the first active key).
    fn default_signing_key(&self) -> Option<Arc<SigningKey>>;

    /// The key that verifies a JWS with this header `kid` and `alg`. With a
    /// `kid`, only a key with that `kid` that supports `alg`; without one, the
    /// active signer for `alg`.
    fn verifying_key(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<VerifyingKey>>;

    /// Every verification key, for the `jwks_uri` document.
    fn jwks(&self) -> Arc<JwksDocument>;
}

/// Where to read key material from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// A PEM private key (PKCS#8 or traditional).
    Pem(String),
    /// A private JWK, or a JWK Set of private keys.
    Json(String),
    /// A file holding PEM or JSON (detected by content).
    File(PathBuf),
    /// An environment variable holding PEM or JSON.
    Env(String),
}

impl KeySource {
    /// Read and parse the keys. PEM yields one key; JSON may be a single JWK
    /// or a set (`{"keys":[…]}`), in order.
    ///
    /// # Errors
    /// [`KeystoreError`] when the source cannot be read or holds no usable key.
    pub fn load(&self) -> Result<Vec<SigningKey>, KeystoreError> {
        let text = match self {
            KeySource::Pem(s) | KeySource::Json(s) => s.clone(),
            KeySource::File(p) => {
                std::fs::read_to_string(p).map_err(|source| KeystoreError::Io {
                    path: p.clone(),
                    source: Arc::new(source),
                })?
            }
            KeySource::Env(var) => {
                std::env::var(var).map_err(|_| KeystoreError::MissingEnv(var.clone()))?
            }
        };
        parse_keys(&text)
    }
}

fn parse_keys(text: &str) -> Result<Vec<SigningKey>, KeystoreError> {
    let trimmed = text.trim();
    if trimmed.starts_with("-----BEGIN") {
        return Ok(vec![SigningKey::from_pem(trimmed, None, None)?]);
    }
    let map = super::jws::parse_json_object(trimmed.as_bytes())?;
    match map.get("keys") {
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Value::Object(m) = item else {
                    return Err(KeystoreError::Key(JoseError::InvalidKey(
                        "a JWK must be a JSON object",
                    )));
                };
                out.push(SigningKey::from_private_map(m.clone(), None, None)?);
            }
            if out.is_empty() {
                return Err(KeystoreError::Empty);
            }
            Ok(out)
        }
        Some(_) => Err(KeystoreError::Key(JoseError::InvalidKey(
            "keys must be an array",
        ))),
        None => Ok(vec![SigningKey::from_private_map(map, None, None)?]),
    }
}

/// Why a keystore could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// A key file could not be read.
    #[error("cannot read key file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The environment variable is not set or not UTF-8.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// A key is unusable.
    #[error("invalid key")]
    Key(#[from] JoseError),
    /// Two keys share a `kid`.
    #[error("duplicate kid {0:?}")]
    DuplicateKid(String),
    /// No signing key was given.
    #[error("the keystore has no signing key")]
    Empty,
}

/// Keys fixed at start-up, with rotation.
///
/// Keys are added in order of preference: the first key of each algorithm
/// is that algorithm's active signer; later keys of the same algorithm, and
/// keys added with [`StaticKeystoreBuilder::retired`] or
/// [`StaticKeystoreBuilder::public`], only verify. Every verification key is
/// published, so tokens signed by a key being rotated out keep verifying
/// until they expire.
///
/// ```
/// use attesto::jose::{Algorithm, Keystore, SigningKey, StaticKeystore};
/// let new = SigningKey::generate(Algorithm::ES256).unwrap();
/// let old = SigningKey::generate(Algorithm::ES256).unwrap();
/// let (new_kid, old_kid) = (new.kid().to_owned(), old.kid().to_owned());
/// let ks = StaticKeystore::builder().key(new).key(old).build().unwrap();
/// assert_eq!(ks.signing_key(Algorithm::ES256).unwrap().kid(), new_kid);
/// assert!(ks.verifying_key(Some(&old_kid), Algorithm::ES256).is_some());
/// assert_eq!(ks.jwks().set().keys.len(), 2);
/// ```
#[derive(Debug)]
pub struct StaticKeystore {
    active: Vec<Arc<SigningKey>>,
    verifiers: Vec<(String, Arc<VerifyingKey>)>,
    jwks: Arc<JwksDocument>,
}

impl StaticKeystore {
    /// Start building.
    #[must_use]
    pub fn builder() -> StaticKeystoreBuilder {
        StaticKeystoreBuilder::default()
    }

    /// A keystore with one freshly generated key (tests and demos).
    ///
    /// # Errors
    /// If key generation fails.
    pub fn generate(alg: Algorithm) -> Result<Self, KeystoreError> {
        Self::builder().key(SigningKey::generate(alg)?).build()
    }
}

impl Keystore for StaticKeystore {
    fn signing_key(&self, alg: Algorithm) -> Option<Arc<SigningKey>> {
        self.active.iter().find(|k| k.algorithm() == alg).cloned()
    }

    fn default_signing_key(&self) -> Option<Arc<SigningKey>> {
        self.active.first().cloned()
    }

    fn verifying_key(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<VerifyingKey>> {
        match kid {
            Some(kid) => self
                .verifiers
                .iter()
                .find(|(k, v)| k == kid && v.jwk().supports(alg))
                .map(|(_, v)| Arc::clone(v)),
            None => self.signing_key(alg).and_then(|s| {
                self.verifiers
                    .iter()
                    .find(|(k, _)| k == s.kid())
                    .map(|(_, v)| Arc::clone(v))
            }),
        }
    }

    fn jwks(&self) -> Arc<JwksDocument> {
        Arc::clone(&self.jwks)
    }
}

/// Builder for [`StaticKeystore`].
#[derive(Debug, Default)]
pub struct StaticKeystoreBuilder {
    signing: Vec<SigningKey>,
    retired: Vec<SigningKey>,
    public: Vec<Jwk>,
    error: Option<KeystoreError>,
}

impl StaticKeystoreBuilder {
    /// Add a key; the first key of each algorithm signs.
    #[must_use]
    pub fn key(mut self, key: SigningKey) -> Self {
        self.signing.push(key);
        self
    }

    /// Add every key of a source, in order.
    #[must_use]
    pub fn source(mut self, source: &KeySource) -> Self {
        match source.load() {
            Ok(keys) => self.signing.extend(keys),
            Err(e) => self.error = self.error.or(Some(e)),
        }
        self
    }

    /// Add a key that is published and verifies but never signs.
    #[must_use]
    pub fn retired(mut self, key: SigningKey) -> Self {
        self.retired.push(key);
        self
    }

    /// Publish a public key whose private half is gone (or held elsewhere).
    #[must_use]
    pub fn public(mut self, jwk: Jwk) -> Self {
        self.public.push(jwk);
        self
    }

    /// Build the keystore.
    ///
    /// # Errors
    /// The first source error; [`KeystoreError::Empty`] without a signing
    /// key; [`KeystoreError::DuplicateKid`] when two keys share a `kid`.
    pub fn build(self) -> Result<StaticKeystore, KeystoreError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.signing.is_empty() {
            return Err(KeystoreError::Empty);
        }
        let mut active: Vec<Arc<SigningKey>> = Vec::new();
        let mut published: Vec<Jwk> = Vec::new();
        let mut verifiers: Vec<(String, Arc<VerifyingKey>)> = Vec::new();
        let mut add_verifier = |kid: String, jwk: Jwk| -> Result<(), KeystoreError> {
            if verifiers.iter().any(|(k, _)| *k == kid) {
                return Err(KeystoreError::DuplicateKid(kid));
            }
            let alg_set = match jwk.alg() {
                Some(a) => super::AlgorithmSet::new(&[a]),
                None => super::AlgorithmSet::ALL,
            };
            let v = VerifyingKey::from_jwk(jwk.clone(), alg_set)?;
            published.push(jwk);
            verifiers.push((kid, Arc::new(v)));
            Ok(())
        };
        for key in self.signing {
            add_verifier(key.kid().to_owned(), key.public_jwk().clone())?;
            if active.iter().all(|a| a.algorithm() != key.algorithm()) {
                active.push(Arc::new(key));
            }
        }
        for key in self.retired {
            add_verifier(key.kid().to_owned(), key.public_jwk().clone())?;
        }
        for jwk in self.public {
            let kid = match jwk.kid() {
                Some(k) => k.to_owned(),
                None => jwk.thumbprint(),
            };
            let mut m: Map<String, Value> = jwk.as_map().clone();
            m.insert("kid".into(), Value::String(kid.clone()));
            add_verifier(kid, Jwk::from_map(m)?)?;
        }
        Ok(StaticKeystore {
            active,
            verifiers,
            jwks: Arc::new(JwksDocument::new(JwkSet { keys: published })),
        })
    }
}
