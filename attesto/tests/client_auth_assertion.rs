//! private_key_jwt client assertions (RFC 7523 §3, RFC 7521 §5.2, OIDC Core §9).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dpop_support;

use attesto::client_auth::{AssertionError, AssertionVerifier};
use attesto::dpop::{ReplayScope, SingleNodeReplayGuard};
use attesto::jose::{Algorithm, AlgorithmSet, JoseError, JwkSet, SigningKey};
use dpop_support::*;
use serde_json::{Value, json};

const ISSUER: &str = "https://as.example.com";
const TOKEN_ENDPOINT: &str = "https://as.example.com/oauth/token";
const CLIENT: &str = "svc-client";

fn verifier() -> AssertionVerifier {
    AssertionVerifier::builder(ISSUER)
        .algorithms(AlgorithmSet::ALL)
        .build()
        .unwrap()
}

fn jwks(keys: &[&SigningKey]) -> JwkSet {
    let v = json!({"keys": keys.iter().map(|k| public_jwk_value(k)).collect::<Vec<_>>()});
    JwkSet::from_value(&v).unwrap()
}

fn claims() -> Value {
    json!({"iss": CLIENT, "sub": CLIENT, "aud": ISSUER, "iat": NOW, "exp": NOW + 60, "jti": jti()})
}

fn header(k: &SigningKey) -> Value {
    json!({"alg": k.algorithm().as_str(), "kid": k.kid(), "typ": "JWT"})
}

fn sign(k: &SigningKey, claims: &Value) -> String {
    sign_json(k, &header(k), claims)
}

fn check(
    assertion: &str,
    set: &JwkSet,
) -> Result<attesto::client_auth::VerifiedAssertion, AssertionError> {
    verifier().verify(assertion, CLIENT, set, NOW)
}

#[test]
fn valid_assertion_is_accepted_for_every_algorithm() {
    for alg in Algorithm::ALL {
        let k = key(alg);
        let c = claims();
        let v = check(&sign(&k, &c), &jwks(&[&k])).unwrap_or_else(|e| panic!("{alg}: {e:?}"));
        assert_eq!(v.client_id, CLIENT);
        assert_eq!(v.jti, c["jti"].as_str().unwrap());
        assert_eq!(v.alg, alg);
        assert_eq!(v.kid.as_deref(), Some(k.kid()));
        assert_eq!((v.exp, v.iat), (NOW + 60, Some(NOW)));
    }
}

// seed-catalog-2 Must-test 10, seed-catalog-1 Must-test 100: aud = issuer is
// accepted; aud = the token endpoint URL is refused (confused deputy).
#[test]
fn audience_must_be_the_issuer_not_the_endpoint_url() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    let mut c = claims();
    check(&sign(&k, &c), &set).unwrap();
    c["aud"] = json!([ISSUER]);
    check(&sign(&k, &c), &set).unwrap();
    for bad in [
        json!(TOKEN_ENDPOINT),
        json!([TOKEN_ENDPOINT]),
        json!([ISSUER, TOKEN_ENDPOINT]),
        json!(format!("{ISSUER}/")),
        json!("https://evil.example"),
        json!([]),
        json!(1),
    ] {
        c["aud"] = bad.clone();
        let e = check(&sign(&k, &c), &set).unwrap_err();
        assert!(matches!(e, AssertionError::WrongAudience), "{bad}: {e:?}");
    }
    c.as_object_mut().unwrap().remove("aud");
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::MissingClaim("aud"))
    ));
}

#[test]
fn wrong_iss_or_sub_is_rejected() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    let mut c = claims();
    c["iss"] = json!("other");
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::IssuerMismatch)
    ));
    let mut c = claims();
    c["sub"] = json!("other");
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::SubjectMismatch)
    ));
    let mut c = claims();
    c.as_object_mut().unwrap().remove("iss");
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::MissingClaim("iss"))
    ));
    // the assertion is valid, but for another client
    let e = verifier()
        .verify(&sign(&k, &claims()), "someone-else", &set, NOW)
        .unwrap_err();
    assert!(matches!(e, AssertionError::IssuerMismatch));
}

#[test]
fn expired_assertion_is_rejected() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    let leeway = 30;
    let mut c = claims();
    c["iat"] = json!(NOW - 100);
    c["exp"] = json!(NOW - leeway + 1);
    check(&sign(&k, &c), &set).unwrap(); // within leeway
    c["exp"] = json!(NOW - leeway);
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::Expired)
    ));
    c.as_object_mut().unwrap().remove("exp");
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::MissingClaim("exp"))
    ));
    c["exp"] = json!("tomorrow");
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::InvalidClaim("exp"))
    ));
}

