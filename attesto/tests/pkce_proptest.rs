//! Properties of PKCE parsing and verification over arbitrary input.

// Test code: a panic on an unexpected value is the failure report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use attesto::pkce::{
    CodeChallenge, CodeChallengeMethod, CodeVerifier, Pkce, verify, verify_redemption,
};
use attesto::secret::sha256_b64url;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic_on_arbitrary_strings(s in any::<String>(), m in any::<String>()) {
        let _ = CodeVerifier::parse(&s);
        let _ = CodeChallenge::parse(&s);
        let _ = CodeChallengeMethod::parse(&m);
        let _ = Pkce::from_authorization_request(Some(&s), Some(&m));
        let _ = Pkce::from_authorization_request(Some(&s), None);
    }

    #[test]
    fn accepted_verifiers_are_43_to_128_unreserved(s in "[A-Za-z0-9._~+/= -]{0,140}") {
        let ok = CodeVerifier::parse(&s).is_ok();
        let expected = (43..=128).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        prop_assert_eq!(ok, expected);
    }

    #[test]
    fn valid_verifier_verifies_against_its_own_challenge_only(
        v in "[A-Za-z0-9._~-]{43,128}", w in "[A-Za-z0-9._~-]{43,128}"
    ) {
        let v = CodeVerifier::parse(&v).unwrap();
        let w = CodeVerifier::parse(&w).unwrap();
        let c = v.challenge();
        prop_assert_eq!(c.as_str(), sha256_b64url(v.expose().as_bytes()));
        prop_assert!(verify(&c, CodeChallengeMethod::S256, &v).is_ok());
        prop_assert_eq!(verify(&c, CodeChallengeMethod::S256, &w).is_ok(), v.expose() == w.expose());
        let bound = Pkce::s256(c);
        prop_assert!(verify_redemption(Some(&bound), Some(v.expose())).is_ok());
    }

    #[test]
    fn accepted_challenges_are_canonical_base64url_of_32_bytes(s in "[A-Za-z0-9_=+/-]{40,46}") {
        if let Ok(c) = CodeChallenge::parse(&s) {
            prop_assert_eq!(c.as_str().len(), 43);
            prop_assert!(!s.contains('=') && !s.contains('+') && !s.contains('/'));
        }
    }

    #[test]
    fn challenge_of_any_32_bytes_parses(bytes in proptest::array::uniform32(any::<u8>())) {
        use base64::Engine as _;
        let s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        prop_assert!(CodeChallenge::parse(&s).is_ok());
    }
}
