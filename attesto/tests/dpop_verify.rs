//! DPoP proof verification (RFC 9449 §4.2, §4.3, §7.1) through the public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dpop_support;

use attesto::dpop::{
    DpopContext, DpopError, DpopVerifier, NoNonces, SingleNodeReplayGuard, single_proof_header,
};
use attesto::jose::{Algorithm, AlgorithmSet, JoseError};
use attesto::secret::sha256_b64url;
use dpop_support::*;
use serde_json::{Value, json};

fn verifier() -> DpopVerifier {
    DpopVerifier::default()
}

fn ctx() -> DpopContext<'static> {
    DpopContext::new("POST", HTU, NOW)
}

fn verify(proof: &str, ctx: &DpopContext<'_>) -> Result<attesto::dpop::VerifiedProof, DpopError> {
    let guard = SingleNodeReplayGuard::new();
    block_on(verifier().verify(proof, ctx, &NoNonces, &guard))
}

fn assert_invalid(r: Result<attesto::dpop::VerifiedProof, DpopError>) -> DpopError {
    let e = r.expect_err("proof must be rejected");
    assert_eq!(e.error_code(), "invalid_dpop_proof", "{e:?}");
    e
}

// seed-catalog-2 Must-test 55 (a valid proof binds to the key thumbprint),
// RFC 9449 §4.3 / §6.1.
#[test]
fn valid_proof_is_accepted_and_jkt_is_the_rfc7638_thumbprint() {
    for alg in Algorithm::ALL {
        let k = key(alg);
        let claims = dpop_claims(NOW);
        let p = proof(&k, &claims);
        let v = verify(&p, &ctx()).unwrap_or_else(|e| panic!("{alg}: {e:?}"));
        assert_eq!(v.jkt, k.public_jwk().thumbprint(), "{alg}");
        assert_eq!(v.alg, alg);
        assert_eq!(v.jti, claims["jti"].as_str().unwrap());
        assert_eq!(v.htm, "POST");
        assert_eq!(v.htu, HTU);
        assert_eq!(v.iat, NOW);
        assert!(!v.ath_verified);
    }
}

// seed-catalog-2 Must-tests 26 and 66, seed-catalog-1 Must-test 34: two DPoP
// headers are rejected (anti header smuggling), RFC 9449 §4.3 step 1.
#[test]
fn two_dpop_headers_are_rejected() {
    let k = key(Algorithm::ES256);
    let a = proof(&k, &dpop_claims(NOW));
    let b = proof(&k, &dpop_claims(NOW));
    let e = single_proof_header(&[&a, &b]).unwrap_err();
    assert!(matches!(e, DpopError::MultipleProofs));
    assert_eq!(e.error_code(), "invalid_dpop_proof");
    assert_eq!(single_proof_header(&[&a]).unwrap(), Some(a.as_str()));
    assert_eq!(single_proof_header(&[]).unwrap(), None);
}

// seed-catalog-2 Must-test 30, seed-catalog-1 Must-test 71: a replayed proof
// jti within the window is rejected (RFC 9449 §11.1).
#[test]
fn replayed_jti_is_rejected() {
    let k = key(Algorithm::ES256);
    let p = proof(&k, &dpop_claims(NOW));
    let guard = SingleNodeReplayGuard::new();
    let v = verifier();
    block_on(v.verify(&p, &ctx(), &NoNonces, &guard)).unwrap();
    let later = DpopContext::new("POST", HTU, NOW + 5);
    let e = block_on(v.verify(&p, &later, &NoNonces, &guard)).unwrap_err();
    assert!(matches!(e, DpopError::Replayed), "{e:?}");
    assert_eq!(e.error_code(), "invalid_dpop_proof");
}

#[test]
fn same_jti_under_another_key_is_not_a_replay() {
    // Replay keys are scoped by jkt: nobody can burn someone else's jti.
    let (a, b) = (key(Algorithm::ES256), key(Algorithm::ES256));
    let mut claims = dpop_claims(NOW);
    claims["jti"] = json!("shared-jti");
    let guard = SingleNodeReplayGuard::new();
    let v = verifier();
    block_on(v.verify(&proof(&a, &claims), &ctx(), &NoNonces, &guard)).unwrap();
    block_on(v.verify(&proof(&b, &claims), &ctx(), &NoNonces, &guard)).unwrap();
    let e = block_on(v.verify(&proof(&a, &claims), &ctx(), &NoNonces, &guard)).unwrap_err();
    assert!(matches!(e, DpopError::Replayed));
}