// seed-catalog-2 Must-test 12: lifetime beyond assertion_max_lifetime → refused.
#[test]
fn lifetime_too_long_is_rejected() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    let max = verifier().max_lifetime();
    let mut c = claims();
    c["exp"] = json!(NOW + max);
    check(&sign(&k, &c), &set).unwrap();
    c["exp"] = json!(NOW + max + 1);
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::LifetimeTooLong)
    ));
    // without iat the remaining lifetime is bounded
    c.as_object_mut().unwrap().remove("iat");
    c["exp"] = json!(NOW + max + 31);
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::LifetimeTooLong)
    ));
    // an old iat cannot stretch the window either
    let mut c = claims();
    c["iat"] = json!(NOW - 1000);
    c["exp"] = json!(NOW + 60);
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::LifetimeTooLong)
    ));
    // exp before iat is nonsense
    let mut c = claims();
    c["exp"] = json!(NOW);
    c["iat"] = json!(NOW + 5);
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::InvalidClaim("exp"))
    ));
}

#[test]
fn nbf_or_iat_in_the_future_is_rejected() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    let mut c = claims();
    c["nbf"] = json!(NOW + 31);
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::NotYetValid)
    ));
    c["nbf"] = json!(NOW + 30);
    check(&sign(&k, &c), &set).unwrap();
    let mut c = claims();
    c["iat"] = json!(NOW + 31);
    c["exp"] = json!(NOW + 90);
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::IssuedInFuture)
    ));
}

#[test]
fn jti_is_required() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    let mut c = claims();
    c.as_object_mut().unwrap().remove("jti");
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::MissingClaim("jti"))
    ));
    for bad in [json!(""), json!(5), json!("j".repeat(257))] {
        c["jti"] = bad;
        assert!(matches!(
            check(&sign(&k, &c), &set),
            Err(AssertionError::InvalidClaim("jti"))
        ));
    }
}

// seed-catalog-2 Must-test 11, seed-catalog-1 Must-test 120: the same
// assertion (same jti) twice → the second is refused; the replay record
// lives at least assertion_max_lifetime.
#[test]
fn replayed_assertion_jti_is_rejected() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    let a = sign(&k, &claims());
    let guard = SingleNodeReplayGuard::new();
    let v = verifier();
    block_on(v.verify_and_record(&a, CLIENT, &set, &guard, NOW)).unwrap();
    let e = block_on(v.verify_and_record(&a, CLIENT, &set, &guard, NOW + 10)).unwrap_err();
    assert!(matches!(e, AssertionError::Replayed), "{e:?}");
}

#[test]
fn replay_record_ttl_covers_the_max_lifetime_and_the_assertion_window() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    let guard = RecordingGuard::default();
    let v = verifier();
    let verified =
        block_on(v.verify_and_record(&sign(&k, &claims()), CLIENT, &set, &guard, NOW)).unwrap();
    let calls = guard.calls.lock().unwrap();
    let (key, expires_at, now) = calls[0];
    assert_eq!(now, NOW);
    assert_eq!(expires_at, NOW + v.max_lifetime()); // 300 > exp + leeway + 1
    assert!(expires_at > verified.exp + 30);
    assert_eq!(key.scope(), ReplayScope::ClientAssertion);
    assert_eq!(key, verified.replay_key());
}

#[test]
fn replay_guard_failure_fails_closed() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    let e = block_on(verifier().verify_and_record(
        &sign(&k, &claims()),
        CLIENT,
        &set,
        &FailingGuard,
        NOW,
    ))
    .unwrap_err();
    assert!(matches!(e, AssertionError::ReplayGuard(_)));
}

