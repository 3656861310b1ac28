//! Parsing client credentials from request facts (RFC 6749 §2.3, RFC 7617, RFC 7521 §4.2).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dpop_support;

use attesto::client_auth::{
    CLIENT_ASSERTION_TYPE_JWT_BEARER, ClientAuthMethod, ClientAuthReason, PresentedCredentials,
    parse_basic_authorization, parse_credentials,
};
use attesto::jose::Algorithm;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dpop_support::*;
use serde_json::json;

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn assertion_for(sub: &str) -> String {
    let k = key(Algorithm::ES256);
    let claims =
        json!({"iss": sub, "sub": sub, "aud": "https://as.example", "exp": NOW + 60, "jti": jti()});
    sign_json(&k, &json!({"alg": "ES256", "kid": k.kid()}), &claims)
}

const JWT_BEARER: &str = CLIENT_ASSERTION_TYPE_JWT_BEARER;

// seed-catalog-2 Must-test 1: Basic and a body client_secret → invalid_request.
#[test]
fn basic_and_body_secret_is_rejected_as_multiple_methods() {
    let h = basic("app", "pw");
    let e = parse_credentials(&[&h], &[("client_secret", "pw")]).unwrap_err();
    assert_eq!(e.error_code(), "invalid_request");
    assert!(matches!(e.reason(), ClientAuthReason::MultipleMethods));
    assert!(!e.basic_challenge_due());
    assert_eq!(e.status_code(), 400);
}

// seed-catalog-2 Must-test 2: Basic and a client assertion → invalid_request.
#[test]
fn basic_and_client_assertion_is_rejected_as_multiple_methods() {
    let h = basic("app", "pw");
    let a = assertion_for("app");
    let e = parse_credentials(
        &[&h],
        &[
            ("client_assertion", &a),
            ("client_assertion_type", JWT_BEARER),
        ],
    )
    .unwrap_err();
    assert_eq!(e.error_code(), "invalid_request");
    assert!(matches!(e.reason(), ClientAuthReason::MultipleMethods));
    // an assertion type alone also counts as an attempt
    let e = parse_credentials(&[&h], &[("client_assertion_type", JWT_BEARER)]).unwrap_err();
    assert!(matches!(e.reason(), ClientAuthReason::MultipleMethods));
}

// seed-catalog-2 Must-test 3: body client_secret and client_assertion → invalid_request.
#[test]
fn body_secret_and_client_assertion_is_rejected_as_multiple_methods() {
    let a = assertion_for("app");
    let e = parse_credentials(
        &[],
        &[
            ("client_id", "app"),
            ("client_secret", "pw"),
            ("client_assertion", &a),
            ("client_assertion_type", JWT_BEARER),
        ],
    )
    .unwrap_err();
    assert_eq!(e.error_code(), "invalid_request");
    assert!(matches!(e.reason(), ClientAuthReason::MultipleMethods));
}

// seed-catalog-1 Must-test 113: Basic + body client_id equal → OK; different → invalid_request.
#[test]
fn basic_with_matching_body_client_id_is_accepted_and_a_different_one_rejected() {
    let h = basic("app", "pw");
    let c = parse_credentials(&[&h], &[("client_id", "app")]).unwrap();
    assert_eq!(c.method(), ClientAuthMethod::ClientSecretBasic);
    assert_eq!(c.client_id(), "app");
    let e = parse_credentials(&[&h], &[("client_id", "other")]).unwrap_err();
    assert_eq!(e.error_code(), "invalid_request");
    assert!(matches!(e.reason(), ClientAuthReason::ClientIdMismatch));
}

