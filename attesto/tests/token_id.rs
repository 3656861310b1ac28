//! OpenID Connect ID tokens: minting (host claims, at_hash/c_hash, azp) and
//! relying-party verification (OIDC Core §3.1.3.7).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use attesto::clock::FixedClock;
use attesto::jose::{Algorithm, HeaderParams, Keystore, StaticKeystore, sign_compact};
use attesto::token::{
    AccessTokenIssuer, AccessTokenRequest, IdTokenError, IdTokenExpectations, IdTokenIssuer,
    IdTokenRequest, IdTokenVerifier, MintError, PrincipalKind, TokenConfigError, TrustedKeys,
    token_hash,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

const ISS: &str = "https://id.example.com";
const CLIENT_ID: &str = "app-1";
const NOW: i64 = 1_700_000_000;

struct Fx {
    keystore: Arc<StaticKeystore>,
    clock: Arc<FixedClock>,
    issuer: IdTokenIssuer,
    verifier: IdTokenVerifier,
}

fn fx_alg(alg: Algorithm) -> Fx {
    let keystore = Arc::new(StaticKeystore::generate(alg).unwrap());
    let clock = Arc::new(FixedClock::new(NOW));
    let issuer = IdTokenIssuer::builder(ISS, keystore.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let verifier =
        IdTokenVerifier::builder(ISS, CLIENT_ID, TrustedKeys::keystore(keystore.clone()))
            .clock(clock.clone())
            .build()
            .unwrap();
    Fx {
        keystore,
        clock,
        issuer,
        verifier,
    }
}

fn fx() -> Fx {
    fx_alg(Algorithm::ES256)
}

fn segments(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let h = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    let p = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    (
        serde_json::from_slice(&h).unwrap(),
        serde_json::from_slice(&p).unwrap(),
    )
}

fn forge(fx: &Fx, typ: Option<&str>, claims: &Value) -> String {
    let key = fx.keystore.default_signing_key().unwrap();
    let mut params = HeaderParams::default();
    params.typ = typ;
    sign_compact(&key, &params, claims.to_string().as_bytes()).unwrap()
}

fn base_claims() -> Value {
    json!({"iss": ISS, "sub": "usr_alice", "aud": CLIENT_ID, "exp": NOW + 300, "iat": NOW})
}

fn none() -> IdTokenExpectations<'static> {
    IdTokenExpectations::default()
}

#[test]
fn id_token_has_jwt_typ_kid_and_the_required_claims() {
    // OIDC Core §2: iss, sub, aud, exp, iat REQUIRED.
    let fx = fx();
    let t = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", CLIENT_ID))
        .unwrap();
    let (header, claims) = segments(&t.id_token);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(
        header["kid"],
        fx.keystore.default_signing_key().unwrap().kid()
    );
    assert_eq!(claims["iss"], ISS);
    assert_eq!(claims["sub"], "usr_alice");
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 300);
    assert!(claims.get("azp").is_none());
    assert_eq!(fx.verifier.verify(&t.id_token, &none()).unwrap(), t.claims);
}

#[test]
fn id_token_carries_nonce_auth_time_and_an_at_hash_of_the_access_token() {
    // seed-catalog-2 Must-test 74
    let fx = fx();
    let access = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
    let t = fx
        .issuer
        .mint(
            IdTokenRequest::new("usr_alice", CLIENT_ID)
                .nonce("n")
                .auth_time(NOW - 10)
                .access_token(access),
        )
        .unwrap();
    let (_, claims) = segments(&t.id_token);
    assert_eq!(claims["nonce"], "n");
    assert_eq!(claims["auth_time"], NOW - 10);
    assert_eq!(claims["at_hash"], token_hash(Algorithm::ES256, access));
    fx.verifier
        .verify(
            &t.id_token,
            &none().nonce("n").access_token(access).max_age(60),
        )
        .unwrap();
}

