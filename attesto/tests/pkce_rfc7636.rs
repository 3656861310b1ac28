//! PKCE (RFC 7636), S256 only.

// Test code: a panic on an unexpected value is the failure report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicU8, Ordering};

use attesto::error::{ErrorCode, OAuthError};
use attesto::pkce::{
    CHALLENGE_LEN, CodeChallenge, CodeChallengeMethod, CodeVerifier, MAX_VERIFIER_LEN,
    MIN_VERIFIER_LEN, Pkce, PkceError, verify, verify_redemption,
};
use attesto::secret::{OsRandom, RandomError, RandomSource};

const B_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const B_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn bound() -> Pkce {
    Pkce::from_authorization_request(Some(B_CHALLENGE), Some("S256"))
        .unwrap()
        .unwrap()
}

#[test]
fn rfc7636_appendix_b_vector_matches() {
    let v = CodeVerifier::parse(B_VERIFIER).unwrap();
    assert_eq!(v.challenge().as_str(), B_CHALLENGE);
    let c = CodeChallenge::parse(B_CHALLENGE).unwrap();
    assert!(verify(&c, CodeChallengeMethod::S256, &v).is_ok());
    assert!(c.matches(&v));
}

#[test]
fn plain_method_is_rejected() {
    assert_eq!(
        CodeChallengeMethod::parse("plain"),
        Err(PkceError::PlainNotSupported)
    );
    assert_eq!(
        Pkce::from_authorization_request(Some(B_CHALLENGE), Some("plain")),
        Err(PkceError::PlainNotSupported)
    );
    // With plain, the challenge would be the verifier itself: still refused.
    assert_eq!(
        Pkce::from_authorization_request(Some(B_VERIFIER), Some("plain")),
        Err(PkceError::PlainNotSupported)
    );
}

// seed-catalog-2 Must-test 121: code_challenge_method=plain → an error (only S256).
#[test]
fn challenge_without_method_defaults_to_plain_and_is_rejected() {
    assert_eq!(
        Pkce::from_authorization_request(Some(B_CHALLENGE), None),
        Err(PkceError::PlainNotSupported)
    );
    let err: OAuthError = PkceError::PlainNotSupported.into();
    assert_eq!(err.code(), &ErrorCode::InvalidRequest);
}

#[test]
fn unknown_methods_are_rejected_case_sensitively() {
    for m in ["s256", "S384", "SHA256", "S256 ", " S256"] {
        assert_eq!(
            CodeChallengeMethod::parse(m),
            Err(PkceError::UnsupportedMethod),
            "{m:?}"
        );
    }
}

#[test]
fn method_without_challenge_is_rejected() {
    assert_eq!(
        Pkce::from_authorization_request(None, Some("S256")),
        Err(PkceError::MethodWithoutChallenge)
    );
    assert_eq!(
        Pkce::from_authorization_request(Some(""), Some("S256")),
        Err(PkceError::MethodWithoutChallenge)
    );
}

#[test]
fn no_pkce_parameters_means_no_binding() {
    assert_eq!(Pkce::from_authorization_request(None, None), Ok(None));
    assert_eq!(
        Pkce::from_authorization_request(Some(""), Some("")),
        Ok(None)
    );
}

#[test]
fn malformed_challenges_are_rejected() {
    let padded = format!("{B_CHALLENGE}=");
    let short = &B_CHALLENGE[..42];
    let std_alphabet = B_CHALLENGE.replace('-', "+");
    // Last char 'M' → 'N' changes the (must-be-zero) trailing bits.
    let non_canonical = format!("{}N", &B_CHALLENGE[..42]);
    for bad in [
        padded.as_str(),
        short,
        std_alphabet.as_str(),
        non_canonical.as_str(),
        "",
        &"A".repeat(44),
    ] {
        assert_eq!(
            CodeChallenge::parse(bad),
            Err(PkceError::InvalidChallenge),
            "{bad:?}"
        );
    }
    assert_eq!(
        Pkce::from_authorization_request(Some("short"), Some("S256")),
        Err(PkceError::InvalidChallenge)
    );
}

#[test]
fn verifier_length_bounds_are_43_to_128() {
    assert!(CodeVerifier::parse(&"a".repeat(MIN_VERIFIER_LEN)).is_ok());
    assert!(CodeVerifier::parse(&"a".repeat(MAX_VERIFIER_LEN)).is_ok());
    assert_eq!(
        CodeVerifier::parse(&"a".repeat(MIN_VERIFIER_LEN - 1)).unwrap_err(),
        PkceError::InvalidVerifier
    );
    assert_eq!(
        CodeVerifier::parse(&"a".repeat(MAX_VERIFIER_LEN + 1)).unwrap_err(),
        PkceError::InvalidVerifier
    );
}

#[test]
fn verifier_must_use_the_unreserved_set() {
    let ok = format!("{}-._~", "Az09".repeat(10));
    assert!(CodeVerifier::parse(&ok).is_ok());
    for c in ['+', '/', '=', ' ', '%', '\n', 'é'] {
        let bad = format!("{}{c}", "a".repeat(43));
        assert_eq!(
            CodeVerifier::parse(&bad).unwrap_err(),
            PkceError::InvalidVerifier,
            "{c:?}"
        );
    }
}

