//! RFC 9068 JWT access tokens: minting, verification, principal kinds and
//! sender constraints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use attesto::clock::FixedClock;
use attesto::jose::{
    Algorithm, AlgorithmSet, HeaderParams, JwkSet, Keystore, SigningKey, StaticKeystore,
    sign_compact,
};
use attesto::secret::sha256_b64url;
use attesto::token::{
    AccessTokenError, AccessTokenIssuer, AccessTokenRequest, AccessTokenVerifier, ClaimType,
    IdTokenIssuer, IdTokenRequest, MintError, PrincipalKind, RequiredClaim, SenderProof,
    SubjectError, TokenConfigError, TokenType, TrustedKeys,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

const ISS: &str = "https://api.example.com/";
const AUD: &str = "https://api.example.com/";
const NOW: i64 = 1_700_000_000;

const CLIENT: PrincipalKind = PrincipalKind::new(
    "client",
    "oc_",
    &[RequiredClaim::new("client_id", ClaimType::NonEmptyString)],
);
const USER: PrincipalKind = PrincipalKind::new(
    "user",
    "usr_",
    &[
        RequiredClaim::new("act", ClaimType::NonEmptyString),
        RequiredClaim::new("sid", ClaimType::NonEmptyString),
        RequiredClaim::new("token_version", ClaimType::NonNegativeInteger),
    ],
);

struct Fx {
    keystore: Arc<StaticKeystore>,
    clock: Arc<FixedClock>,
    issuer: AccessTokenIssuer,
    verifier: AccessTokenVerifier,
}

fn fx_with(keystore: StaticKeystore) -> Fx {
    let keystore = Arc::new(keystore);
    let clock = Arc::new(FixedClock::new(NOW));
    let issuer = AccessTokenIssuer::builder(ISS, keystore.clone())
        .audience(AUD)
        .principal_kind(CLIENT)
        .principal_kind(USER)
        .clock(clock.clone())
        .build()
        .unwrap();
    let verifier = issuer.verifier().clock(clock.clone()).build().unwrap();
    Fx {
        keystore,
        clock,
        issuer,
        verifier,
    }
}

fn fx() -> Fx {
    fx_with(StaticKeystore::generate(Algorithm::ES256).unwrap())
}

fn client_request(id: &str) -> AccessTokenRequest {
    AccessTokenRequest::new(&CLIENT.subject(id).unwrap(), id).scope(["documents.read"])
}

fn user_request() -> AccessTokenRequest {
    AccessTokenRequest::new(&USER.subject("alice").unwrap(), "app")
        .claim("act", "usr_alice")
        .claim("sid", "sess-1")
        .claim("token_version", 3)
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

/// Sign arbitrary claims with the fixture's active key and the given `typ`.
fn forge(fx: &Fx, typ: Option<&str>, claims: &Value) -> String {
    let key = fx.keystore.default_signing_key().unwrap();
    let mut params = HeaderParams::default();
    params.typ = typ;
    sign_compact(&key, &params, claims.to_string().as_bytes()).unwrap()
}

fn good_claims() -> Value {
    json!({
        "iss": ISS, "sub": "oc_abc", "aud": AUD, "exp": NOW + 600, "iat": NOW,
        "jti": "j-1", "client_id": "oc_abc", "scope": "documents.read"
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

// ---------------------------------------------------------------- minting

#[test]
fn minted_token_is_an_at_jwt_with_kid_and_the_registered_claims() {
    // RFC 9068 §2.1 (typ), §2.2 (required claims).
    let fx = fx();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    let (header, claims) = segments(issued.access_token.expose());
    let key = fx.keystore.default_signing_key().unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], key.kid());
    assert_eq!(claims["iss"], ISS);
    assert_eq!(claims["sub"], "oc_abc");
    assert_eq!(claims["aud"], AUD);
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 900);
    assert_eq!(claims["client_id"], "abc");
    assert_eq!(claims["scope"], "documents.read");
    assert!(claims["jti"].as_str().unwrap().len() >= 22);
    assert!(claims.get("nbf").is_none());
    assert_eq!(issued.token_type, TokenType::Bearer);
    assert_eq!(issued.expires_in, 900);
    assert_eq!(issued.expires_at(), NOW + 900);
    assert_eq!(issued.jti(), claims["jti"].as_str().unwrap());
}

#[test]
fn issued_access_token_debug_does_not_show_the_token() {
    let fx = fx();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    let dbg = format!("{issued:?}");
    assert!(!dbg.contains(issued.access_token.expose()));
}

#[test]
fn every_token_gets_a_fresh_jti() {
    let fx = fx();
    let a = fx.issuer.mint(client_request("abc")).unwrap();
    let b = fx.issuer.mint(client_request("abc")).unwrap();
    assert_ne!(a.jti(), b.jti());
}

#[test]
fn mint_then_verify_round_trips_the_claims() {
    let fx = fx();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    let claims = fx.verifier.verify(issued.access_token.expose()).unwrap();
    assert_eq!(claims, issued.claims);
}

#[test]
fn scope_is_space_delimited_in_order_without_duplicates() {
    let fx = fx();
    let req = client_request("abc").scope(["documents.read", "documents.write", "documents.read"]);
    let issued = fx.issuer.mint(req).unwrap();
    assert_eq!(issued.scope(), "documents.read documents.write");
    let claims = fx.verifier.verify(issued.access_token.expose()).unwrap();
    assert!(claims.has_scope("documents.write"));
    assert!(!claims.has_scope("documents"));
    assert_eq!(claims.scopes().count(), 2);
}

#[test]
fn invalid_scope_tokens_are_refused_at_mint() {
    let fx = fx();
    for bad in ["", "two words", "quo\"te", "back\\slash", "tab\t"] {
        let err = fx
            .issuer
            .mint(client_request("abc").scope([bad]))
            .unwrap_err();
        assert_eq!(err, MintError::InvalidScope, "{bad:?}");
    }
}

#[test]
fn token_without_scope_omits_the_claim() {
    let fx = fx();
    let req = AccessTokenRequest::new(&CLIENT.subject("abc").unwrap(), "oc_abc");
    let issued = fx.issuer.mint(req).unwrap();
    let (_, claims) = segments(issued.access_token.expose());
    assert!(claims.get("scope").is_none());
    assert_eq!(
        fx.verifier
            .verify(issued.access_token.expose())
            .unwrap()
            .scope,
        ""
    );
}

#[test]
fn no_resource_requested_uses_the_configured_audience() {
    // seed-catalog-1 Must-test 27
    let fx = fx();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    let (_, claims) = segments(issued.access_token.expose());
    assert_eq!(claims["aud"], json!(AUD));
}

#[test]
fn one_requested_resource_is_a_string_audience() {
    // seed-catalog-1 Must-test 23: aud = that resource.
    let fx = fx();
    let issued = fx
        .issuer
        .mint(client_request("abc").audience(["https://docs.example.com"]))
        .unwrap();
    let (_, claims) = segments(issued.access_token.expose());
    assert_eq!(claims["aud"], json!("https://docs.example.com"));
}

#[test]
fn several_resources_become_an_aud_array() {
    // seed-catalog-1 Must-test 26
    let fx = fx();
    let issued = fx
        .issuer
        .mint(client_request("abc").audience([AUD, "https://reports.example.com"]))
        .unwrap();
    let (_, claims) = segments(issued.access_token.expose());
    assert_eq!(claims["aud"], json!([AUD, "https://reports.example.com"]));
    // The verifier accepts an array containing its audience.
    fx.verifier.verify(issued.access_token.expose()).unwrap();
}

#[test]
fn empty_requested_audience_is_refused() {
    let fx = fx();
    let err = fx
        .issuer
        .mint(client_request("abc").audience([""]))
        .unwrap_err();
    assert_eq!(err, MintError::InvalidAudience);
}

#[test]
fn client_credentials_subject_is_prefix_plus_client_id() {
    // seed-catalog-1 Must-test 66; seed-catalog-3a Must-test 34: the
    // DCR-issued client_id is unprefixed; sub = prefix + client_id and the
    // client_id claim is the bare client_id.
    let fx = fx();
    let dcr_client_id = "4f2a9c";
    let subject = CLIENT.subject(dcr_client_id).unwrap();
    let issued = fx
        .issuer
        .mint(AccessTokenRequest::new(&subject, dcr_client_id))
        .unwrap();
    let claims = fx.verifier.verify(issued.access_token.expose()).unwrap();
    assert_eq!(claims.sub, format!("oc_{dcr_client_id}"));
    assert_eq!(claims.client_id, dcr_client_id);
}

#[test]
fn unprefixed_subject_is_rejected_at_mint() {
    // seed-catalog-1 Must-test 66 (negative control); seed-catalog-3a Must-test 33 (`invalid_sub`).
    let fx = fx();
    let req = AccessTokenRequest::for_kind("client", "4f2a9c", "4f2a9c");
    assert_eq!(
        fx.issuer.mint(req).unwrap_err(),
        MintError::InvalidSubject(SubjectError::MissingPrefix)
    );
    // Another kind's prefix is not this kind's prefix.
    let req = AccessTokenRequest::for_kind("client", "usr_alice", "app");
    assert_eq!(
        fx.issuer.mint(req).unwrap_err(),
        MintError::InvalidSubject(SubjectError::MissingPrefix)
    );
    let req = AccessTokenRequest::for_kind("client", "oc_", "app");
    assert_eq!(
        fx.issuer.mint(req).unwrap_err(),
        MintError::InvalidSubject(SubjectError::EmptyId)
    );
}

#[test]
fn unknown_principal_kind_is_rejected_at_mint() {
    let fx = fx();
    let req = AccessTokenRequest::for_kind("robot", "oc_abc", "oc_abc");
    assert_eq!(
        fx.issuer.mint(req).unwrap_err(),
        MintError::UnknownPrincipalKind
    );
}

#[test]
fn principal_kind_required_claims_are_enforced_at_mint() {
    // seed 003 "Configure once": user tokens need act, sid and a non-negative token_version.
    let fx = fx();
    fx.issuer.mint(user_request()).unwrap();

    let mut missing = user_request();
    missing.claims.remove("sid");
    assert_eq!(
        fx.issuer.mint(missing).unwrap_err(),
        MintError::MissingRequiredClaim("sid".into())
    );
    for bad in [json!("3"), json!(-1), json!(1.5), json!(null)] {
        let req = user_request().claim("token_version", bad.clone());
        assert_eq!(
            fx.issuer.mint(req).unwrap_err(),
            MintError::MissingRequiredClaim("token_version".into()),
            "{bad}"
        );
    }
    let req = user_request().claim("act", "");
    assert_eq!(
        fx.issuer.mint(req).unwrap_err(),
        MintError::MissingRequiredClaim("act".into())
    );
}

#[test]
fn verification_maps_sub_back_to_its_principal_kind() {
    let fx = fx();
    let issued = fx.issuer.mint(user_request()).unwrap();
    let claims = fx.verifier.verify(issued.access_token.expose()).unwrap();
    let subject = fx.verifier.subject(&claims).unwrap();
    assert_eq!(subject.kind(), "user");
    assert_eq!(subject.id(), "alice");
    assert_eq!(subject.as_str(), "usr_alice");
    assert_eq!(claims.extra["token_version"], 3);
}

#[test]
fn token_whose_sub_matches_no_principal_kind_is_rejected() {
    let fx = fx();
    let token = forge(
        &fx,
        Some("at+jwt"),
        &with(good_claims(), "sub", json!("svc_x")),
    );
    assert_eq!(
        fx.verifier.verify(&token).unwrap_err(),
        AccessTokenError::InvalidSubject(SubjectError::UnknownKind)
    );
}

#[test]
fn token_missing_a_claim_its_principal_kind_requires_is_rejected() {
    let fx = fx();
    let claims = with(good_claims(), "sub", json!("usr_alice"));
    let claims = with(claims, "act", json!("usr_alice"));
    let claims = with(claims, "sid", json!("s"));
    let ok = forge(
        &fx,
        Some("at+jwt"),
        &with(claims.clone(), "token_version", json!(0)),
    );
    fx.verifier.verify(&ok).unwrap();
    let bad = forge(
        &fx,
        Some("at+jwt"),
        &with(claims, "token_version", json!("0")),
    );
    assert_eq!(
        fx.verifier.verify(&bad).unwrap_err(),
        AccessTokenError::MissingRequiredClaim("token_version".into())
    );
}

#[test]
fn verifier_without_principal_kinds_accepts_any_subject() {
    // A third-party resource server that knows nothing of the kinds.
    let fx = fx();
    let rs = AccessTokenVerifier::builder(ISS, TrustedKeys::keystore(fx.keystore.clone()))
        .audience(AUD)
        .clock(fx.clock.clone())
        .build()
        .unwrap();
    let token = forge(
        &fx,
        Some("at+jwt"),
        &with(good_claims(), "sub", json!("anything")),
    );
    assert_eq!(rs.verify(&token).unwrap().sub, "anything");
}

#[test]
fn host_claims_cannot_override_registered_claims() {
    let fx = fx();
    for name in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "client_id",
        "scope",
        "auth_time",
        "acr",
        "amr",
        "cnf",
    ] {
        let req = client_request("abc").claim(name, "evil");
        assert_eq!(
            fx.issuer.mint(req).unwrap_err(),
            MintError::ReservedClaim(name.into()),
            "{name}"
        );
    }
}

#[test]
fn host_claims_are_carried_and_returned_as_extra() {
    let fx = fx();
    let req = client_request("abc")
        .claim("tenant", "acme")
        .claim("roles", json!(["admin", "viewer"]));
    let issued = fx.issuer.mint(req).unwrap();
    let claims = fx.verifier.verify(issued.access_token.expose()).unwrap();
    assert_eq!(claims.extra["tenant"], "acme");
    assert_eq!(claims.extra["roles"], json!(["admin", "viewer"]));
}

#[test]
fn serializing_claims_never_lets_extra_shadow_a_registered_claim() {
    let fx = fx();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    let mut claims = issued.claims;
    claims.extra.insert("sub".into(), json!("evil"));
    let text = serde_json::to_string(&claims).unwrap();
    assert_eq!(text.matches("\"sub\"").count(), 1);
    assert!(!text.contains("evil"));
}

#[test]
fn acr_and_auth_time_from_the_authentication_are_carried() {
    // seed-catalog-1 Must-tests 16, 19 (acr/auth_time reach the access token).
    let fx = fx();
    let req = user_request()
        .auth_time(NOW - 30)
        .acr("urn:mace:incommon:iap:silver")
        .amr(["pwd", "otp"]);
    let issued = fx.issuer.mint(req).unwrap();
    let claims = fx.verifier.verify(issued.access_token.expose()).unwrap();
    assert_eq!(claims.auth_time, Some(NOW - 30));
    assert_eq!(claims.acr.as_deref(), Some("urn:mace:incommon:iap:silver"));
    assert_eq!(claims.amr, Some(vec!["pwd".to_owned(), "otp".to_owned()]));
}

#[test]
fn client_credentials_token_has_no_acr_or_auth_time() {
    // seed-catalog-1 Must-test 21: nothing to satisfy a step-up requirement.
    let fx = fx();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    let (_, claims) = segments(issued.access_token.expose());
    assert!(claims.get("acr").is_none());
    assert!(claims.get("auth_time").is_none());
    assert!(claims.get("amr").is_none());
}

#[test]
fn lifetime_can_be_overridden_within_bounds() {
    let fx = fx();
    let issued = fx.issuer.mint(client_request("abc").ttl(60)).unwrap();
    assert_eq!(issued.expires_in, 60);
    assert_eq!(issued.claims.exp, NOW + 60);
    assert_eq!(
        fx.issuer.mint(client_request("abc").ttl(0)).unwrap_err(),
        MintError::InvalidTtl
    );
    assert_eq!(
        fx.issuer
            .mint(client_request("abc").ttl(86_401))
            .unwrap_err(),
        MintError::InvalidTtl
    );
}

#[test]
fn configured_signing_algorithm_selects_the_key() {
    let ks = StaticKeystore::builder()
        .key(SigningKey::generate(Algorithm::ES256).unwrap())
        .key(SigningKey::generate(Algorithm::PS256).unwrap())
        .build()
        .unwrap();
    let ks = Arc::new(ks);
    let issuer = AccessTokenIssuer::builder(ISS, ks.clone())
        .audience(AUD)
        .principal_kind(CLIENT)
        .signing_alg(Algorithm::PS256)
        .build()
        .unwrap();
    let issued = issuer.mint(client_request("abc")).unwrap();
    let (header, _) = segments(issued.access_token.expose());
    assert_eq!(header["alg"], "PS256");
    assert_eq!(
        header["kid"],
        ks.signing_key(Algorithm::PS256).unwrap().kid()
    );
}

#[test]
fn signing_algorithm_without_a_key_is_a_configuration_error() {
    let ks = Arc::new(StaticKeystore::generate(Algorithm::ES256).unwrap());
    let err = AccessTokenIssuer::builder(ISS, ks)
        .audience(AUD)
        .principal_kind(CLIENT)
        .signing_alg(Algorithm::RS256)
        .build()
        .unwrap_err();
    assert_eq!(err, TokenConfigError::NoSigningKey);
}

// ---------------------------------------------------------------- configuration

#[test]
fn issuer_that_is_not_an_absolute_https_url_is_a_configuration_error() {
    // seed-catalog-1 Must-test 81
    let ks: Arc<dyn Keystore> = Arc::new(StaticKeystore::generate(Algorithm::ES256).unwrap());
    for bad in [
        "issuer.example",
        "",
        "http://issuer.example",
        "https://issuer.example/?q=1",
        "https://issuer.example/#f",
        "https://user@issuer.example/",
    ] {
        let err = AccessTokenIssuer::builder(bad, ks.clone())
            .audience(AUD)
            .principal_kind(CLIENT)
            .build()
            .unwrap_err();
        assert_eq!(err, TokenConfigError::InvalidIssuer, "{bad:?}");
    }
}

#[test]
fn audience_that_is_empty_relative_http_or_has_a_fragment_is_a_configuration_error() {
    // seed-catalog-1 Must-test 56
    let ks: Arc<dyn Keystore> = Arc::new(StaticKeystore::generate(Algorithm::ES256).unwrap());
    for bad in [
        "",
        "not a url",
        "http://api.example.com/",
        "https://api.example.com/#x",
    ] {
        let err = AccessTokenIssuer::builder(ISS, ks.clone())
            .audience(bad)
            .principal_kind(CLIENT)
            .build()
            .unwrap_err();
        assert_eq!(err, TokenConfigError::InvalidAudience, "{bad:?}");
    }
    let err = AccessTokenIssuer::builder(ISS, ks.clone())
        .principal_kind(CLIENT)
        .build()
        .unwrap_err();
    assert_eq!(err, TokenConfigError::NoAudience);
}

#[test]
fn issuer_without_principal_kinds_or_with_overlapping_prefixes_is_a_configuration_error() {
    let ks: Arc<dyn Keystore> = Arc::new(StaticKeystore::generate(Algorithm::ES256).unwrap());
    let err = AccessTokenIssuer::builder(ISS, ks.clone())
        .audience(AUD)
        .build()
        .unwrap_err();
    assert_eq!(err, TokenConfigError::NoPrincipalKinds);
    let err = AccessTokenIssuer::builder(ISS, ks)
        .audience(AUD)
        .principal_kind(PrincipalKind::new("a", "u_", &[]))
        .principal_kind(PrincipalKind::new("b", "u_admin_", &[]))
        .build()
        .unwrap_err();
    assert!(matches!(err, TokenConfigError::InvalidPrincipalKinds(_)));
}

#[test]
fn leeway_above_the_cap_is_a_configuration_error() {
    let fx = fx();
    assert_eq!(
        fx.issuer.verifier().leeway(301).build().unwrap_err(),
        TokenConfigError::LeewayTooLarge
    );
    fx.issuer.verifier().leeway(300).build().unwrap();
}

#[test]
fn verifier_needs_an_audience_and_an_algorithm() {
    let fx = fx();
    let keys = TrustedKeys::keystore(fx.keystore.clone());
    assert_eq!(
        AccessTokenVerifier::builder(ISS, keys.clone())
            .build()
            .unwrap_err(),
        TokenConfigError::NoAudience
    );
    assert_eq!(
        AccessTokenVerifier::builder(ISS, keys)
            .audience(AUD)
            .algorithms(AlgorithmSet::EMPTY)
            .build()
            .unwrap_err(),
        TokenConfigError::NoAlgorithms
    );
}

// ---------------------------------------------------------------- verification

#[test]
fn expired_token_is_rejected_once_the_leeway_has_passed() {
    // RFC 7519 §4.1.4 with the default 60 s leeway.
    let fx = fx();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    let token = issued.access_token.expose();
    fx.clock.set(NOW + 900 + 59);
    fx.verifier.verify(token).unwrap();
    fx.clock.set(NOW + 900 + 60);
    assert_eq!(
        fx.verifier.verify(token).unwrap_err(),
        AccessTokenError::Expired
    );
}

#[test]
fn zero_leeway_expires_exactly_at_exp() {
    let fx = fx();
    let strict = fx
        .issuer
        .verifier()
        .clock(fx.clock.clone())
        .leeway(0)
        .build()
        .unwrap();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    fx.clock.set(NOW + 899);
    strict.verify(issued.access_token.expose()).unwrap();
    fx.clock.set(NOW + 900);
    assert_eq!(
        strict.verify(issued.access_token.expose()).unwrap_err(),
        AccessTokenError::Expired
    );
}

#[test]
fn iat_in_the_future_beyond_the_leeway_is_rejected() {
    let fx = fx();
    let ok = forge(
        &fx,
        Some("at+jwt"),
        &with(good_claims(), "iat", json!(NOW + 60)),
    );
    fx.verifier.verify(&ok).unwrap();
    let bad = forge(
        &fx,
        Some("at+jwt"),
        &with(good_claims(), "iat", json!(NOW + 61)),
    );
    assert_eq!(
        fx.verifier.verify(&bad).unwrap_err(),
        AccessTokenError::IssuedInFuture
    );
}

#[test]
fn nbf_in_the_future_beyond_the_leeway_is_rejected() {
    let fx = fx();
    let bad = forge(
        &fx,
        Some("at+jwt"),
        &with(good_claims(), "nbf", json!(NOW + 61)),
    );
    assert_eq!(
        fx.verifier.verify(&bad).unwrap_err(),
        AccessTokenError::NotYetValid
    );
    let ok = forge(
        &fx,
        Some("at+jwt"),
        &with(good_claims(), "nbf", json!(NOW + 60)),
    );
    assert_eq!(fx.verifier.verify(&ok).unwrap().nbf, Some(NOW + 60));
}

#[test]
fn wrong_issuer_is_rejected() {
    let fx = fx();
    for iss in [
        "https://evil.example/",
        "https://api.example.com",
        "HTTPS://API.EXAMPLE.COM/",
    ] {
        let token = forge(&fx, Some("at+jwt"), &with(good_claims(), "iss", json!(iss)));
        assert_eq!(
            fx.verifier.verify(&token).unwrap_err(),
            AccessTokenError::WrongIssuer,
            "{iss}"
        );
    }
}

#[test]
fn wrong_audience_is_rejected() {
    // RFC 9068 §4: aud must contain an identifier the resource server expects.
    let fx = fx();
    for aud in [
        json!("https://other.example/"),
        json!(["https://a.example", "https://b.example"]),
    ] {
        let token = forge(
            &fx,
            Some("at+jwt"),
            &with(good_claims(), "aud", aud.clone()),
        );
        assert_eq!(
            fx.verifier.verify(&token).unwrap_err(),
            AccessTokenError::WrongAudience,
            "{aud}"
        );
    }
}

#[test]
fn plain_jwt_and_missing_typ_are_not_access_tokens() {
    // RFC 9068 §4: reject typ other than at+jwt / application/at+jwt.
    let fx = fx();
    for typ in [
        Some("JWT"),
        None,
        Some("jwt"),
        Some("dpop+jwt"),
        Some("at+jwt; x"),
    ] {
        let token = forge(&fx, typ, &good_claims());
        assert_eq!(
            fx.verifier.verify(&token).unwrap_err(),
            AccessTokenError::WrongType,
            "{typ:?}"
        );
    }
    for typ in ["application/at+jwt", "AT+JWT"] {
        fx.verifier
            .verify(&forge(&fx, Some(typ), &good_claims()))
            .unwrap();
    }
}

#[test]
fn id_token_is_never_accepted_as_an_access_token() {
    // RFC 9068 §5 (token confusion), even with the same key, issuer and audience.
    let fx = fx();
    let id = IdTokenIssuer::builder(ISS, fx.keystore.clone())
        .clock(fx.clock.clone())
        .build()
        .unwrap()
        .mint(IdTokenRequest::new("oc_abc", AUD))
        .unwrap();
    assert_eq!(
        fx.verifier.verify(&id.id_token).unwrap_err(),
        AccessTokenError::WrongType
    );
}

#[test]
fn missing_registered_claims_are_rejected() {
    // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti are REQUIRED.
    let fx = fx();
    for name in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        let token = forge(&fx, Some("at+jwt"), &without(good_claims(), name));
        assert_eq!(
            fx.verifier.verify(&token).unwrap_err(),
            AccessTokenError::MissingClaim(name),
            "{name}"
        );
    }
}