#[test]
fn at_hash_matches_the_openid_connect_core_example() {
    // OIDC Core Appendix A.3 / A.4 (RS256).
    assert_eq!(
        token_hash(
            Algorithm::RS256,
            "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
        ),
        "77QmUPtjPfzWtF2AnpK9RQ"
    );
    assert_eq!(
        token_hash(
            Algorithm::RS256,
            "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
        ),
        "LDktKdoQak3Pk0cnXxCltA"
    );
}

#[test]
fn at_hash_uses_the_hash_of_the_signing_algorithm() {
    // OIDC Core §3.1.3.6: half of the hash of the JWS alg; Ed25519 uses SHA-512.
    let cases = [
        (Algorithm::RS256, 16),
        (Algorithm::PS384, 24),
        (Algorithm::ES512, 32),
        (Algorithm::EdDSA, 32),
    ];
    for (alg, half_len) in cases {
        let h = token_hash(alg, "token");
        assert_eq!(URL_SAFE_NO_PAD.decode(&h).unwrap().len(), half_len, "{alg}");
    }
    let sha512 = openssl::sha::sha512(b"token");
    assert_eq!(
        token_hash(Algorithm::EdDSA, "token"),
        URL_SAFE_NO_PAD.encode(&sha512[..32])
    );
}

#[test]
fn at_hash_follows_the_id_token_signing_key_not_the_access_token() {
    let ks = Arc::new(
        StaticKeystore::builder()
            .key(attesto::jose::SigningKey::generate(Algorithm::ES256).unwrap())
            .key(attesto::jose::SigningKey::generate(Algorithm::PS384).unwrap())
            .build()
            .unwrap(),
    );
    let issuer = IdTokenIssuer::builder(ISS, ks).build().unwrap();
    let t = issuer
        .mint(
            IdTokenRequest::new("usr_alice", CLIENT_ID)
                .signing_alg(Algorithm::PS384)
                .access_token("at")
                .code("code"),
        )
        .unwrap();
    assert_eq!(t.alg, Algorithm::PS384);
    assert_eq!(
        t.claims.at_hash.as_deref(),
        Some(token_hash(Algorithm::PS384, "at").as_str())
    );
    assert_eq!(
        t.claims.c_hash.as_deref(),
        Some(token_hash(Algorithm::PS384, "code").as_str())
    );
}

#[test]
fn host_claims_carrying_sub_are_rejected() {
    // seed-catalog-2 Must-test 77; seed-catalog-1 Must-test 112.
    let fx = fx();
    let mut host = Map::new();
    host.insert("sub".into(), json!("evil"));
    let err = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", CLIENT_ID).host_claims(host))
        .unwrap_err();
    assert_eq!(err, MintError::HostClaimsCarrySub);
}

#[test]
fn host_claims_cannot_override_protocol_claims() {
    let fx = fx();
    let host: Map<String, Value> = serde_json::from_value(json!({
        "iss": "https://evil.example", "aud": "evil", "exp": 1, "iat": 1, "nonce": "evil",
        "at_hash": "evil", "c_hash": "evil", "azp": "evil", "auth_time": 1,
        "acr": "evil", "amr": ["evil"], "sid": "evil",
        "email": "alice@example.com", "email_verified": true
    }))
    .unwrap();
    let t = fx
        .issuer
        .mint(
            IdTokenRequest::new("usr_alice", CLIENT_ID)
                .nonce("n")
                .auth_time(NOW)
                .sid("s-1")
                .host_claims(host),
        )
        .unwrap();
    let (_, claims) = segments(&t.id_token);
    assert!(!t.id_token.is_empty());
    assert!(!claims.to_string().contains("evil"));
    assert_eq!(claims["iss"], ISS);
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["nonce"], "n");
    assert_eq!(claims["sid"], "s-1");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    let verified = fx.verifier.verify(&t.id_token, &none().nonce("n")).unwrap();
    assert_eq!(verified.extra["email"], "alice@example.com");
}