// seed-catalog-2 Must-test 30: wrong htm is rejected (RFC 9449 §4.3 step 8).
#[test]
fn wrong_htm_is_rejected() {
    let k = key(Algorithm::ES256);
    let p = proof(&k, &dpop_claims(NOW));
    let e = assert_invalid(verify(&p, &DpopContext::new("GET", HTU, NOW)));
    assert!(matches!(e, DpopError::MethodMismatch));
    // methods are case-sensitive (RFC 9110 §9.1)
    let mut c = dpop_claims(NOW);
    c["htm"] = json!("post");
    let e = assert_invalid(verify(&proof(&k, &c), &ctx()));
    assert!(matches!(e, DpopError::MethodMismatch));
}

// seed-catalog-2 Must-test 30: wrong htu is rejected (RFC 9449 §4.3 step 9).
#[test]
fn wrong_htu_is_rejected() {
    let k = key(Algorithm::ES256);
    for other in [
        "https://server.example.com/token2",
        "https://server.example.com/Token",
        "https://server.example.com/token/",
        "https://other.example.com/token",
        "http://server.example.com/token",
        "https://server.example.com:8443/token",
    ] {
        let mut c = dpop_claims(NOW);
        c["htu"] = json!(other);
        let e = assert_invalid(verify(&proof(&k, &c), &ctx()));
        assert!(matches!(e, DpopError::UriMismatch), "{other}: {e:?}");
    }
}

#[test]
fn htu_is_compared_after_scheme_and_host_normalization() {
    let k = key(Algorithm::ES256);
    for same in [
        "HTTPS://SERVER.example.COM/token",
        "https://server.example.com:443/token",
        "https://server.example.com/%74oken", // %74 = 't', unreserved
    ] {
        let mut c = dpop_claims(NOW);
        c["htu"] = json!(same);
        verify(&proof(&k, &c), &ctx()).unwrap_or_else(|e| panic!("{same}: {e:?}"));
    }
}

// RFC 9449 §4.3 step 9: the request URI's query and fragment are ignored.
#[test]
fn request_query_is_ignored_when_comparing_htu() {
    let k = key(Algorithm::ES256);
    let p = proof(&k, &dpop_claims(NOW));
    let c = DpopContext::new("POST", "https://server.example.com/token?foo=bar#frag", NOW);
    verify(&p, &c).unwrap();
}

// RFC 9449 §4.2: htu is "without query and fragment parts"; the strict
// reading rejects a proof whose htu carries them.
#[test]
fn proof_htu_with_query_or_fragment_is_rejected() {
    let k = key(Algorithm::ES256);
    for htu in [
        "https://server.example.com/token?foo=bar",
        "https://server.example.com/token#f",
        "https://server.example.com/token?",
    ] {
        let mut c = dpop_claims(NOW);
        c["htu"] = json!(htu);
        let ctx_with_query =
            DpopContext::new("POST", "https://server.example.com/token?foo=bar", NOW);
        let e = assert_invalid(verify(&proof(&k, &c), &ctx_with_query));
        assert!(matches!(e, DpopError::InvalidClaim("htu")), "{htu}: {e:?}");
    }
}

#[test]
fn htu_that_is_not_an_http_uri_is_rejected() {
    let k = key(Algorithm::ES256);
    for htu in [
        "/token",
        "urn:x",
        "https://u:p@server.example.com/token",
        "",
    ] {
        let mut c = dpop_claims(NOW);
        c["htu"] = json!(htu);
        let e = assert_invalid(verify(&proof(&k, &c), &ctx()));
        assert!(matches!(e, DpopError::InvalidClaim("htu")), "{htu}: {e:?}");
    }
}

#[test]
fn unusable_server_request_uri_is_a_server_error() {
    let k = key(Algorithm::ES256);
    let p = proof(&k, &dpop_claims(NOW));
    let e = verify(&p, &DpopContext::new("POST", "not a uri", NOW)).unwrap_err();
    assert!(matches!(e, DpopError::RequestUri(_)));
    assert_eq!(e.error_code(), "server_error");
}