#[test]
fn claims_of_the_wrong_type_are_rejected() {
    let fx = fx();
    let cases = [
        ("exp", json!((NOW + 600).to_string())),
        ("iat", json!(NOW.to_string())),
        ("nbf", json!("0")),
        ("auth_time", json!(true)),
        ("iss", json!(1)),
        ("sub", json!(["oc_abc"])),
        ("sub", json!("")),
        ("aud", json!([])),
        ("aud", json!([AUD, 1])),
        ("aud", json!(null)),
        ("jti", json!({})),
        ("client_id", json!(null)),
        ("scope", json!(["documents.read"])),
        ("scope", json!("a  b")),
        ("acr", json!(1)),
        ("amr", json!("pwd")),
        ("cnf", json!("x")),
        ("cnf", json!({"jkt": 1})),
        ("cnf", json!({"jkt": "short"})),
        ("cnf", json!({"jwk": {"kty": "EC"}})),
        ("exp", json!(1e300)),
        ("exp", json!(18_446_744_073_709_551_615_u64)),
    ];
    for (name, value) in cases {
        let token = forge(
            &fx,
            Some("at+jwt"),
            &with(good_claims(), name, value.clone()),
        );
        assert_eq!(
            fx.verifier.verify(&token).unwrap_err(),
            AccessTokenError::InvalidClaim(name),
            "{name} = {value}"
        );
    }
}