// seed-catalog-2 Must-test 13, seed-catalog-1 Must-test 110: algorithms outside
// the allow-list (RS256 by default, HS256, none) are refused.
#[test]
fn algorithm_outside_the_allow_list_is_rejected() {
    let default = AssertionVerifier::builder(ISSUER).build().unwrap();
    assert_eq!(default.algorithms(), AlgorithmSet::FAPI);
    let rs = key(Algorithm::RS256);
    let e = default
        .verify(&sign(&rs, &claims()), CLIENT, &jwks(&[&rs]), NOW)
        .unwrap_err();
    assert!(matches!(
        e,
        AssertionError::AlgorithmNotAllowed(Algorithm::RS256)
    ));
    for ok_alg in [Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA] {
        let k = key(ok_alg);
        default
            .verify(&sign(&k, &claims()), CLIENT, &jwks(&[&k]), NOW)
            .unwrap();
    }
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    for alg in ["HS256", "none", "RS1", ""] {
        let h = json!({"alg": alg, "kid": k.kid()});
        let token = format!(
            "{}.{}.AAAA",
            b64(h.to_string().as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        let e = default.verify(&token, CLIENT, &set, NOW).unwrap_err();
        assert!(
            matches!(
                e,
                AssertionError::Malformed(JoseError::UnsupportedAlgorithm)
            ),
            "{alg}: {e:?}"
        );
    }
}

#[test]
fn unknown_kid_is_rejected() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    let h = json!({"alg": "ES256", "kid": "not-registered"});
    let e = check(&sign_json(&k, &h, &claims()), &set).unwrap_err();
    assert!(matches!(e, AssertionError::UnknownKey));
    // no key of the alg's type at all
    let ed = key(Algorithm::EdDSA);
    let e = check(&sign(&k, &claims()), &jwks(&[&ed])).unwrap_err();
    assert!(matches!(e, AssertionError::UnknownKey));
    let e = check(&sign(&k, &claims()), &JwkSet::default()).unwrap_err();
    assert!(matches!(e, AssertionError::UnknownKey));
}

#[test]
fn without_kid_keys_matching_the_alg_are_tried() {
    let (a, b, k) = (
        key(Algorithm::ES256),
        key(Algorithm::ES256),
        key(Algorithm::ES256),
    );
    let set = jwks(&[&a, &b, &k]);
    let h = json!({"alg": "ES256"});
    let v = check(&sign_json(&k, &h, &claims()), &set).unwrap();
    assert_eq!(v.kid.as_deref(), Some(k.kid()));
    // a key that is not in the set still fails
    let stranger = key(Algorithm::ES256);
    let e = check(&sign_json(&stranger, &h, &claims()), &set).unwrap_err();
    assert!(matches!(e, AssertionError::InvalidSignature));
}

#[test]
fn signature_by_another_key_with_a_registered_kid_is_rejected() {
    let (k, attacker) = (key(Algorithm::ES256), key(Algorithm::ES256));
    let set = jwks(&[&k]);
    let forged = sign_json(&attacker, &header(&k), &claims());
    assert!(matches!(
        check(&forged, &set),
        Err(AssertionError::InvalidSignature)
    ));
}

// Token confusion: a DPoP proof or an access token is not a client assertion.
#[test]
fn foreign_typ_is_rejected() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    for typ in [
        "dpop+jwt",
        "at+jwt",
        "application/at+jwt",
        "oauth-authz-req+jwt",
        "logout+jwt",
    ] {
        let mut h = header(&k);
        h["typ"] = json!(typ);
        let e = check(&sign_json(&k, &h, &claims()), &set).unwrap_err();
        assert!(matches!(e, AssertionError::WrongType), "{typ}");
    }
    for typ in [
        json!("JWT"),
        json!("jwt"),
        json!("client-authentication+jwt"),
        json!("application/client-authentication+jwt"),
    ] {
        let mut h = header(&k);
        h["typ"] = typ;
        check(&sign_json(&k, &h, &claims()), &set).unwrap();
    }
    let mut h = header(&k);
    h.as_object_mut().unwrap().remove("typ");
    check(&sign_json(&k, &h, &claims()), &set).unwrap();
}

#[test]
fn duplicate_claims_and_oversized_assertions_are_rejected() {
    let k = key(Algorithm::ES256);
    let set = jwks(&[&k]);
    let payload = format!(
        r#"{{"iss":"{CLIENT}","sub":"{CLIENT}","sub":"x","aud":"{ISSUER}","exp":{},"jti":"j"}}"#,
        NOW + 60
    );
    let e = check(&sign_raw(&k, &header(&k), payload.as_bytes()), &set).unwrap_err();
    assert!(matches!(
        e,
        AssertionError::Malformed(JoseError::DuplicateMember)
    ));
    let mut c = claims();
    c["pad"] = json!("x".repeat(17_000));
    assert!(matches!(
        check(&sign(&k, &c), &set),
        Err(AssertionError::TooLarge)
    ));
}

#[test]
fn verifier_configuration_is_bounded() {
    assert!(AssertionVerifier::builder("").build().is_err());
    assert!(
        AssertionVerifier::builder(ISSUER)
            .algorithms(AlgorithmSet::EMPTY)
            .build()
            .is_err()
    );
    assert!(
        AssertionVerifier::builder(ISSUER)
            .max_lifetime(0)
            .build()
            .is_err()
    );
    assert!(
        AssertionVerifier::builder(ISSUER)
            .max_lifetime(3601)
            .build()
            .is_err()
    );
    assert!(
        AssertionVerifier::builder(ISSUER)
            .leeway(121)
            .build()
            .is_err()
    );
    assert!(
        AssertionVerifier::builder(ISSUER)
            .max_len(10)
            .build()
            .is_err()
    );
}
