//! Hostile and malformed JOSE input: every case is a typed error, never a
//! panic, and never a verified token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, LazyLock};

use attesto::clock::FixedClock;
use attesto::jose::{
    Algorithm, AlgorithmSet, DEFAULT_MAX_JWS_LEN, HeaderParams, JoseError, Jwk, JwkSet, Keystore,
    SigningKey, StaticKeystore, UnverifiedJws, VerifyingKey, sign_compact,
};
use attesto::token::{
    AccessTokenClaims, AccessTokenError, AccessTokenVerifier, IdTokenClaims, IdTokenExpectations,
    IdTokenVerifier, TrustedKeys,
};
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use serde_json::{Value, json};

const ISS: &str = "https://as.example";
const AUD: &str = "https://rs.example";
const NOW: i64 = 1_700_000_000;

struct Fx {
    ks: Arc<StaticKeystore>,
    verifier: AccessTokenVerifier,
}

static FX: LazyLock<Fx> = LazyLock::new(|| {
    let ks = Arc::new(
        StaticKeystore::builder()
            .key(SigningKey::generate(Algorithm::ES256).unwrap())
            .key(SigningKey::generate(Algorithm::RS256).unwrap())
            .build()
            .unwrap(),
    );
    let verifier = AccessTokenVerifier::builder(ISS, TrustedKeys::keystore(ks.clone()))
        .audience(AUD)
        .clock(Arc::new(FixedClock::new(NOW)))
        .build()
        .unwrap();
    Fx { ks, verifier }
});

fn es256() -> Arc<SigningKey> {
    FX.ks.signing_key(Algorithm::ES256).unwrap()
}

fn b64(v: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

fn claims() -> Value {
    json!({"iss": ISS, "sub": "s", "aud": AUD, "exp": NOW + 60, "iat": NOW, "jti": "j", "client_id": "c"})
}

/// A correctly signed access token with this payload.
fn signed(payload: &[u8]) -> String {
    sign_compact(&es256(), &HeaderParams::typ("at+jwt"), payload).unwrap()
}

/// A token with an arbitrary header, signed with the ES256 key over exactly
/// the bytes given (so only the header check can refuse it).
fn with_header(header: &str, payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let sig = es256().sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(sig))
}

fn verify(token: &str) -> Result<AccessTokenClaims, AccessTokenError> {
    FX.verifier.verify(token)
}

fn parse(token: &str) -> Result<UnverifiedJws<'_>, JoseError> {
    UnverifiedJws::parse(token, DEFAULT_MAX_JWS_LEN)
}

#[test]
fn a_valid_token_verifies_so_the_negative_cases_are_meaningful() {
    verify(&signed(claims().to_string().as_bytes())).unwrap();
}