#[test]
fn fractional_numeric_dates_are_rounded_towards_rejection() {
    let fx = fx();
    let t = forge(
        &fx,
        Some("at+jwt"),
        &with(good_claims(), "exp", json!(NOW as f64 + 0.5)),
    );
    // exp rounds down to NOW, which is already expired once the leeway is 0.
    let strict = fx
        .issuer
        .verifier()
        .clock(fx.clock.clone())
        .leeway(0)
        .build()
        .unwrap();
    assert_eq!(strict.verify(&t).unwrap_err(), AccessTokenError::Expired);
    let t = forge(
        &fx,
        Some("at+jwt"),
        &with(good_claims(), "iat", json!(NOW as f64 + 0.25)),
    );
    assert_eq!(
        strict.verify(&t).unwrap_err(),
        AccessTokenError::IssuedInFuture
    );
}

#[test]
fn algorithm_outside_the_allow_list_is_rejected() {
    let fx = fx_with(StaticKeystore::generate(Algorithm::RS256).unwrap());
    let fapi = fx
        .issuer
        .verifier()
        .clock(fx.clock.clone())
        .algorithms(AlgorithmSet::FAPI)
        .build()
        .unwrap();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    assert_eq!(
        fapi.verify(issued.access_token.expose()).unwrap_err(),
        AccessTokenError::AlgorithmNotAllowed(Algorithm::RS256)
    );
}

