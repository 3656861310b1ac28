//! Arbitrary input to every client-authentication parser: typed errors, never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dpop_support;

use std::sync::LazyLock;

use attesto::client_auth::{
    AssertionVerifier, CLIENT_ASSERTION_TYPE_JWT_BEARER, HashedSecret, SecretHasher,
    parse_basic_authorization, parse_credentials,
};
use attesto::jose::{Algorithm, AlgorithmSet, JwkSet, SigningKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dpop_support::*;
use proptest::prelude::*;
use serde_json::{Value, json};

static KEY: LazyLock<SigningKey> = LazyLock::new(|| key(Algorithm::ES256));
static JWKS: LazyLock<JwkSet> =
    LazyLock::new(|| JwkSet::from_value(&json!({"keys": [public_jwk_value(&KEY)]})).unwrap());

fn arb_claim_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        (NOW - 400..NOW + 400).prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
        Just(json!("svc")),
        Just(json!("https://as.example")),
        prop::collection::vec(".{0,10}".prop_map(Value::String), 0..3).prop_map(Value::Array),
    ]
}

fn arb_claims() -> impl Strategy<Value = Value> {
    let names = prop::sample::select(vec!["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "x"]);
    prop::collection::btree_map(names, arb_claim_value(), 0..8)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_authorization_headers_never_panic(s in ".{0,300}") {
        let _ = parse_basic_authorization(&s);
        let _ = parse_credentials(&[&s], &[]);
    }

    #[test]
    fn arbitrary_basic_payloads_never_panic(raw in prop::collection::vec(any::<u8>(), 0..200)) {
        let h = format!("Basic {}", STANDARD.encode(&raw));
        if let Ok((id, secret)) = parse_basic_authorization(&h) {
            prop_assert!(!id.is_empty() && !secret.expose().is_empty());
            prop_assert!(id.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        }
    }

    #[test]
    fn basic_round_trips_form_urlencoded_credentials(id in "[ -~]{1,40}", secret in "[ -~]{1,40}") {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let h = format!("Basic {}", STANDARD.encode(format!("{}:{}", enc(&id), enc(&secret))));
        let (got_id, got_secret) = parse_basic_authorization(&h).unwrap();
        prop_assert_eq!(got_id, id);
        prop_assert!(got_secret.ct_eq_str(&secret));
    }

    #[test]
    fn arbitrary_forms_never_panic(
        pairs in prop::collection::vec(
            (prop::sample::select(vec!["client_id", "client_secret", "client_assertion", "client_assertion_type", "scope"]), ".{0,40}"),
            0..6,
        ),
        header in prop::option::of(".{0,40}"),
    ) {
        let form: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let headers: Vec<&str> = header.iter().map(String::as_str).collect();
        match parse_credentials(&headers, &form) {
            Ok(c) => prop_assert!(!c.client_id().is_empty()),
            Err(e) => prop_assert!(matches!(e.error_code(), "invalid_request" | "invalid_client")),
        }
    }

    #[test]
    fn arbitrary_assertion_strings_never_panic(s in ".{0,400}") {
        let v = AssertionVerifier::builder("https://as.example").build().unwrap();
        prop_assert!(v.verify(&s, "svc", &JWKS, NOW).is_err());
        let form = [("client_assertion", s.as_str()), ("client_assertion_type", CLIENT_ASSERTION_TYPE_JWT_BEARER)];
        let _ = parse_credentials(&[], &form);
    }

    #[test]
    fn arbitrary_signed_assertion_claims_never_panic(claims in arb_claims()) {
        let v = AssertionVerifier::builder("https://as.example")
            .algorithms(AlgorithmSet::ALL)
            .build()
            .unwrap();
        let token = sign_json(&KEY, &json!({"alg": "ES256", "kid": KEY.kid()}), &claims);
        if let Ok(ok) = v.verify(&token, "svc", &JWKS, NOW) {
            prop_assert_eq!(ok.client_id, "svc");
        }
        let form = [("client_assertion", token.as_str()), ("client_assertion_type", CLIENT_ASSERTION_TYPE_JWT_BEARER)];
        let _ = parse_credentials(&[], &form);
    }

    #[test]
    fn arbitrary_stored_hashes_never_panic(s in ".{0,80}", presented in ".{0,40}") {
        let h = SecretHasher::new(&[1u8; 32]).unwrap();
        if let Ok(stored) = HashedSecret::from_stored(s) {
            let _ = h.verify(&presented, &stored);
        }
        prop_assert!(!h.verify_dummy(&presented));
    }
}