#[test]
fn sid_of_the_authenticated_session_appears_in_the_id_token() {
    // seed-catalog-1 Must-test 11
    let fx = fx();
    let t = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", CLIENT_ID).sid("sess-42"))
        .unwrap();
    let claims = fx.verifier.verify(&t.id_token, &none()).unwrap();
    assert_eq!(claims.sid.as_deref(), Some("sess-42"));
}

#[test]
fn acr_and_amr_are_carried() {
    let fx = fx();
    let t = fx
        .issuer
        .mint(
            IdTokenRequest::new("usr_alice", CLIENT_ID)
                .acr("loa2")
                .amr(["pwd", "hwk"]),
        )
        .unwrap();
    let claims = fx.verifier.verify(&t.id_token, &none()).unwrap();
    assert_eq!(claims.acr.as_deref(), Some("loa2"));
    assert_eq!(claims.amr, Some(vec!["pwd".to_owned(), "hwk".to_owned()]));
}

#[test]
fn several_audiences_make_the_client_the_authorized_party() {
    // OIDC Core §2 azp.
    let fx = fx();
    let t = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", CLIENT_ID).additional_audiences(["api-2"]))
        .unwrap();
    let (_, claims) = segments(&t.id_token);
    assert_eq!(claims["aud"], json!([CLIENT_ID, "api-2"]));
    assert_eq!(claims["azp"], CLIENT_ID);
    let rp = IdTokenVerifier::builder(ISS, CLIENT_ID, TrustedKeys::keystore(fx.keystore.clone()))
        .trusted_audience("api-2")
        .clock(fx.clock.clone())
        .build()
        .unwrap();
    rp.verify(&t.id_token, &none()).unwrap();
    // Without trusting "api-2", the token must be rejected (§3.1.3.7 step 3).
    assert_eq!(
        fx.verifier.verify(&t.id_token, &none()).unwrap_err(),
        IdTokenError::UntrustedAudience
    );
}

#[test]
fn invalid_mint_requests_are_refused() {
    let fx = fx();
    let cases = [
        (
            IdTokenRequest::new("", CLIENT_ID),
            MintError::InvalidSubject(attesto::token::SubjectError::EmptyId),
        ),
        (
            IdTokenRequest::new("usr_alice", ""),
            MintError::InvalidAudience,
        ),
        (
            IdTokenRequest::new("usr_alice", CLIENT_ID).nonce(""),
            MintError::InvalidField("nonce"),
        ),
        (
            IdTokenRequest::new("usr_alice", CLIENT_ID).signing_alg(Algorithm::RS512),
            MintError::NoSigningKey,
        ),
    ];
    for (req, err) in cases {
        assert_eq!(fx.issuer.mint(req).unwrap_err(), err);
    }
}

#[test]
fn id_token_issuer_with_a_bad_issuer_is_a_configuration_error() {
    let ks: Arc<dyn Keystore> = Arc::new(StaticKeystore::generate(Algorithm::ES256).unwrap());
    assert_eq!(
        IdTokenIssuer::builder("id.example.com", ks.clone())
            .build()
            .unwrap_err(),
        TokenConfigError::InvalidIssuer
    );
    assert_eq!(
        IdTokenIssuer::builder(ISS, ks).ttl(0).build().unwrap_err(),
        TokenConfigError::InvalidTtl
    );
}

// ---------------------------------------------------------------- RP verification

#[test]
fn wrong_nonce_or_missing_nonce_is_rejected() {
    // OIDC Core §3.1.3.7 step 11.
    let fx = fx();
    let with_nonce = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", CLIENT_ID).nonce("n-1"))
        .unwrap();
    assert_eq!(
        fx.verifier
            .verify(&with_nonce.id_token, &none().nonce("n-2"))
            .unwrap_err(),
        IdTokenError::NonceMismatch
    );
    let without = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", CLIENT_ID))
        .unwrap();
    assert_eq!(
        fx.verifier
            .verify(&without.id_token, &none().nonce("n-1"))
            .unwrap_err(),
        IdTokenError::NonceMismatch
    );
}