#[test]
fn tampered_payload_fails_the_signature() {
    let fx = fx();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    let token = issued.access_token.expose();
    let mut parts: Vec<&str> = token.split('.').collect();
    let (_, mut claims) = segments(token);
    claims["scope"] = json!("documents.read admin");
    let forged = URL_SAFE_NO_PAD.encode(claims.to_string());
    parts[1] = &forged;
    assert_eq!(
        fx.verifier.verify(&parts.join(".")).unwrap_err(),
        AccessTokenError::Signature
    );
}

#[test]
fn token_from_an_untrusted_key_with_a_known_kid_fails_the_signature() {
    let fx = fx();
    let kid = fx.keystore.default_signing_key().unwrap().kid().to_owned();
    let attacker = SigningKey::from_jwk_json(&{
        let k = SigningKey::generate(Algorithm::ES256).unwrap();
        let mut m: serde_json::Map<String, Value> =
            serde_json::from_str(k.to_private_jwk_json().expose()).unwrap();
        m.insert("kid".into(), json!(kid));
        Value::Object(m).to_string()
    })
    .unwrap();
    let token = sign_compact(
        &attacker,
        &HeaderParams::typ("at+jwt"),
        good_claims().to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(
        fx.verifier.verify(&token).unwrap_err(),
        AccessTokenError::Signature
    );
}

#[test]
fn unknown_kid_is_rejected() {
    let fx = fx();
    let other = SigningKey::generate(Algorithm::ES256).unwrap();
    let token = sign_compact(
        &other,
        &HeaderParams::typ("at+jwt"),
        good_claims().to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(
        fx.verifier.verify(&token).unwrap_err(),
        AccessTokenError::UnknownKey
    );
}

#[test]
fn resource_server_verifies_with_the_published_jwks_document() {
    // seed 003: resource servers verify locally by signature, audience and issuer.
    let fx = fx();
    let jwks = JwkSet::from_json(fx.keystore.jwks().json()).unwrap();
    let rs = AccessTokenVerifier::builder(
        ISS,
        TrustedKeys::from_jwk_set(&jwks, AlgorithmSet::ALL).unwrap(),
    )
    .audience(AUD)
    .principal_kind(CLIENT)
    .clock(fx.clock.clone())
    .build()
    .unwrap();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    assert_eq!(
        rs.verify(issued.access_token.expose()).unwrap().sub,
        "oc_abc"
    );
}

#[test]
fn jwk_set_verifier_without_kid_needs_a_single_candidate_key() {
    let fx = fx();
    let key = fx.keystore.default_signing_key().unwrap();
    let mut params = HeaderParams::typ("at+jwt");
    params.omit_kid = true;
    let token = sign_compact(&key, &params, good_claims().to_string().as_bytes()).unwrap();
    let one = JwkSet::from_json(fx.keystore.jwks().json()).unwrap();
    let rs = |set: &JwkSet| {
        AccessTokenVerifier::builder(
            ISS,
            TrustedKeys::from_jwk_set(set, AlgorithmSet::ALL).unwrap(),
        )
        .audience(AUD)
        .clock(fx.clock.clone())
        .build()
        .unwrap()
    };
    rs(&one).verify(&token).unwrap();
    let mut two = one.clone();
    two.keys.push(
        SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .public_jwk()
            .clone(),
    );
    assert_eq!(
        rs(&two).verify(&token).unwrap_err(),
        AccessTokenError::UnknownKey
    );
}

#[test]
fn tokens_signed_by_a_rotated_out_key_keep_verifying() {
    // seed-catalog-3a Must-test 13 (rotation window).
    let old = SigningKey::generate(Algorithm::ES256).unwrap();
    let old_pem = old.to_pkcs8_pem().unwrap();
    let fx_old = fx_with(StaticKeystore::builder().key(old).build().unwrap());
    let issued = fx_old.issuer.mint(client_request("abc")).unwrap();

    let retired = SigningKey::from_pem(old_pem.expose(), None, None).unwrap();
    let rotated = StaticKeystore::builder()
        .key(SigningKey::generate(Algorithm::ES256).unwrap())
        .retired(retired)
        .build()
        .unwrap();
    let fx_new = fx_with(rotated);
    fx_new
        .verifier
        .verify(issued.access_token.expose())
        .unwrap();
    let fresh = fx_new.issuer.mint(client_request("abc")).unwrap();
    let (h_old, _) = segments(issued.access_token.expose());
    let (h_new, _) = segments(fresh.access_token.expose());
    assert_ne!(h_old["kid"], h_new["kid"]);
}

#[test]
fn oversized_token_is_rejected_before_parsing() {
    let fx = fx();
    let small = fx.issuer.verifier().max_token_len(64).build().unwrap();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    assert_eq!(
        small.verify(issued.access_token.expose()).unwrap_err(),
        AccessTokenError::TooLarge
    );
}

#[test]
fn every_supported_algorithm_mints_and_verifies() {
    for alg in Algorithm::ALL {
        let fx = fx_with(StaticKeystore::generate(alg).unwrap());
        let issued = fx.issuer.mint(client_request("abc")).unwrap();
        let (header, _) = segments(issued.access_token.expose());
        assert_eq!(header["alg"], alg.as_str());
        fx.verifier.verify(issued.access_token.expose()).unwrap();
    }
}

// ---------------------------------------------------------------- sender constraint

fn jkt() -> String {
    SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .verifying_key()
        .thumbprint()
        .to_owned()
}

#[test]
fn dpop_bound_token_carries_cnf_jkt_and_is_of_type_dpop() {
    // RFC 9449 §6.1; seed 003 "Sender-constrain a token to a DPoP key".
    let fx = fx();
    let jkt = jkt();
    let issued = fx
        .issuer
        .mint(client_request("abc").dpop_jkt(&jkt))
        .unwrap();
    assert_eq!(issued.token_type, TokenType::DPoP);
    let (_, claims) = segments(issued.access_token.expose());
    assert_eq!(claims["cnf"], json!({ "jkt": jkt }));
}

#[test]
fn mtls_bound_token_is_bearer_with_x5t_s256() {
    // seed-catalog-2 key finding 2: certificate-bound tokens stay `Bearer`.
    let fx = fx();
    let x5t = sha256_b64url(b"certificate DER");
    let issued = fx
        .issuer
        .mint(client_request("abc").mtls_thumbprint(&x5t))
        .unwrap();
    assert_eq!(issued.token_type, TokenType::Bearer);
    let (_, claims) = segments(issued.access_token.expose());
    assert_eq!(claims["cnf"], json!({ "x5t#S256": x5t }));
}

#[test]
fn malformed_confirmation_is_refused_at_mint() {
    let fx = fx();
    for bad in ["", "abc", &"A".repeat(44)] {
        assert_eq!(
            fx.issuer
                .mint(client_request("abc").dpop_jkt(bad))
                .unwrap_err(),
            MintError::InvalidConfirmation
        );
    }
    let mut both = client_request("abc").dpop_jkt(jkt());
    both.confirmation.as_mut().unwrap().x5t_s256 = Some(jkt());
    assert_eq!(
        fx.issuer.mint(both).unwrap_err(),
        MintError::InvalidConfirmation
    );
}

#[test]
fn dpop_bound_token_presented_as_bearer_is_rejected() {
    // seed-catalog-1 Must-test 139; seed 003: "A DPoP-bound token presented without proof is rejected".
    let fx = fx();
    let jkt = jkt();
    let issued = fx
        .issuer
        .mint(client_request("abc").dpop_jkt(&jkt))
        .unwrap();
    let token = issued.access_token.expose();
    assert_eq!(
        fx.verifier
            .verify_presented(token, SenderProof::NONE)
            .unwrap_err(),
        AccessTokenError::SenderProofRequired
    );
    let claims = fx
        .verifier
        .verify_presented(token, SenderProof::dpop(&jkt))
        .unwrap();
    assert_eq!(claims.cnf.unwrap().jkt.as_deref(), Some(jkt.as_str()));
}

#[test]
fn dpop_bound_token_with_a_proof_for_another_key_is_rejected() {
    let fx = fx();
    let issued = fx
        .issuer
        .mint(client_request("abc").dpop_jkt(jkt()))
        .unwrap();
    assert_eq!(
        fx.verifier
            .verify_presented(issued.access_token.expose(), SenderProof::dpop(&jkt()))
            .unwrap_err(),
        AccessTokenError::SenderMismatch
    );
}

#[test]
fn dpop_proof_presented_with_an_unbound_token_is_rejected() {
    // seed 003: "a proof presented against a token that is not bound that way is rejected too".
    let fx = fx();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    assert_eq!(
        fx.verifier
            .verify_presented(issued.access_token.expose(), SenderProof::dpop(&jkt()))
            .unwrap_err(),
        AccessTokenError::UnexpectedSenderProof
    );
    let x5t = sha256_b64url(b"cert");
    let mtls = fx
        .issuer
        .mint(client_request("abc").mtls_thumbprint(&x5t))
        .unwrap();
    assert_eq!(
        fx.verifier
            .verify_presented(
                mtls.access_token.expose(),
                SenderProof::dpop(&jkt()).with_cert(&x5t)
            )
            .unwrap_err(),
        AccessTokenError::UnexpectedSenderProof
    );
}

#[test]
fn certificate_bound_token_requires_the_same_certificate() {
    // RFC 8705 §3.
    let fx = fx();
    let x5t = sha256_b64url(b"cert-1");
    let issued = fx
        .issuer
        .mint(client_request("abc").mtls_thumbprint(&x5t))
        .unwrap();
    let token = issued.access_token.expose();
    assert_eq!(
        fx.verifier
            .verify_presented(token, SenderProof::NONE)
            .unwrap_err(),
        AccessTokenError::SenderProofRequired
    );
    assert_eq!(
        fx.verifier
            .verify_presented(token, SenderProof::mtls(&sha256_b64url(b"cert-2")))
            .unwrap_err(),
        AccessTokenError::SenderMismatch
    );
    fx.verifier
        .verify_presented(token, SenderProof::mtls(&x5t))
        .unwrap();
}

#[test]
fn unbound_token_with_a_client_certificate_is_accepted() {
    let fx = fx();
    let issued = fx.issuer.mint(client_request("abc")).unwrap();
    fx.verifier
        .verify_presented(
            issued.access_token.expose(),
            SenderProof::mtls(&sha256_b64url(b"c")),
        )
        .unwrap();
}

/// A keystore whose signer can disappear (a KMS outage).
struct FlakyKeystore {
    inner: StaticKeystore,
    down: std::sync::atomic::AtomicBool,
}

impl Keystore for FlakyKeystore {
    fn signing_key(&self, alg: Algorithm) -> Option<Arc<SigningKey>> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        self.inner.signing_key(alg)
    }
    fn default_signing_key(&self) -> Option<Arc<SigningKey>> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        self.inner.default_signing_key()
    }
    fn verifying_key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Option<Arc<attesto::jose::VerifyingKey>> {
        self.inner.verifying_key(kid, alg)
    }
    fn jwks(&self) -> Arc<attesto::jose::JwksDocument> {
        self.inner.jwks()
    }
}