// seed-catalog-1 §4 item 93: missing verifier → invalid_grant (not invalid_request).
#[test]
fn challenge_bound_code_without_verifier_is_invalid_grant() {
    let err = verify_redemption(Some(&bound()), None).unwrap_err();
    assert_eq!(err, PkceError::VerifierMissing);
    assert_eq!(OAuthError::from(err).code(), &ErrorCode::InvalidGrant);
    assert_eq!(
        verify_redemption(Some(&bound()), Some("")).unwrap_err(),
        PkceError::VerifierMissing
    );
}

// seed-catalog-1 §4 item 93: wrong verifier → invalid_grant.
#[test]
fn wrong_verifier_is_invalid_grant() {
    let other = "a".repeat(43);
    let err = verify_redemption(Some(&bound()), Some(&other)).unwrap_err();
    assert_eq!(err, PkceError::Mismatch);
    assert_eq!(OAuthError::from(err).code(), &ErrorCode::InvalidGrant);
}

#[test]
fn verifier_errors_collapse_into_one_description() {
    let descs: Vec<_> = [
        PkceError::VerifierMissing,
        PkceError::InvalidVerifier,
        PkceError::Mismatch,
        PkceError::UnexpectedVerifier,
    ]
    .into_iter()
    .map(|e| OAuthError::from(e).json_body())
    .collect();
    assert!(descs.windows(2).all(|w| w[0] == w[1]), "{descs:?}");
}

#[test]
fn malformed_verifier_at_redemption_is_invalid_grant() {
    let err = verify_redemption(Some(&bound()), Some("short")).unwrap_err();
    assert_eq!(err, PkceError::InvalidVerifier);
    assert_eq!(OAuthError::from(err).code(), &ErrorCode::InvalidGrant);
}

#[test]
fn right_verifier_redeems() {
    assert!(verify_redemption(Some(&bound()), Some(B_VERIFIER)).is_ok());
}

#[test]
fn verifier_for_a_code_without_challenge_is_refused() {
    assert_eq!(
        verify_redemption(None, Some(B_VERIFIER)),
        Err(PkceError::UnexpectedVerifier)
    );
    assert_eq!(verify_redemption(None, None), Ok(()));
}

// seed-catalog-1 §4 item 47 (PKCE side): a plain request can never carry the S256 binding.
#[test]
fn s256_binding_is_not_reachable_with_plain_and_the_same_challenge() {
    let s256 = Pkce::from_authorization_request(Some(B_CHALLENGE), Some("S256")).unwrap();
    let plain = Pkce::from_authorization_request(Some(B_CHALLENGE), Some("plain"));
    assert!(s256.is_some());
    assert!(plain.is_err());
}

#[test]
fn generated_verifiers_are_valid_unique_and_hidden_from_debug() {
    let a = CodeVerifier::generate(&OsRandom).unwrap();
    let b = CodeVerifier::generate(&OsRandom).unwrap();
    assert_ne!(a.expose(), b.expose());
    assert_eq!(a.expose().len(), 43);
    assert!(CodeVerifier::parse(a.expose()).is_ok());
    assert!(CodeChallenge::parse(a.challenge().as_str()).is_ok());
    assert_eq!(a.challenge().as_str().len(), CHALLENGE_LEN);
    assert!(!format!("{a:?}").contains(a.expose()));
    let p = Pkce::s256(a.challenge());
    assert!(p.verify(Some(a.expose())).is_ok());
    assert_eq!(p.verify(Some(b.expose())), Err(PkceError::Mismatch));
}

struct Counter(AtomicU8);

impl RandomSource for Counter {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        for b in buf {
            *b = self.0.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

struct Broken;

impl RandomSource for Broken {
    fn fill(&self, _buf: &mut [u8]) -> Result<(), RandomError> {
        Err(RandomError)
    }
}

#[test]
fn generate_uses_the_injected_random_source() {
    let v = CodeVerifier::generate(&Counter(AtomicU8::new(0))).unwrap();
    // base64url of bytes 0..32.
    assert_eq!(v.expose(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
    assert!(CodeVerifier::generate(&Broken).is_err());
}

#[test]
fn pkce_serializes_for_storage_and_revalidates_on_load() {
    let p = bound();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(
        json,
        format!(r#"{{"challenge":"{B_CHALLENGE}","method":"S256"}}"#)
    );
    assert_eq!(serde_json::from_str::<Pkce>(&json).unwrap(), p);
    assert!(
        serde_json::from_str::<Pkce>(&format!(
            r#"{{"challenge":"{B_CHALLENGE}","method":"plain"}}"#
        ))
        .is_err()
    );
    assert!(serde_json::from_str::<Pkce>(r#"{"challenge":"x","method":"S256"}"#).is_err());
}

#[test]
fn pkce_error_messages_never_contain_the_input() {
    let err = verify_redemption(
        Some(&bound()),
        Some("secretsecretsecretsecretsecretsecretsecret1"),
    )
    .unwrap_err();
    assert!(!err.to_string().contains("secret"));
    assert!(!OAuthError::from(err).json_body().contains("secret"));
}