// RFC 9449 §4.3 step 11 / §11.1: iat must be within the acceptance window.
#[test]
fn iat_too_old_is_rejected() {
    let k = key(Algorithm::ES256);
    let max_age = verifier().max_age();
    verify(&proof(&k, &dpop_claims(NOW - max_age)), &ctx()).unwrap();
    let e = assert_invalid(verify(&proof(&k, &dpop_claims(NOW - max_age - 1)), &ctx()));
    assert!(matches!(e, DpopError::TooOld));
    let e = assert_invalid(verify(&proof(&k, &dpop_claims(i64::MIN)), &ctx()));
    assert!(matches!(e, DpopError::TooOld));
}

#[test]
fn iat_in_the_future_beyond_skew_is_rejected() {
    let k = key(Algorithm::ES256);
    let skew = verifier().future_skew();
    verify(&proof(&k, &dpop_claims(NOW + skew)), &ctx()).unwrap();
    let e = assert_invalid(verify(&proof(&k, &dpop_claims(NOW + skew + 1)), &ctx()));
    assert!(matches!(e, DpopError::IssuedInFuture));
    let e = assert_invalid(verify(&proof(&k, &dpop_claims(i64::MAX)), &ctx()));
    assert!(matches!(e, DpopError::IssuedInFuture));
}

#[test]
fn iat_must_be_a_numeric_date() {
    let k = key(Algorithm::ES256);
    for bad in [
        json!("1700000000"),
        json!(null),
        json!(true),
        json!(1e300),
        json!(u64::MAX),
    ] {
        let mut c = dpop_claims(NOW);
        c["iat"] = bad.clone();
        let e = assert_invalid(verify(&proof(&k, &c), &ctx()));
        assert!(matches!(e, DpopError::InvalidClaim("iat")), "{bad}: {e:?}");
    }
    let mut c = dpop_claims(NOW);
    c["iat"] = json!(NOW as f64 + 0.5);
    verify(&proof(&k, &c), &ctx()).unwrap();
}

#[test]
fn missing_required_claims_are_rejected() {
    let k = key(Algorithm::ES256);
    for name in ["jti", "htm", "htu", "iat"] {
        let mut c = dpop_claims(NOW);
        c.as_object_mut().unwrap().remove(name);
        let e = assert_invalid(verify(&proof(&k, &c), &ctx()));
        assert!(
            matches!(e, DpopError::MissingClaim(n) if n == name),
            "{name}: {e:?}"
        );
    }
}

#[test]
fn jti_must_be_a_bounded_non_empty_string() {
    let k = key(Algorithm::ES256);
    for bad in [json!(""), json!("x".repeat(257)), json!(42), json!(["a"])] {
        let mut c = dpop_claims(NOW);
        c["jti"] = bad;
        let e = assert_invalid(verify(&proof(&k, &c), &ctx()));
        assert!(matches!(e, DpopError::InvalidClaim("jti")), "{e:?}");
    }
}

// seed-catalog-1 Must-test 139: a proof presented with an access token must
// carry ath = base64url(SHA-256(token)) (RFC 9449 §4.3 step 12, §7.1).
#[test]
fn missing_ath_is_rejected_when_an_access_token_is_presented() {
    let k = key(Algorithm::ES256);
    let p = proof(&k, &dpop_claims(NOW));
    let e = assert_invalid(verify(&p, &ctx().with_access_token("at-123")));
    assert!(matches!(e, DpopError::MissingAth));
}

#[test]
fn wrong_ath_is_rejected() {
    let k = key(Algorithm::ES256);
    let mut c = dpop_claims(NOW);
    c["ath"] = json!(sha256_b64url(b"another-token"));
    let e = assert_invalid(verify(&proof(&k, &c), &ctx().with_access_token("at-123")));
    assert!(matches!(e, DpopError::AthMismatch));
    c["ath"] = json!(7);
    let e = assert_invalid(verify(&proof(&k, &c), &ctx().with_access_token("at-123")));
    assert!(matches!(e, DpopError::InvalidClaim("ath")));
}

#[test]
fn matching_ath_is_accepted() {
    let k = key(Algorithm::EdDSA);
    let mut c = dpop_claims(NOW);
    c["ath"] = json!(sha256_b64url(b"at-123"));
    let v = verify(&proof(&k, &c), &ctx().with_access_token("at-123")).unwrap();
    assert!(v.ath_verified);
}

#[test]
fn ath_without_an_access_token_is_rejected() {
    let k = key(Algorithm::ES256);
    let mut c = dpop_claims(NOW);
    c["ath"] = json!(sha256_b64url(b"at-123"));
    let e = assert_invalid(verify(&proof(&k, &c), &ctx()));
    assert!(matches!(e, DpopError::UnexpectedAth));
}