#[test]
fn at_hash_and_c_hash_must_match_what_was_received() {
    let fx = fx();
    let t = fx
        .issuer
        .mint(
            IdTokenRequest::new("usr_alice", CLIENT_ID)
                .access_token("at-1")
                .code("c-1"),
        )
        .unwrap();
    fx.verifier
        .verify(&t.id_token, &none().access_token("at-1").code("c-1"))
        .unwrap();
    assert_eq!(
        fx.verifier
            .verify(&t.id_token, &none().access_token("at-2"))
            .unwrap_err(),
        IdTokenError::AtHashMismatch
    );
    assert_eq!(
        fx.verifier
            .verify(&t.id_token, &none().code("c-2"))
            .unwrap_err(),
        IdTokenError::CodeHashMismatch
    );
    let bare = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", CLIENT_ID))
        .unwrap();
    assert_eq!(
        fx.verifier
            .verify(&bare.id_token, &none().access_token("at-1"))
            .unwrap_err(),
        IdTokenError::AtHashMismatch
    );
}

#[test]
fn azp_is_required_with_several_audiences_and_must_be_the_client() {
    let fx = fx();
    let rp = IdTokenVerifier::builder(ISS, CLIENT_ID, TrustedKeys::keystore(fx.keystore.clone()))
        .trusted_audience("api-2")
        .clock(fx.clock.clone())
        .build()
        .unwrap();
    let multi = json!([CLIENT_ID, "api-2"]);
    let mut c = base_claims();
    c["aud"] = multi;
    assert_eq!(
        rp.verify(&forge(&fx, Some("JWT"), &c), &none())
            .unwrap_err(),
        IdTokenError::WrongAuthorizedParty
    );
    c["azp"] = json!("api-2");
    assert_eq!(
        rp.verify(&forge(&fx, Some("JWT"), &c), &none())
            .unwrap_err(),
        IdTokenError::WrongAuthorizedParty
    );
    c["azp"] = json!(CLIENT_ID);
    rp.verify(&forge(&fx, Some("JWT"), &c), &none()).unwrap();
}

#[test]
fn id_token_for_another_client_is_rejected() {
    let fx = fx();
    let t = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", "other-app"))
        .unwrap();
    assert_eq!(
        fx.verifier.verify(&t.id_token, &none()).unwrap_err(),
        IdTokenError::WrongAudience
    );
}

#[test]
fn id_token_from_another_issuer_is_rejected() {
    let fx = fx();
    let mut c = base_claims();
    c["iss"] = json!("https://evil.example");
    assert_eq!(
        fx.verifier
            .verify(&forge(&fx, None, &c), &none())
            .unwrap_err(),
        IdTokenError::WrongIssuer
    );
}

#[test]
fn expired_id_token_is_rejected_after_the_leeway() {
    let fx = fx();
    let t = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", CLIENT_ID))
        .unwrap();
    fx.clock.set(NOW + 300 + 59);
    fx.verifier.verify(&t.id_token, &none()).unwrap();
    fx.clock.set(NOW + 300 + 60);
    assert_eq!(
        fx.verifier.verify(&t.id_token, &none()).unwrap_err(),
        IdTokenError::Expired
    );
}

#[test]
fn id_token_issued_in_the_future_is_rejected() {
    let fx = fx();
    let mut c = base_claims();
    c["iat"] = json!(NOW + 61);
    assert_eq!(
        fx.verifier
            .verify(&forge(&fx, None, &c), &none())
            .unwrap_err(),
        IdTokenError::IssuedInFuture
    );
    c["iat"] = json!(NOW);
    c["nbf"] = json!(NOW + 61);
    assert_eq!(
        fx.verifier
            .verify(&forge(&fx, None, &c), &none())
            .unwrap_err(),
        IdTokenError::NotYetValid
    );
}

