//! Hostile input to the client-metadata parser: never a panic, always a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use attesto::server::{ServerConfig, parse_client_metadata};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn cfg() -> ServerConfig {
    ServerConfig::builder("https://id.example")
        .scopes(["openid", "read", "docs.*"])
        .registration(true)
        .build()
        .unwrap()
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("https://a.example/cb"),
            Just("http://127.0.0.1/cb"),
            Just("authorization_code"),
            Just("client_credentials"),
            Just("refresh_token"),
            Just("code"),
            Just("none"),
            Just("private_key_jwt"),
            Just("openid read"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const MEMBERS: [&str; 10] = [
    "redirect_uris",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "scope",
    "client_name",
    "jwks",
    "jwks_uri",
    "dpop_bound_access_tokens",
    "software_statement",
];

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let cfg = cfg();
        if let Err(e) = parse_client_metadata(&bytes, &cfg) {
            let e = attesto::error::OAuthError::from(e);
            prop_assert!(matches!(e.code().as_str(), "invalid_client_metadata" | "invalid_redirect_uri"));
            prop_assert_eq!(e.status(), 400);
        }
    }

    #[test]
    fn arbitrary_metadata_documents_are_validated_or_refused(
        members in prop::collection::vec((prop::sample::select(&MEMBERS[..]), arb_value()), 0..8)
    ) {
        let cfg = cfg();
        let doc: Map<String, Value> = members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let body = serde_json::to_vec(&Value::Object(doc)).unwrap();
        match parse_client_metadata(&body, &cfg) {
            Ok(md) => {
                // whatever was accepted obeys the invariants
                prop_assert!(!md.grant_types.is_empty());
                prop_assert!(md.grant_types.iter().all(|g| cfg.has_grant(*g)));
                let code = md.has_grant(attesto::server::GrantType::AuthorizationCode);
                prop_assert_eq!(code, md.response_types == ["code"]);
                prop_assert!(!code || !md.redirect_uris.is_empty());
                for uri in &md.redirect_uris {
                    prop_assert!(uri.starts_with("https://") || uri.starts_with("http://"));
                    prop_assert!(!uri.contains('#'));
                }
            }
            Err(e) => {
                prop_assert!(matches!(e.error_code(), "invalid_client_metadata" | "invalid_redirect_uri"));
                prop_assert!(!e.description().is_empty());
            }
        }
    }
}