// seed-catalog-2 Must-test 20, seed-catalog-1 Must-test 124: Basic credentials
// are form-urldecoded (RFC 6749 §2.3.1): `a%2Bb` → `a+b`, `%3A` → `:`.
#[test]
fn basic_with_urlencoded_colon_in_secret_is_decoded() {
    let h = basic("my%3Aapp", "p%3Ass%2Bw+rd%25");
    let (id, secret) = parse_basic_authorization(&h).unwrap();
    assert_eq!(id, "my:app");
    assert!(secret.ct_eq_str("p:ss+w rd%"));
    let h = basic("app", "a%2Bb");
    match parse_credentials(&[&h], &[]).unwrap() {
        PresentedCredentials::ClientSecretBasic { client_id, secret } => {
            assert_eq!(client_id, "app");
            assert!(secret.ct_eq_str("a+b"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn basic_raw_colon_in_secret_splits_at_the_first_colon() {
    let (id, secret) = parse_basic_authorization(&basic("app", "a:b:c")).unwrap();
    assert_eq!(id, "app");
    assert!(secret.ct_eq_str("a:b:c"));
}

#[test]
fn malformed_basic_header_is_invalid_client_with_a_challenge() {
    for h in [
        "Basic",
        "Basic ",
        "Basic !!!",
        "Basic YXBw",      // "app" without colon
        "Basic YXBwOnB3=", // bad padding
        &basic("app", "%zz"),
        &basic("", "pw"),
        &format!("Basic {}", STANDARD.encode([0x61, 0x3a, 0xff])), // not UTF-8
    ] {
        let e = parse_credentials(&[h], &[]).unwrap_err();
        assert_eq!(e.error_code(), "invalid_client", "{h}");
        assert_eq!(e.error_description(), "client authentication failed");
        assert_eq!(e.authorization_scheme(), Some("Basic"), "{h}");
        assert!(e.basic_challenge_due());
        assert_eq!(e.status_code(), 401);
    }
}

// seed-catalog-2 Must-test 18: ErrorContext.authorization_scheme.
#[test]
fn authorization_scheme_is_reported_as_the_seed_specifies() {
    // no header → none
    let e = parse_credentials(&[], &[]).unwrap_err();
    assert_eq!(e.authorization_scheme(), None);
    assert!(!e.basic_challenge_due());
    assert_eq!(e.status_code(), 400);
    // Basic garbage → Basic
    let e = parse_credentials(&["Basic garbage!"], &[]).unwrap_err();
    assert_eq!(e.authorization_scheme(), Some("Basic"));
    // unusable scheme token (empty or malformed) → Basic
    for h in ["", "   ", "{bad} abc", "\u{1}x y"] {
        let e = parse_credentials(&[h], &[]).unwrap_err();
        assert_eq!(e.authorization_scheme(), Some("Basic"), "{h:?}");
        assert!(e.basic_challenge_due());
    }
    // a well-formed other scheme → that scheme
    let e = parse_credentials(&["Bearer xyz"], &[]).unwrap_err();
    assert_eq!(e.authorization_scheme(), Some("Bearer"));
    assert!(matches!(e.reason(), ClientAuthReason::UnsupportedScheme));
    assert_eq!(e.error_code(), "invalid_client");
    assert!(e.basic_challenge_due());
}

#[test]
fn multiple_authorization_headers_are_rejected() {
    let h = basic("app", "pw");
    let e = parse_credentials(&[&h, &h], &[]).unwrap_err();
    assert_eq!(e.error_code(), "invalid_request");
    assert!(matches!(
        e.reason(),
        ClientAuthReason::MultipleAuthorizationHeaders
    ));
}

#[test]
fn repeated_credential_parameters_are_rejected() {
    for name in [
        "client_id",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
    ] {
        let e = parse_credentials(&[], &[(name, "a"), ("scope", "x"), (name, "b")]).unwrap_err();
        assert_eq!(e.error_code(), "invalid_request", "{name}");
        assert!(matches!(e.reason(), ClientAuthReason::DuplicateParameter(n) if *n == name));
    }
    // other parameters are not our business
    parse_credentials(&[], &[("client_id", "a"), ("scope", "x"), ("scope", "y")]).unwrap();
}

#[test]
fn client_secret_post_is_parsed() {
    let c = parse_credentials(
        &[],
        &[
            ("grant_type", "x"),
            ("client_id", "app"),
            ("client_secret", "pw"),
        ],
    )
    .unwrap();
    assert_eq!(c.method(), ClientAuthMethod::ClientSecretPost);
    assert_eq!(c.client_id(), "app");
    assert_eq!(c.authorization_scheme(), None);
    // a secret never shows in Debug
    assert!(!format!("{c:?}").contains("pw"));
}

#[test]
fn client_secret_without_client_id_is_invalid_request() {
    let e = parse_credentials(&[], &[("client_secret", "pw")]).unwrap_err();
    assert_eq!(e.error_code(), "invalid_request");
    assert!(matches!(e.reason(), ClientAuthReason::MissingClientId));
}

// seed-catalog-2 Must-test 7 (parsing half): client_id only → method none.
#[test]
fn client_id_only_is_a_public_client_presentation() {
    let c = parse_credentials(&[], &[("client_id", "spa")]).unwrap();
    assert_eq!(c.method(), ClientAuthMethod::None);
    assert!(matches!(c, PresentedCredentials::ClientIdOnly { .. }));
}

// seed-catalog-2 Must-test 19 (parsing half): no credentials → invalid_client, 400.
#[test]
fn no_credentials_is_invalid_client_without_challenge() {
    let e = parse_credentials(&[], &[("token", "abc")]).unwrap_err();
    assert_eq!(e.error_code(), "invalid_client");
    assert!(matches!(e.reason(), ClientAuthReason::NoCredentials));
    assert_eq!(e.status_code(), 400);
    assert!(!e.basic_challenge_due());
}

// seed-catalog-2 Must-test 9 (parsing half): private_key_jwt → the client id is the assertion sub.
#[test]
fn client_assertion_is_parsed_with_its_subject_as_client_id() {
    let a = assertion_for("svc-1");
    let c = parse_credentials(
        &[],
        &[
            ("client_assertion", &a),
            ("client_assertion_type", JWT_BEARER),
        ],
    )
    .unwrap();
    assert_eq!(c.method(), ClientAuthMethod::PrivateKeyJwt);
    assert_eq!(c.client_id(), "svc-1");
    assert!(!format!("{c:?}").contains(&a));
    // with a matching body client_id
    parse_credentials(
        &[],
        &[
            ("client_id", "svc-1"),
            ("client_assertion", &a),
            ("client_assertion_type", JWT_BEARER),
        ],
    )
    .unwrap();
    // RFC 7521 §4.2: a client_id that identifies another client is refused
    let e = parse_credentials(
        &[],
        &[
            ("client_id", "svc-2"),
            ("client_assertion", &a),
            ("client_assertion_type", JWT_BEARER),
        ],
    )
    .unwrap_err();
    assert_eq!(e.error_code(), "invalid_request");
}

#[test]
fn client_assertion_needs_the_jwt_bearer_type() {
    let a = assertion_for("svc-1");
    let e = parse_credentials(&[], &[("client_assertion", &a)]).unwrap_err();
    assert_eq!(e.error_code(), "invalid_request");
    let e = parse_credentials(&[], &[("client_assertion_type", JWT_BEARER)]).unwrap_err();
    assert_eq!(e.error_code(), "invalid_request");
    let e = parse_credentials(
        &[],
        &[
            ("client_assertion", &a),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            ),
        ],
    )
    .unwrap_err();
    assert_eq!(e.error_code(), "invalid_client");
    assert!(matches!(
        e.reason(),
        ClientAuthReason::UnsupportedAssertionType
    ));
}

#[test]
fn unparseable_or_inconsistent_assertion_is_invalid_client() {
    let k = key(Algorithm::ES256);
    let iss_ne_sub = sign_json(
        &k,
        &json!({"alg": "ES256"}),
        &json!({"iss": "a", "sub": "b", "aud": "x", "exp": NOW + 60, "jti": "j"}),
    );
    let no_sub = sign_json(
        &k,
        &json!({"alg": "ES256"}),
        &json!({"iss": "a", "exp": NOW + 60}),
    );
    for a in [
        "",
        "abc",
        "a.b.c",
        "a.b",
        &iss_ne_sub,
        &no_sub,
        &"x".repeat(20_000),
    ] {
        let e = parse_credentials(
            &[],
            &[
                ("client_assertion", a),
                ("client_assertion_type", JWT_BEARER),
            ],
        )
        .unwrap_err();
        assert_eq!(e.error_code(), "invalid_client", "{a:.30}");
        assert!(!e.basic_challenge_due());
    }
}

#[test]
fn malformed_client_ids_are_refused() {
    for id in ["", "a\nb", "tab\there", &"x".repeat(1025)] {
        let e = parse_credentials(&[], &[("client_id", id)]).unwrap_err();
        assert_eq!(e.error_code(), "invalid_client", "{id:?}");
    }
}