#[test]
fn authentication_older_than_max_age_is_rejected() {
    // OIDC Core §3.1.3.7 step 13.
    let fx = fx();
    let t = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", CLIENT_ID).auth_time(NOW - 600))
        .unwrap();
    assert_eq!(
        fx.verifier
            .verify(&t.id_token, &none().max_age(300))
            .unwrap_err(),
        IdTokenError::AuthenticationTooOld
    );
    fx.verifier
        .verify(&t.id_token, &none().max_age(600))
        .unwrap();
    let no_auth_time = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", CLIENT_ID))
        .unwrap();
    assert_eq!(
        fx.verifier
            .verify(&no_auth_time.id_token, &none().max_age(600))
            .unwrap_err(),
        IdTokenError::AuthenticationTooOld
    );
}

#[test]
fn access_token_is_never_accepted_as_an_id_token() {
    // typ at+jwt is refused by the ID-token verifier, even with a matching aud.
    let fx = fx();
    const USER: PrincipalKind = PrincipalKind::new("user", "usr_", &[]);
    let at = AccessTokenIssuer::builder(ISS, fx.keystore.clone())
        .audience("https://api.example.com")
        .principal_kind(USER)
        .clock(fx.clock.clone())
        .build()
        .unwrap()
        .mint(
            AccessTokenRequest::new(&USER.subject("alice").unwrap(), CLIENT_ID)
                .audience([CLIENT_ID]),
        )
        .unwrap();
    assert_eq!(
        fx.verifier
            .verify(at.access_token.expose(), &none())
            .unwrap_err(),
        IdTokenError::WrongType
    );
}

#[test]
fn id_token_without_typ_is_accepted() {
    let fx = fx();
    fx.verifier
        .verify(&forge(&fx, None, &base_claims()), &none())
        .unwrap();
    assert_eq!(
        fx.verifier
            .verify(&forge(&fx, Some("logout+jwt"), &base_claims()), &none())
            .unwrap_err(),
        IdTokenError::WrongType
    );
}

#[test]
fn id_token_claims_of_the_wrong_type_are_rejected() {
    let fx = fx();
    for (name, value) in [
        ("exp", json!("1")),
        ("iat", json!(null)),
        ("nonce", json!(1)),
        ("aud", json!([])),
        ("sub", json!("")),
        ("nbf", json!("x")),
        ("amr", json!([1])),
    ] {
        let mut c = base_claims();
        c[name] = value;
        assert_eq!(
            fx.verifier
                .verify(&forge(&fx, None, &c), &none())
                .unwrap_err(),
            IdTokenError::InvalidClaim(name),
            "{name}"
        );
    }
    for name in ["iss", "sub", "aud", "exp", "iat"] {
        let mut c = base_claims();
        c.as_object_mut().unwrap().remove(name);
        assert_eq!(
            fx.verifier
                .verify(&forge(&fx, None, &c), &none())
                .unwrap_err(),
            IdTokenError::MissingClaim(name),
            "{name}"
        );
    }
}

#[test]
fn every_supported_algorithm_mints_verifiable_id_tokens() {
    for alg in Algorithm::ALL {
        let fx = fx_alg(alg);
        let t = fx
            .issuer
            .mint(IdTokenRequest::new("usr_alice", CLIENT_ID).access_token("at"))
            .unwrap();
        assert_eq!(t.alg, alg);
        fx.verifier
            .verify(&t.id_token, &none().access_token("at"))
            .unwrap();
    }
}

#[test]
fn issued_id_token_debug_does_not_show_the_token() {
    let fx = fx();
    let t = fx
        .issuer
        .mint(IdTokenRequest::new("usr_alice", CLIENT_ID))
        .unwrap();
    assert!(!format!("{t:?}").contains(&t.id_token));
}

#[test]
fn requests_and_expectations_never_show_the_access_token_or_code_in_debug() {
    let req = IdTokenRequest::new("usr_alice", CLIENT_ID)
        .access_token("at-secret")
        .code("code-secret");
    let exp = IdTokenExpectations::default()
        .access_token("at-secret")
        .code("code-secret");
    for dbg in [format!("{req:?}"), format!("{exp:?}")] {
        assert!(!dbg.contains("secret"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }
}
