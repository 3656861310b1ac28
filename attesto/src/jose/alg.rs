//! JWS algorithms and allow-lists.

use std::fmt;
use std::str::FromStr;

/// A JWS signature algorithm that attesto can sign and verify with
/// ([RFC 7518 §3.1](https://www.rfc-editor.org/rfc/rfc7518#section-3.1),
/// [RFC 8037 §3.1](https://www.rfc-editor.org/rfc/rfc8037#section-3.1)).
///
/// `none` and the symmetric `HS*` algorithms are deliberately absent: a value
/// of this type can never mean "unsigned", and public-key verification can
/// never be confused with a MAC keyed by public material.
///
/// ```
/// use attesto::jose::Algorithm;
/// assert_eq!("ES256".parse::<Algorithm>().unwrap(), Algorithm::ES256);
/// assert!("none".parse::<Algorithm>().is_err());
/// assert!("HS256".parse::<Algorithm>().is_err());
/// ```
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    PS512,
    /// ECDSA using P-256 and SHA-256.
    ES256,
    /// ECDSA using P-384 and SHA-384.
    ES384,
    /// ECDSA using P-521 and SHA-512.
    ES512,
    /// EdDSA with the Ed25519 curve.
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm, in the order discovery documents list them.
    pub const ALL: [Algorithm; 10] = [
        Algorithm::ES256,
        Algorithm::PS256,
        Algorithm::RS256,
        Algorithm::EdDSA,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::RS384,
        Algorithm::RS512,
    ];

    /// The registered `alg` name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The JWK key type (`kty`) this algorithm needs.
    #[must_use]
    pub const fn key_type(self) -> &'static str {
        match self {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => "RSA",
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => "EC",
            Algorithm::EdDSA => "OKP",
        }
    }

    /// The JWK curve (`crv`) this algorithm needs, for EC and OKP keys.
    #[must_use]
    pub const fn curve(self) -> Option<&'static str> {
        match self {
            Algorithm::ES256 => Some("P-256"),
            Algorithm::ES384 => Some("P-384"),
            Algorithm::ES512 => Some("P-521"),
            Algorithm::EdDSA => Some("Ed25519"),
            _ => None,
        }
    }

    /// The hash used by `at_hash`/`c_hash` (OIDC Core §3.1.3.6): the hash of
    /// the algorithm, SHA-512 for Ed25519.
    #[must_use]
    pub const fn hash_len(self) -> HashLen {
        match self {
            Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => HashLen::Sha256,
            Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => HashLen::Sha384,
            Algorithm::RS512 | Algorithm::PS512 | Algorithm::ES512 | Algorithm::EdDSA => {
                HashLen::Sha512
            }
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The SHA-2 variant an algorithm hashes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashLen {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashLen {
    /// Hash `data` with this SHA-2 variant.
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashLen::Sha256 => openssl::sha::sha256(data).to_vec(),
            HashLen::Sha384 => openssl::sha::sha384(data).to_vec(),
            HashLen::Sha512 => openssl::sha::sha512(data).to_vec(),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `alg` value is not one attesto supports (this includes `none` and `HS*`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported JWS algorithm")]
pub struct UnsupportedAlgorithm;

impl FromStr for Algorithm {
    type Err = UnsupportedAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(UnsupportedAlgorithm)
    }
}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An explicit allow-list of algorithms, checked before any key is touched.
///
/// ```
/// use attesto::jose::{Algorithm, AlgorithmSet};
/// const DPOP_ALGS: AlgorithmSet = AlgorithmSet::new(&[Algorithm::ES256, Algorithm::EdDSA]);
/// assert!(DPOP_ALGS.contains(Algorithm::ES256));
/// assert!(!DPOP_ALGS.contains(Algorithm::RS256));
/// assert_eq!(DPOP_ALGS.to_string(), "ES256 EdDSA");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// No algorithm: every verification against it fails.
    pub const EMPTY: AlgorithmSet = AlgorithmSet(0);

    /// Every supported asymmetric algorithm.
    pub const ALL: AlgorithmSet = AlgorithmSet::new(&Algorithm::ALL);

    /// The set the FAPI 2.0 security profile permits (PS256, ES256, EdDSA).
    pub const FAPI: AlgorithmSet =
        AlgorithmSet::new(&[Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA]);

    /// A set of the given algorithms.
    #[must_use]
    #[allow(clippy::indexing_slicing)] // `i < algs.len()` is the loop condition; const fn cannot use iterators
    pub const fn new(algs: &[Algorithm]) -> Self {
        let mut bits = 0u16;
        let mut i = 0;
        while i < algs.len() {
            bits |= algs[i].bit();
            i += 1;
        }
        AlgorithmSet(bits)
    }

    /// Whether `alg` is allowed.
    #[must_use]
    pub const fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms in both sets.
    #[must_use]
    pub const fn intersection(self, other: AlgorithmSet) -> AlgorithmSet {
        AlgorithmSet(self.0 & other.0)
    }

    /// The set with `alg` added.
    #[must_use]
    pub const fn with(self, alg: Algorithm) -> AlgorithmSet {
        AlgorithmSet(self.0 | alg.bit())
    }

    /// Iterate in discovery order.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Space-separated, as in the `algs` parameter of a DPoP challenge.
impl fmt::Display for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for a in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(a.as_str())?;
        }
        Ok(())
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        iter.into_iter()
            .fold(AlgorithmSet::EMPTY, AlgorithmSet::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_hmac_algorithms_are_unrepresentable() {
        for name in [
            "none", "None", "NONE", "HS256", "HS384", "HS512", "", "es256",
        ] {
            assert!(name.parse::<Algorithm>().is_err(), "{name}");
        }
    }

    #[test]
    fn every_algorithm_round_trips_through_its_name() {
        for a in Algorithm::ALL {
            assert_eq!(a.as_str().parse::<Algorithm>().unwrap(), a);
        }
    }

    #[test]
    fn algorithm_set_membership_is_exact() {
        let s = AlgorithmSet::new(&[Algorithm::PS256]);
        for a in Algorithm::ALL {
            assert_eq!(s.contains(a), a == Algorithm::PS256);
        }
        assert!(AlgorithmSet::EMPTY.is_empty());
        assert_eq!(AlgorithmSet::ALL.iter().count(), Algorithm::ALL.len());
    }
}