#[test]
fn tokens_with_one_two_or_four_parts_are_malformed() {
    let good = signed(claims().to_string().as_bytes());
    let mut parts = good.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    for bad in [
        h.to_owned(),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.{s}"),
        String::new(),
    ] {
        assert!(
            matches!(parse(&bad), Err(JoseError::Malformed(_))),
            "{bad:?}"
        );
        assert!(
            matches!(verify(&bad), Err(AccessTokenError::Malformed(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn empty_parts_are_malformed() {
    let good = signed(claims().to_string().as_bytes());
    let mut parts = good.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    for bad in [format!(".{p}.{s}"), format!("{h}.{p}."), "..".into()] {
        assert!(
            matches!(verify(&bad), Err(AccessTokenError::Malformed(_))),
            "{bad:?}"
        );
    }
    // An empty payload is a valid JWS shape; the signature (over the original
    // payload) no longer matches. Signed empty payloads are refused as
    // malformed claims in `payload_that_is_not_a_json_object_is_malformed`.
    assert_eq!(
        verify(&format!("{h}..{s}")).unwrap_err(),
        AccessTokenError::Signature
    );
}

#[test]
fn bad_base64_in_any_segment_is_refused() {
    let good = signed(claims().to_string().as_bytes());
    let mut parts = good.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    for bad in [
        format!("{h}!.{p}.{s}"),
        format!("{h}.{p}+.{s}"),
        format!("{h}.{p}.{s}/"),
        format!("{h}.{p} .{s}"),
        format!("{h}.{p}.{s}\n"),
    ] {
        assert_eq!(parse(&bad).unwrap_err(), JoseError::Base64, "{bad:?}");
        assert_eq!(
            verify(&bad).unwrap_err(),
            AccessTokenError::Malformed("invalid base64url"),
            "{bad:?}"
        );
    }
}

#[test]
fn padded_base64_is_refused() {
    // RFC 7515 §2: base64url without padding.
    let header = URL_SAFE.encode(r#"{"alg":"ES256","typ":"at+jwt" }"#);
    assert!(header.ends_with('='));
    let token = format!("{header}.{}.c2ln", b64("{}"));
    assert_eq!(parse(&token).unwrap_err(), JoseError::Base64);
}

#[test]
fn non_canonical_base64_trailing_bits_are_refused() {
    // "e30" is "{}"; "e31" decodes to the same bytes only if trailing bits are ignored.
    let token = format!("e31.{}.c2ln", b64("{}"));
    assert_eq!(parse(&token).unwrap_err(), JoseError::Base64);
}

#[test]
fn header_that_is_not_a_json_object_is_malformed() {
    let payload = claims().to_string();
    for header in [
        "not json",
        "[]",
        r#"["alg","ES256"]"#,
        "\"ES256\"",
        "null",
        "{",
        "",
        "\u{feff}{}",
    ] {
        let token = format!("{}.{}.c2ln", b64(header), b64(&payload));
        let token = if header.is_empty() {
            format!("x{token}")
        } else {
            token
        };
        assert!(
            matches!(verify(&token), Err(AccessTokenError::Malformed(_))),
            "{header:?}"
        );
    }
}

#[test]
fn header_with_invalid_utf8_is_malformed() {
    let token = format!("{}.{}.c2ln", b64(b"{\"alg\":\"ES256\xff\"}"), b64("{}"));
    assert!(matches!(parse(&token), Err(JoseError::Malformed(_))));
}

#[test]
fn duplicate_header_members_are_refused() {
    // RFC 7515 §5.2 step 4 (strict reading).
    let payload = claims().to_string();
    for header in [
        r#"{"alg":"ES256","typ":"at+jwt","alg":"ES256"}"#,
        r#"{"alg":"ES256","typ":"at+jwt","typ":"at+jwt"}"#,
        r#"{"alg":"ES256","kid":"a","kid":"b","typ":"at+jwt"}"#,
    ] {
        let token = with_header(header, payload.as_bytes());
        assert_eq!(
            verify(&token).unwrap_err(),
            AccessTokenError::DuplicateMember,
            "{header}"
        );
    }
}

#[test]
fn duplicate_claim_members_are_refused_even_when_signed() {
    // RFC 7519 §4 (strict reading): a validly signed token with `sub` twice.
    let payload = br#"{"iss":"https://as.example","sub":"alice","sub":"admin","aud":"https://rs.example","exp":1700000060,"iat":1700000000,"jti":"j","client_id":"c"}"#;
    assert_eq!(
        verify(&signed(payload)).unwrap_err(),
        AccessTokenError::DuplicateMember
    );
    // The same name spelled with a JSON escape is the same member.
    let escaped = br#"{"iss":"https://as.example","sub":"alice","\u0073ub":"admin","aud":"https://rs.example","exp":1700000060,"iat":1700000000,"jti":"j","client_id":"c"}"#;
    assert_eq!(
        verify(&signed(escaped)).unwrap_err(),
        AccessTokenError::DuplicateMember
    );
    let extra = br#"{"iss":"https://as.example","sub":"alice","aud":"https://rs.example","exp":1700000060,"iat":1700000000,"jti":"j","client_id":"c","role":"user","role":"admin"}"#;
    assert_eq!(
        verify(&signed(extra)).unwrap_err(),
        AccessTokenError::DuplicateMember
    );
}

#[test]
fn alg_none_in_any_case_is_refused() {
    let payload = claims().to_string();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"at+jwt"}}"#);
        // Unsigned (empty signature) and with a junk signature.
        let unsigned = format!("{}.{}.", b64(&header), b64(&payload));
        assert!(verify(&unsigned).is_err(), "{alg}");
        assert!(matches!(
            verify(&unsigned),
            Err(AccessTokenError::Malformed(_))
        ));
        let junk = format!("{unsigned}c2ln");
        assert_eq!(
            parse(&junk).unwrap_err(),
            JoseError::UnsupportedAlgorithm,
            "{alg}"
        );
        assert_eq!(
            verify(&junk).unwrap_err(),
            AccessTokenError::UnsupportedAlgorithm,
            "{alg}"
        );
    }
}

#[test]
fn hs256_signed_with_the_public_key_as_secret_is_refused() {
    // Algorithm confusion: an attacker MACs with the server's public key.
    use openssl::{hash::MessageDigest, pkey::PKey, sign::Signer};
    let key = es256();
    let public_json = serde_json::to_string(key.public_jwk()).unwrap();
    let pem = FX
        .ks
        .signing_key(Algorithm::RS256)
        .unwrap()
        .to_pkcs8_pem()
        .unwrap();
    for (hs, md, secret) in [
        (
            "HS256",
            MessageDigest::sha256(),
            public_json.as_bytes().to_vec(),
        ),
        (
            "HS384",
            MessageDigest::sha384(),
            pem.expose().as_bytes().to_vec(),
        ),
        ("HS512", MessageDigest::sha512(), b"secret".to_vec()),
    ] {
        let header = format!(r#"{{"alg":"{hs}","typ":"at+jwt","kid":"{}"}}"#, key.kid());
        let input = format!("{}.{}", b64(header), b64(claims().to_string()));
        let mac_key = PKey::hmac(&secret).unwrap();
        let mut signer = Signer::new(md, &mac_key).unwrap();
        let mac = signer.sign_oneshot_to_vec(input.as_bytes()).unwrap();
        let token = format!("{input}.{}", b64(mac));
        assert_eq!(
            verify(&token).unwrap_err(),
            AccessTokenError::UnsupportedAlgorithm,
            "{hs}"
        );
    }
}

#[test]
fn rs256_header_naming_an_ec_key_is_refused() {
    // Key-type mismatch: the header's alg does not fit the key its kid names.
    let ec = es256();
    let rsa = FX.ks.signing_key(Algorithm::RS256).unwrap();
    let header = format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{}"}}"#, ec.kid());
    let input = format!("{}.{}", b64(&header), b64(claims().to_string()));
    let token = format!("{input}.{}", b64(rsa.sign(input.as_bytes()).unwrap()));
    assert_eq!(verify(&token).unwrap_err(), AccessTokenError::UnknownKey);
    // At the JOSE seam: verifying with the EC key refuses before any signature math.
    let parsed = parse(&token).unwrap();
    assert_eq!(
        parsed
            .verify(ec.verifying_key(), AlgorithmSet::ALL)
            .unwrap_err(),
        JoseError::KeyMismatch
    );
    // And ES256 claimed over an RSA key.
    let header = format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}"}}"#, rsa.kid());
    let token = with_header(&header, claims().to_string().as_bytes());
    assert_eq!(verify(&token).unwrap_err(), AccessTokenError::UnknownKey);
}

#[test]
fn unknown_crit_and_b64_headers_are_refused() {
    // RFC 7515 §4.1.11: attesto understands no extensions.
    let payload = claims().to_string();
    for header in [
        r#"{"alg":"ES256","typ":"at+jwt","crit":["exp"],"exp":1}"#,
        r#"{"alg":"ES256","typ":"at+jwt","crit":[]}"#,
        r#"{"alg":"ES256","typ":"at+jwt","b64":false,"crit":["b64"]}"#,
        r#"{"alg":"ES256","typ":"at+jwt","b64":true}"#,
    ] {
        let token = with_header(header, payload.as_bytes());
        assert_eq!(
            verify(&token).unwrap_err(),
            AccessTokenError::CriticalHeader,
            "{header}"
        );
    }
}

#[test]
fn header_members_of_the_wrong_type_are_malformed() {
    let payload = claims().to_string();
    for header in [
        r#"{"typ":"at+jwt"}"#,
        r#"{"alg":256,"typ":"at+jwt"}"#,
        r#"{"alg":["ES256"],"typ":"at+jwt"}"#,
        r#"{"alg":"ES256","typ":1}"#,
        r#"{"alg":"ES256","typ":"at+jwt","kid":7}"#,
        r#"{"alg":"ES256","typ":"at+jwt","jwk":"x"}"#,
        r#"{"alg":"ES256","typ":"at+jwt","jwk":{"kty":"oct","k":"c2VjcmV0"}}"#,
    ] {
        let token = with_header(header, payload.as_bytes());
        assert!(
            matches!(verify(&token), Err(AccessTokenError::Malformed(_))),
            "{header}"
        );
    }
}

#[test]
fn unknown_algorithm_names_are_unsupported() {
    let payload = claims().to_string();
    for alg in ["ES256K", "Ed25519", "ES-256", "es256", "RS1", "", "PS256 "] {
        let header = format!(r#"{{"alg":"{alg}","typ":"at+jwt"}}"#);
        let token = with_header(&header, payload.as_bytes());
        assert_eq!(
            verify(&token).unwrap_err(),
            AccessTokenError::UnsupportedAlgorithm,
            "{alg:?}"
        );
    }
}

#[test]
fn oversized_token_is_refused_before_decoding() {
    let huge = "a".repeat(DEFAULT_MAX_JWS_LEN + 1);
    assert_eq!(parse(&huge).unwrap_err(), JoseError::TooLarge);
    assert_eq!(verify(&huge).unwrap_err(), AccessTokenError::TooLarge);
    let padded = claims();
    let mut big = padded.as_object().unwrap().clone();
    big.insert("pad".into(), json!("x".repeat(DEFAULT_MAX_JWS_LEN)));
    let token = signed(Value::Object(big).to_string().as_bytes());
    assert_eq!(verify(&token).unwrap_err(), AccessTokenError::TooLarge);
}

#[test]
fn invalid_utf8_in_the_payload_is_malformed() {
    let token = signed(b"{\"iss\":\"https://as.example\xff\"}");
    assert!(matches!(
        verify(&token),
        Err(AccessTokenError::Malformed(_))
    ));
    let token = signed(b"\xff\xfe\xfd");
    assert!(matches!(
        verify(&token),
        Err(AccessTokenError::Malformed(_))
    ));
}

#[test]
fn payload_that_is_not_a_json_object_is_malformed() {
    for payload in [&b""[..], b"[]", b"null", b"\"claims\"", b"{\"iss\":", b"1"] {
        let token = signed(payload);
        assert!(
            matches!(verify(&token), Err(AccessTokenError::Malformed(_))),
            "{payload:?}"
        );
    }
}

#[test]
fn expired_future_wrong_issuer_wrong_audience_and_unknown_kid_are_typed() {
    let mut c = claims();
    c["exp"] = json!(NOW - 61);
    assert_eq!(
        verify(&signed(c.to_string().as_bytes())).unwrap_err(),
        AccessTokenError::Expired
    );
    let mut c = claims();
    c["iat"] = json!(NOW + 3600);
    assert_eq!(
        verify(&signed(c.to_string().as_bytes())).unwrap_err(),
        AccessTokenError::IssuedInFuture
    );
    let mut c = claims();
    c["iss"] = json!("https://evil.example");
    assert_eq!(
        verify(&signed(c.to_string().as_bytes())).unwrap_err(),
        AccessTokenError::WrongIssuer
    );
    let mut c = claims();
    c["aud"] = json!("https://other.example");
    assert_eq!(
        verify(&signed(c.to_string().as_bytes())).unwrap_err(),
        AccessTokenError::WrongAudience
    );
    let stranger = SigningKey::generate(Algorithm::ES256).unwrap();
    let token = sign_compact(
        &stranger,
        &HeaderParams::typ("at+jwt"),
        claims().to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(verify(&token).unwrap_err(), AccessTokenError::UnknownKey);
}

#[test]
fn signature_of_the_wrong_length_or_garbage_is_invalid() {
    let good = signed(claims().to_string().as_bytes());
    let (input, _) = good.rsplit_once('.').unwrap();
    for sig in [
        vec![0u8; 1],
        vec![0u8; 64],
        vec![0xffu8; 64],
        vec![0u8; 63],
        vec![0u8; 65],
        vec![0u8; 512],
    ] {
        let token = format!("{input}.{}", b64(&sig));
        assert_eq!(
            verify(&token).unwrap_err(),
            AccessTokenError::Signature,
            "{}",
            sig.len()
        );
    }
}

#[test]
fn signature_from_another_token_does_not_transfer() {
    let a = signed(claims().to_string().as_bytes());
    let mut c = claims();
    c["sub"] = json!("admin");
    let b = signed(c.to_string().as_bytes());
    let (a_input, _) = a.rsplit_once('.').unwrap();
    let (_, b_sig) = b.rsplit_once('.').unwrap();
    assert_eq!(
        verify(&format!("{a_input}.{b_sig}")).unwrap_err(),
        AccessTokenError::Signature
    );
}

// ---------------------------------------------------------------- property tests

fn b64url_char() -> impl Strategy<Value = char> {
    prop::sample::select(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            .chars()
            .collect::<Vec<_>>(),
    )
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
        "[A-Za-z0-9_-]{0,90}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const MEMBER_NAMES: [&str; 22] = [
    "kty", "crv", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi", "kid", "alg", "use",
    "key_ops", "k", "iss", "sub", "aud", "exp", "keys",
];

/// JSON objects built from JOSE-relevant member names, so parsers get past
/// the "is it an object" check.
fn jose_object() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        3 => prop::sample::select(vec!["RSA", "EC", "OKP", "oct", "P-256", "P-384", "P-521", "Ed25519", "X25519", "sig", "enc", "ES256", "RS256", "EdDSA", "none", "AQAB", ""])
            .prop_map(|s| json!(s)),
        3 => "[A-Za-z0-9_-]{0,120}".prop_map(Value::String),
        1 => json_value(),
    ];
    prop::collection::btree_map(prop::sample::select(MEMBER_NAMES.to_vec()), value, 0..10)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

fn rs_verifier() -> &'static AccessTokenVerifier {
    &FX.verifier
}

fn id_verifier() -> &'static IdTokenVerifier {
    static V: LazyLock<IdTokenVerifier> = LazyLock::new(|| {
        IdTokenVerifier::builder(ISS, "app", TrustedKeys::keystore(FX.ks.clone()))
            .clock(Arc::new(FixedClock::new(NOW)))
            .build()
            .unwrap()
    });
    &V
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic_any_parser(s in ".{0,300}") {
        let _ = UnverifiedJws::parse(&s, DEFAULT_MAX_JWS_LEN);
        let _ = Jwk::from_json(&s);
        let _ = JwkSet::from_json(&s);
        let _ = SigningKey::from_jwk_json(&s);
        let _ = SigningKey::from_pem(&s, None, None);
        prop_assert!(rs_verifier().verify(&s).is_err());
        prop_assert!(id_verifier().verify(&s, &IdTokenExpectations::default()).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic_claim_parsers(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = AccessTokenClaims::from_json(&bytes);
        let _ = IdTokenClaims::from_json(&bytes);
        let s = String::from_utf8_lossy(&bytes);
        let _ = UnverifiedJws::parse(&s, DEFAULT_MAX_JWS_LEN);
        prop_assert!(rs_verifier().verify(&s).is_err());
    }

    #[test]
    fn three_base64url_segments_of_arbitrary_json_never_verify(
        header in json_value(),
        payload in json_value(),
        sig in prop::collection::vec(any::<u8>(), 0..140),
    ) {
        let token = format!("{}.{}.{}", b64(header.to_string()), b64(payload.to_string()), b64(&sig));
        let _ = parse(&token);
        prop_assert!(rs_verifier().verify(&token).is_err());
        prop_assert!(id_verifier().verify(&token, &IdTokenExpectations::default()).is_err());
    }

    #[test]
    fn arbitrary_header_over_a_valid_key_never_verifies_with_a_junk_signature(
        mut header in jose_object(),
        payload in jose_object(),
        sig in prop::collection::vec(any::<u8>(), 0..140),
    ) {
        // Point the header at a real key so parsing reaches signature checks.
        if let Value::Object(m) = &mut header {
            m.insert("alg".into(), json!("ES256"));
            m.insert("typ".into(), json!("at+jwt"));
            m.insert("kid".into(), json!(es256().kid()));
        }
        let token = format!("{}.{}.{}", b64(header.to_string()), b64(payload.to_string()), b64(&sig));
        prop_assert!(rs_verifier().verify(&token).is_err());
    }

    #[test]
    fn arbitrary_claims_signed_by_the_real_key_never_panic(payload in jose_object(), raw in json_value()) {
        // Validly signed, so every claim check runs on hostile values.
        let _ = rs_verifier().verify(&signed(payload.to_string().as_bytes()));
        let _ = rs_verifier().verify(&signed(raw.to_string().as_bytes()));
        let id = sign_compact(&es256(), &HeaderParams::typ("JWT"), payload.to_string().as_bytes()).unwrap();
        let _ = id_verifier().verify(&id, &IdTokenExpectations::default().nonce("n").access_token("a").max_age(1));
    }

    #[test]
    fn any_single_character_change_to_a_valid_token_fails(index in any::<prop::sample::Index>(), c in b64url_char()) {
        let good = signed(claims().to_string().as_bytes());
        let i = index.index(good.len());
        prop_assume!(good.as_bytes()[i] != b'.' && good.as_bytes()[i] != c as u8);
        let mut bytes = good.into_bytes();
        bytes[i] = c as u8;
        let token = String::from_utf8(bytes).unwrap();
        prop_assert!(rs_verifier().verify(&token).is_err());
    }

    #[test]
    fn jose_shaped_objects_never_panic_key_parsers(obj in jose_object()) {
        let text = obj.to_string();
        if let Ok(jwk) = Jwk::from_json(&text) {
            let _ = jwk.thumbprint();
            let _ = VerifyingKey::from_jwk(jwk, AlgorithmSet::ALL);
        }
        let _ = SigningKey::from_jwk_json(&text);
        let set = json!({ "keys": [obj.clone(), obj] }).to_string();
        if let Ok(set) = JwkSet::from_json(&set) {
            let _ = TrustedKeys::from_jwk_set(&set, AlgorithmSet::ALL);
        }
    }

    #[test]
    fn pem_armoured_garbage_never_panics(body in prop::collection::vec(any::<u8>(), 0..400), label in prop::sample::select(vec!["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "PUBLIC KEY"])) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&body);
        let pem = format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n");
        prop_assert!(SigningKey::from_pem(&pem, None, None).is_err());
    }
}

#[test]
fn truncated_real_keys_never_panic_key_parsers() {
    for alg in [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA] {
        let key = SigningKey::generate(alg).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let jwk = key.to_private_jwk_json();
        let public = serde_json::to_string(key.public_jwk()).unwrap();
        for text in [pem.expose(), jwk.expose(), public.as_str()] {
            for cut in (0..text.len()).step_by(7) {
                let t = &text[..cut];
                let _ = SigningKey::from_pem(t, None, None);
                let _ = SigningKey::from_jwk_json(t);
                if let Ok(j) = Jwk::from_json(t) {
                    let _ = VerifyingKey::from_jwk(j, AlgorithmSet::ALL);
                }
            }
        }
        // The untruncated forms still load, so the loop exercised real parsers.
        assert_eq!(
            SigningKey::from_pem(pem.expose(), Some(alg), None)
                .unwrap()
                .kid(),
            key.kid()
        );
        assert_eq!(
            SigningKey::from_jwk_json(jwk.expose()).unwrap().kid(),
            key.kid()
        );
    }
}