// RFC 9449 §4.3 step 7: the jwk header must not contain a private key.
#[test]
fn private_key_in_jwk_header_is_rejected() {
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS256] {
        let k = key(alg);
        let private: Value = serde_json::from_str(k.to_private_jwk_json().expose()).unwrap();
        let header = json!({"typ": "dpop+jwt", "alg": alg.as_str(), "jwk": private});
        let p = sign_json(&k, &header, &dpop_claims(NOW));
        let e = assert_invalid(verify(&p, &ctx()));
        assert!(matches!(e, DpopError::InvalidJwk(_)), "{alg}: {e:?}");
    }
}

#[test]
fn symmetric_jwk_header_is_rejected() {
    let k = key(Algorithm::ES256);
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}});
    let e = assert_invalid(verify(&sign_json(&k, &header, &dpop_claims(NOW)), &ctx()));
    assert!(matches!(e, DpopError::InvalidJwk(_)), "{e:?}");
}

// RFC 9449 §4.3 step 4: typ must be dpop+jwt.
#[test]
fn typ_jwt_is_rejected() {
    let k = key(Algorithm::ES256);
    for typ in [
        json!("JWT"),
        json!("at+jwt"),
        json!("application/dpop+jwt"),
        json!("DPOP+JWT"),
        json!(null),
    ] {
        let mut h = dpop_header(&k);
        if typ.is_null() {
            h.as_object_mut().unwrap().remove("typ");
        } else {
            h["typ"] = typ.clone();
        }
        let e = assert_invalid(verify(&sign_json(&k, &h, &dpop_claims(NOW)), &ctx()));
        assert!(matches!(e, DpopError::WrongType), "{typ}: {e:?}");
    }
}

// RFC 9449 §4.3 step 5: alg none is rejected.
#[test]
fn alg_none_is_rejected() {
    let k = key(Algorithm::ES256);
    let mut h = dpop_header(&k);
    h["alg"] = json!("none");
    let unsigned = format!(
        "{}.{}.",
        b64(h.to_string().as_bytes()),
        b64(dpop_claims(NOW).to_string().as_bytes())
    );
    assert_invalid(verify(&unsigned, &ctx()));
    let with_sig = format!("{unsigned}AAAA");
    let e = assert_invalid(verify(&with_sig, &ctx()));
    assert!(
        matches!(e, DpopError::Malformed(JoseError::UnsupportedAlgorithm)),
        "{e:?}"
    );
}

// RFC 9449 §4.3 step 5: symmetric algorithms are rejected.
#[test]
fn hs256_is_rejected() {
    let k = key(Algorithm::ES256);
    let mut h = dpop_header(&k);
    h["alg"] = json!("HS256");
    let input = format!(
        "{}.{}",
        b64(h.to_string().as_bytes()),
        b64(dpop_claims(NOW).to_string().as_bytes())
    );
    let mac = openssl::sign::Signer::new(
        openssl::hash::MessageDigest::sha256(),
        &openssl::pkey::PKey::hmac(b"secret").unwrap(),
    )
    .unwrap()
    .sign_oneshot_to_vec(input.as_bytes())
    .unwrap();
    let e = assert_invalid(verify(&format!("{input}.{}", b64(&mac)), &ctx()));
    assert!(
        matches!(e, DpopError::Malformed(JoseError::UnsupportedAlgorithm)),
        "{e:?}"
    );
}

#[test]
fn alg_outside_the_allow_list_is_rejected() {
    let k = key(Algorithm::RS256);
    let v = DpopVerifier::builder()
        .algorithms(AlgorithmSet::FAPI)
        .build()
        .unwrap();
    let guard = SingleNodeReplayGuard::new();
    let e =
        block_on(v.verify(&proof(&k, &dpop_claims(NOW)), &ctx(), &NoNonces, &guard)).unwrap_err();
    assert!(
        matches!(e, DpopError::AlgorithmNotAllowed(Algorithm::RS256)),
        "{e:?}"
    );
}

#[test]
fn missing_jwk_header_is_rejected() {
    let k = key(Algorithm::ES256);
    let mut h = dpop_header(&k);
    h.as_object_mut().unwrap().remove("jwk");
    let e = assert_invalid(verify(&sign_json(&k, &h, &dpop_claims(NOW)), &ctx()));
    assert!(matches!(e, DpopError::MissingJwk));
}