#[test]
fn mint_fails_closed_with_a_typed_error_when_the_keystore_loses_its_signer() {
    // seed-catalog-2 Must-test 71 (the core half): a keystore failure during
    // mint is a typed error the endpoint renders generically; nothing is issued.
    let ks = Arc::new(FlakyKeystore {
        inner: StaticKeystore::generate(Algorithm::ES256).unwrap(),
        down: std::sync::atomic::AtomicBool::new(false),
    });
    let issuer = AccessTokenIssuer::builder(ISS, ks.clone())
        .audience(AUD)
        .principal_kind(CLIENT)
        .build()
        .unwrap();
    issuer.mint(client_request("abc")).unwrap();
    ks.down.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        issuer.mint(client_request("abc")).unwrap_err(),
        MintError::NoSigningKey
    );
}

/// A keystore whose active signer is replaced at runtime (KMS rotation).
struct RotatingKeystore {
    active: std::sync::RwLock<Arc<SigningKey>>,
    all: StaticKeystore,
}

impl Keystore for RotatingKeystore {
    fn signing_key(&self, alg: Algorithm) -> Option<Arc<SigningKey>> {
        let k = self.active.read().unwrap().clone();
        (k.algorithm() == alg).then_some(k)
    }
    fn default_signing_key(&self) -> Option<Arc<SigningKey>> {
        Some(self.active.read().unwrap().clone())
    }
    fn verifying_key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Option<Arc<attesto::jose::VerifyingKey>> {
        self.all.verifying_key(kid, alg)
    }
    fn jwks(&self) -> Arc<attesto::jose::JwksDocument> {
        self.all.jwks()
    }
}

