//! Arbitrary input to every DPoP parser: typed errors, never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dpop_support;

use std::sync::LazyLock;

use attesto::dpop::{DpopContext, DpopVerifier, NonceIssuer, normalize_htu, single_proof_header};
use attesto::jose::{Algorithm, SigningKey};
use dpop_support::*;
use proptest::prelude::*;
use serde_json::{Value, json};

static KEY: LazyLock<SigningKey> = LazyLock::new(|| key(Algorithm::ES256));

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!(HTU)),
        Just(json!("POST")),
        Just(json!(NOW)),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_claims() -> impl Strategy<Value = Value> {
    let names = prop::sample::select(vec!["jti", "htm", "htu", "iat", "ath", "nonce", "x"]);
    prop::collection::btree_map(names, arb_json(), 0..7)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_strings_never_panic_the_proof_verifier(s in ".{0,600}") {
        let v = DpopVerifier::default();
        let ctx = DpopContext::new("POST", HTU, NOW).with_access_token("t");
        prop_assert!(v.verify_proof(&s, &ctx).is_err());
    }

    #[test]
    fn arbitrary_three_part_tokens_never_panic(a in "[A-Za-z0-9_-]{0,80}", b in "[A-Za-z0-9_-]{0,80}", c in "[A-Za-z0-9_-]{0,80}") {
        let v = DpopVerifier::default();
        let ctx = DpopContext::new("POST", HTU, NOW);
        let token = format!("{a}.{b}.{c}");
        prop_assert!(v.verify_proof(&token, &ctx).is_err());
    }

    #[test]
    fn arbitrary_signed_claims_never_panic(claims in arb_claims(), header_extra in arb_json()) {
        let mut header = dpop_header(&KEY);
        if let Value::Object(extra) = header_extra {
            for (k, v) in extra {
                header[k] = v;
            }
        }
        let p = sign_json(&KEY, &header, &claims);
        let ctx = DpopContext::new("POST", HTU, NOW);
        // Only a fully valid claim set passes; everything else is a typed error.
        if let Ok(v) = DpopVerifier::default().verify_proof(&p, &ctx) {
            prop_assert_eq!(v.htm, "POST");
        }
    }

    #[test]
    fn arbitrary_uris_never_panic_htu_normalization(s in ".{0,200}") {
        if let Ok(n) = normalize_htu(&s) {
            // normalization is idempotent
            prop_assert_eq!(normalize_htu(&n).unwrap(), n);
        }
    }

    #[test]
    fn arbitrary_http_uris_normalize_idempotently(host in "[a-zA-Z0-9.-]{1,20}", path in "[ -~]{0,40}") {
        let uri = format!("https://{host}/{path}");
        if let Ok(n) = normalize_htu(&uri) {
            prop_assert_eq!(normalize_htu(&n).unwrap(), n);
        }
    }

    #[test]
    fn arbitrary_nonces_never_panic_and_are_refused(s in ".{0,80}", now in any::<i64>()) {
        let i = NonceIssuer::new(&[1u8; 32], 60, 120).unwrap();
        let genuine = i.issue(now).unwrap();
        prop_assert!(s == genuine || !i.check(&s, now));
    }

    #[test]
    fn arbitrary_header_lists_never_panic(v in prop::collection::vec(".{0,20}", 0..4)) {
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        let r = single_proof_header(&refs);
        prop_assert_eq!(r.is_ok(), refs.len() <= 1);
    }
}