#[test]
fn jwk_that_cannot_verify_the_alg_is_rejected() {
    // an ES256 key announced as ES384
    let k = key(Algorithm::ES256);
    let mut h = dpop_header(&k);
    h["alg"] = json!("ES384");
    h["jwk"].as_object_mut().unwrap().remove("alg");
    let e = assert_invalid(verify(&sign_json(&k, &h, &dpop_claims(NOW)), &ctx()));
    assert!(matches!(e, DpopError::InvalidJwk(_)), "{e:?}");
}

#[test]
fn signature_by_another_key_is_rejected() {
    let (a, b) = (key(Algorithm::ES256), key(Algorithm::ES256));
    let p = sign_json(&b, &dpop_header(&a), &dpop_claims(NOW));
    let e = assert_invalid(verify(&p, &ctx()));
    assert!(matches!(e, DpopError::InvalidSignature));
}

#[test]
fn tampered_claims_are_rejected() {
    let k = key(Algorithm::ES256);
    let p = proof(&k, &dpop_claims(NOW));
    let mut parts: Vec<&str> = p.split('.').collect();
    let mut c = dpop_claims(NOW);
    c["htm"] = json!("GET");
    let forged = b64(c.to_string().as_bytes());
    parts[1] = &forged;
    let e = assert_invalid(verify(&parts.join("."), &DpopContext::new("GET", HTU, NOW)));
    assert!(matches!(e, DpopError::InvalidSignature));
}

// seed-catalog-2 Must-test 28 and seed-catalog-1 Must-tests 118/119: a proof
// whose key differs from the bound key (dpop_jkt / cnf.jkt) is rejected.
#[test]
fn mismatched_jkt_is_rejected() {
    let (a, b) = (key(Algorithm::ES256), key(Algorithm::ES256));
    let bound = a.public_jwk().thumbprint();
    let p = proof(&b, &dpop_claims(NOW));
    let e = assert_invalid(verify(&p, &ctx().with_expected_jkt(&bound)));
    assert!(matches!(e, DpopError::KeyMismatch));
    // the bound key itself passes
    let p = proof(&a, &dpop_claims(NOW));
    let v = verify(&p, &ctx().with_expected_jkt(&bound)).unwrap();
    assert_eq!(v.jkt, bound);
}

#[test]
fn oversized_proof_is_rejected() {
    let k = key(Algorithm::ES256);
    let mut c = dpop_claims(NOW);
    c["pad"] = json!("x".repeat(9000));
    let e = assert_invalid(verify(&proof(&k, &c), &ctx()));
    assert!(matches!(e, DpopError::TooLarge));
}

#[test]
fn duplicate_claim_members_are_rejected() {
    let k = key(Algorithm::ES256);
    let payload = format!(
        r#"{{"jti":"{}","htm":"GET","htm":"POST","htu":"{HTU}","iat":{NOW}}}"#,
        jti()
    );
    let p = sign_raw(&k, &dpop_header(&k), payload.as_bytes());
    let e = assert_invalid(verify(&p, &ctx()));
    assert!(
        matches!(e, DpopError::Malformed(JoseError::DuplicateMember)),
        "{e:?}"
    );
}

#[test]
fn crit_header_is_rejected() {
    let k = key(Algorithm::ES256);
    let mut h = dpop_header(&k);
    h["crit"] = json!(["exp"]);
    let e = assert_invalid(verify(&sign_json(&k, &h, &dpop_claims(NOW)), &ctx()));
    assert!(matches!(e, DpopError::Malformed(JoseError::CriticalHeader)));
}

#[test]
fn replay_guard_failure_fails_closed() {
    let k = key(Algorithm::ES256);
    let p = proof(&k, &dpop_claims(NOW));
    let e = block_on(verifier().verify(&p, &ctx(), &NoNonces, &FailingGuard)).unwrap_err();
    assert!(matches!(e, DpopError::ReplayGuard(_)));
    assert_eq!(e.error_code(), "server_error");
}