#[test]
fn cached_headers_follow_a_runtime_key_rotation() {
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    let b = SigningKey::generate(Algorithm::PS256).unwrap();
    let reload =
        |k: &SigningKey| SigningKey::from_jwk_json(k.to_private_jwk_json().expose()).unwrap();
    let ks = Arc::new(RotatingKeystore {
        active: std::sync::RwLock::new(Arc::new(reload(&a))),
        all: StaticKeystore::builder()
            .key(reload(&a))
            .key(reload(&b))
            .build()
            .unwrap(),
    });
    let issuer = AccessTokenIssuer::builder(ISS, ks.clone())
        .audience(AUD)
        .principal_kind(CLIENT)
        .build()
        .unwrap();
    let verifier = issuer.verifier().build().unwrap();
    let first = issuer.mint(client_request("abc")).unwrap();
    *ks.active.write().unwrap() = Arc::new(reload(&b));
    let second = issuer.mint(client_request("abc")).unwrap();
    let (h1, _) = segments(first.access_token.expose());
    let (h2, _) = segments(second.access_token.expose());
    assert_eq!(
        (h1["alg"].as_str(), h1["kid"].as_str()),
        (Some("ES256"), Some(a.kid()))
    );
    assert_eq!(
        (h2["alg"].as_str(), h2["kid"].as_str()),
        (Some("PS256"), Some(b.kid()))
    );
    verifier.verify(first.access_token.expose()).unwrap();
    verifier.verify(second.access_token.expose()).unwrap();
}

/// Plain http is accepted for loopback issuers only (local development),
/// by the same rule the server configuration uses.
#[test]
fn http_issuer_is_accepted_only_on_loopback() {
    use std::sync::Arc;
    let keys: Arc<dyn attesto::jose::Keystore> =
        Arc::new(attesto::jose::StaticKeystore::generate(attesto::jose::Algorithm::ES256).unwrap());
    const USER: attesto::token::PrincipalKind =
        attesto::token::PrincipalKind::new("user", "usr_", &[]);
    let build = |iss: &str| {
        attesto::token::AccessTokenIssuer::builder(iss, Arc::clone(&keys))
            .audience(iss)
            .principal_kind(USER)
            .build()
    };
    assert!(build("http://127.0.0.1:8080").is_ok());
    assert!(build("http://localhost:8080").is_ok());
    assert!(build("http://id.example.com").is_err());
}