// seed-catalog-3b §4.1: the replay record is kept for the proof's
// acceptance window; keys are scoped (jkt, jti) and hashed.
#[test]
fn replay_record_covers_the_acceptance_window() {
    let k = key(Algorithm::ES256);
    let claims = dpop_claims(NOW - 10);
    let guard = RecordingGuard::default();
    let v = block_on(verifier().verify(&proof(&k, &claims), &ctx(), &NoNonces, &guard)).unwrap();
    let calls = guard.calls.lock().unwrap();
    let (key, expires_at, now) = calls[0];
    assert_eq!(now, NOW);
    assert_eq!(expires_at, NOW - 10 + verifier().max_age() + 1);
    assert!(expires_at > now);
    assert_eq!(key, v.replay_key());
    assert_eq!(key.scope(), attesto::dpop::ReplayScope::DpopProof);
    assert!(
        !key.to_key_string()
            .contains(claims["jti"].as_str().unwrap())
    );
}

#[test]
fn verifier_configuration_is_bounded() {
    assert!(
        DpopVerifier::builder()
            .algorithms(AlgorithmSet::EMPTY)
            .build()
            .is_err()
    );
    assert!(DpopVerifier::builder().iat_window(0, 0).build().is_err());
    assert!(DpopVerifier::builder().iat_window(301, 0).build().is_err());
    assert!(DpopVerifier::builder().iat_window(60, 61).build().is_err());
    assert!(DpopVerifier::builder().iat_window(60, -1).build().is_err());
    assert!(DpopVerifier::builder().max_proof_len(100).build().is_err());
    let v = DpopVerifier::builder().iat_window(300, 60).build().unwrap();
    assert_eq!((v.max_age(), v.future_skew()), (300, 60));
}

#[test]
fn stateless_checks_do_not_touch_the_replay_guard() {
    let k = key(Algorithm::ES256);
    let p = proof(&k, &dpop_claims(NOW));
    let v = verifier();
    let first = v.verify_proof(&p, &ctx()).unwrap();
    let second = v.verify_proof(&p, &ctx()).unwrap();
    assert_eq!(first.replay_key(), second.replay_key());
    let guard = SingleNodeReplayGuard::new();
    block_on(v.check_replay(&first, &guard, NOW)).unwrap();
    assert!(matches!(
        block_on(v.check_replay(&second, &guard, NOW)),
        Err(DpopError::Replayed)
    ));
}

#[test]
fn cached_proof_key_still_honours_the_jwk_declared_alg() {
    // First proof: an RSA key without a declared alg, signed with PS256 (cached).
    let k = key(Algorithm::PS256);
    let v = verifier();
    let guard = SingleNodeReplayGuard::new();
    let mut jwk = public_jwk_value(&k);
    jwk.as_object_mut().unwrap().remove("alg");
    let h = json!({"typ": "dpop+jwt", "alg": "PS256", "jwk": jwk});
    block_on(v.verify(
        &sign_json(&k, &h, &dpop_claims(NOW)),
        &ctx(),
        &NoNonces,
        &guard,
    ))
    .unwrap();
    // Same key material (same thumbprint), now declaring alg RS256: a PS256
    // proof must be refused even though (thumbprint, PS256) is cached.
    let mut jwk_rs = jwk.clone();
    jwk_rs["alg"] = json!("RS256");
    let h = json!({"typ": "dpop+jwt", "alg": "PS256", "jwk": jwk_rs});
    let e = block_on(v.verify(
        &sign_json(&k, &h, &dpop_claims(NOW)),
        &ctx(),
        &NoNonces,
        &guard,
    ))
    .unwrap_err();
    assert!(matches!(e, DpopError::InvalidJwk(_)), "{e:?}");
}

#[test]
fn key_cache_can_be_disabled_or_tiny_and_is_bounded() {
    assert!(
        DpopVerifier::builder()
            .key_cache_capacity(65_537)
            .build()
            .is_err()
    );
    for capacity in [0, 1, 2] {
        let v = DpopVerifier::builder()
            .key_cache_capacity(capacity)
            .build()
            .unwrap();
        let guard = SingleNodeReplayGuard::new();
        let keys: Vec<_> = (0..3).map(|_| key(Algorithm::EdDSA)).collect();
        for _round in 0..2 {
            for k in &keys {
                let r = block_on(v.verify(&proof(k, &dpop_claims(NOW)), &ctx(), &NoNonces, &guard))
                    .unwrap();
                assert_eq!(r.jkt, k.public_jwk().thumbprint());
            }
        }
        // a cached key never verifies another key's signature
        let p = sign_json(&keys[1], &dpop_header(&keys[0]), &dpop_claims(NOW));
        assert!(matches!(
            v.verify_proof(&p, &ctx()),
            Err(DpopError::InvalidSignature)
        ));
    }
}
