//! OAuthError rendering: status, JSON body, headers, challenges, redirects.

// Test code: a panic on an unexpected value is the failure report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod error_support;

use attesto::error::{
    AuthScheme, AuthenticationRequired, Challenge, DEFAULT_BASIC_REALM, ErrorCode, ErrorUri,
    ExtensionErrorCode, InvalidErrorCode, OAuthError,
};
use attesto::scope::ScopeSet;
use error_support::{header_values, is_header_safe, parse_challenges, parse_one};
use serde_json::{Value, json};

fn body(err: &OAuthError) -> Value {
    serde_json::from_str(&err.json_body()).unwrap()
}

fn assert_no_store(err_headers: &[(&'static str, String)]) {
    assert_eq!(header_values(err_headers, "cache-control"), ["no-store"]);
    assert_eq!(header_values(err_headers, "pragma"), ["no-cache"]);
}

// seed-catalog-3b Must-test 42
#[test]
fn invalid_request_renders_400_json_with_no_store_and_no_challenge() {
    let err = OAuthError::new(ErrorCode::InvalidRequest).with_description("bad");
    assert_eq!(err.status(), 400);
    assert_eq!(
        err.json_body(),
        r#"{"error":"invalid_request","error_description":"bad"}"#
    );
    let h = err.headers();
    assert_no_store(&h);
    assert!(header_values(&h, "www-authenticate").is_empty());
    assert!(err.www_authenticate().is_none());
}

#[test]
fn absent_description_and_uri_are_omitted_from_the_body() {
    let err = OAuthError::new(ErrorCode::InvalidGrant);
    assert_eq!(err.json_body(), r#"{"error":"invalid_grant"}"#);
    let err =
        OAuthError::invalid_grant("").with_uri(ErrorUri::new("https://docs.example/e").unwrap());
    assert_eq!(
        body(&err),
        json!({"error": "invalid_grant", "error_uri": "https://docs.example/e"})
    );
}

// seed-catalog-3b Must-test 43, seed-catalog-1 §4 item 44
#[test]
fn invalid_client_after_basic_header_auth_is_401_with_basic_challenge() {
    let err = OAuthError::invalid_client("client authentication failed")
        .client_auth_via_header(DEFAULT_BASIC_REALM);
    assert_eq!(err.status(), 401);
    let h = err.headers();
    assert_eq!(
        header_values(&h, "www-authenticate"),
        [r#"Basic realm="OAuth""#]
    );
    assert_no_store(&h);
    assert_eq!(body(&err)["error"], "invalid_client");

    let acme = OAuthError::invalid_client("x").client_auth_via_header("Acme");
    let c = parse_one(&acme.www_authenticate().unwrap());
    assert_eq!(c.scheme, "Basic");
    assert_eq!(c.param("realm"), Some("Acme"));
    // Basic never carries OAuth error params.
    assert_eq!(c.param("error"), None);
}

// seed-catalog-3b Must-test 43, seed-catalog-1 §4 item 44
#[test]
fn invalid_client_with_body_or_no_credentials_is_400_without_challenge() {
    let err = OAuthError::invalid_client("client authentication failed");
    assert_eq!(err.status(), 400);
    assert!(header_values(&err.headers(), "www-authenticate").is_empty());
    assert_no_store(&err.headers());
}

#[test]
fn header_auth_flag_does_not_touch_other_codes() {
    let err = OAuthError::invalid_grant("bad code").client_auth_via_header("OAuth");
    assert_eq!(err.status(), 400);
    assert!(err.challenges().is_empty());
}

#[test]
fn header_auth_flag_applied_twice_keeps_one_basic_challenge() {
    let err = OAuthError::invalid_client("")
        .client_auth_via_header("A")
        .client_auth_via_header("B");
    let www = header_values(&err.headers(), "www-authenticate")
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    assert_eq!(www, [r#"Basic realm="B""#]);
}

// seed-catalog-3b Must-test 44
#[test]
fn bearer_invalid_token_challenge_carries_error_description_and_scope() {
    let scope = ScopeSet::parse("a b").unwrap();
    let err = OAuthError::unauthorized(
        ErrorCode::InvalidToken,
        Challenge::bearer().with_scope(&scope),
    )
    .with_description("expired");
    assert_eq!(err.status(), 401);
    let h = err.headers();
    let www = header_values(&h, "www-authenticate");
    assert_eq!(www.len(), 1);
    let c = parse_one(www[0]);
    assert_eq!(c.scheme, "Bearer");
    assert_eq!(c.param("error"), Some("invalid_token"));
    assert_eq!(c.param("error_description"), Some("expired"));
    assert_eq!(c.param("scope"), Some("a b"));
    assert_eq!(
        body(&err),
        json!({"error": "invalid_token", "error_description": "expired"})
    );
    assert_no_store(&h);
}

#[test]
fn invalid_token_constructor_defaults_to_401() {
    assert_eq!(OAuthError::invalid_token("x").status(), 401);
}

// seed-catalog-3b Must-test 45
#[test]
fn dpop_challenge_carries_algs_and_nonce_goes_in_its_own_header() {
    let err = OAuthError::unauthorized(
        ErrorCode::InvalidToken,
        Challenge::dpop().with_algs(["ES256", "PS256"]),
    )
    .with_dpop_nonce("n1");
    let h = err.headers();
    let c = parse_one(header_values(&h, "www-authenticate")[0]);
    assert_eq!(c.scheme, "DPoP");
    assert_eq!(c.param("algs"), Some("ES256 PS256"));
    assert_eq!(c.param("error"), Some("invalid_token"));
    assert_eq!(c.param("nonce"), None);
    assert_eq!(header_values(&h, "dpop-nonce"), ["n1"]);
}

// seed-catalog-3b Must-test 46
#[test]
fn use_dpop_nonce_at_a_resource_is_401_with_dpop_challenge_and_nonce_header() {
    let err = OAuthError::use_dpop_nonce_challenge("n1", Challenge::dpop().with_algs(["ES256"]));
    assert_eq!(err.status(), 401);
    let h = err.headers();
    let c = parse_one(header_values(&h, "www-authenticate")[0]);
    assert_eq!(c.scheme, "DPoP");
    assert_eq!(c.param("error"), Some("use_dpop_nonce"));
    assert_eq!(header_values(&h, "dpop-nonce"), ["n1"]);
    assert_no_store(&h);
}

// seed-catalog-3b Must-test 46 / contradiction C8: the token endpoint answers 400 + JSON.
#[test]
fn use_dpop_nonce_at_the_token_endpoint_is_400_json_with_nonce_header_and_no_challenge() {
    let err = OAuthError::use_dpop_nonce("n1");
    assert_eq!(err.status(), 400);
    assert_eq!(body(&err)["error"], "use_dpop_nonce");
    let h = err.headers();
    assert_eq!(header_values(&h, "dpop-nonce"), ["n1"]);
    assert!(header_values(&h, "www-authenticate").is_empty());
}

#[test]
fn a_nonce_that_is_not_nqchar_is_never_emitted() {
    for bad in ["", "a b", "n1\r\nSet-Cookie: x=y", "quote\"", "é"] {
        let err = OAuthError::use_dpop_nonce(bad);
        assert_eq!(err.dpop_nonce(), None, "{bad:?}");
        assert!(header_values(&err.headers(), "dpop-nonce").is_empty());
    }
}

// seed-catalog-3b Must-test 47
#[test]
fn insufficient_scope_is_403_with_required_scope_in_the_challenge() {
    let required = ScopeSet::from_tokens(["read", "write"]).unwrap();
    let err = OAuthError::insufficient_scope(&required, Challenge::bearer());
    assert_eq!(err.status(), 403);
    let c = parse_one(&err.www_authenticate().unwrap());
    assert_eq!(c.scheme, "Bearer");
    assert_eq!(c.param("error"), Some("insufficient_scope"));
    assert_eq!(c.param("scope"), Some("read write"));
    assert!(c.param("error_description").is_some());
    assert_no_store(&err.headers());
}

// seed-catalog-3b Must-test 48, seed-catalog-2 Must-test 186
#[test]
fn description_cannot_inject_a_challenge_parameter() {
    let raw = r#"x", scope="admin"#;
    let err = OAuthError::invalid_token(raw).with_challenge(Challenge::bearer().with_realm("api"));
    let c = parse_one(&err.www_authenticate().unwrap());
    assert_eq!(c.count("error_description"), 1);
    assert_eq!(c.count("scope"), 0);
    // RFC 6749 §5.2 / RFC 6750 §3 forbid `"` and `\` in error_description,
    // so the value is the sanitized text, which no longer closes the quote.
    assert_eq!(c.param("error_description"), Some("x', scope='admin"));
    assert_eq!(err.description(), Some("x', scope='admin"));
    assert_eq!(c.params.len(), 3, "{c:?}");
}

// seed-catalog-3b Must-test 48, seed-catalog-2 Must-test 186
#[test]
fn quoted_values_with_quotes_and_backslashes_round_trip() {
    let realm = r#"we\ird "realm", error="x"#;
    let meta = r#"https://rs.example/a"b\c"#;
    let header = Challenge::bearer()
        .with_realm(realm)
        .with_resource_metadata(meta)
        .header_value();
    let c = parse_one(&header);
    assert_eq!(c.param("realm"), Some(realm));
    assert_eq!(c.param("resource_metadata"), Some(meta));
    assert_eq!(c.count("error"), 0);
    assert_eq!(c.params.len(), 2);
}

#[test]
fn description_backslash_survives_as_a_visible_character() {
    let err = OAuthError::invalid_request(r"C:\path");
    assert_eq!(err.description(), Some("C:/path"));
    let err = err.with_challenge(Challenge::bearer());
    let c = parse_one(&err.www_authenticate().unwrap());
    assert_eq!(c.param("error_description"), Some("C:/path"));
}

#[test]
fn crlf_in_any_value_cannot_split_the_header() {
    let evil = "a\r\nSet-Cookie: s=1\r\n\r\n<html>";
    let err = OAuthError::invalid_token(evil)
        .with_challenge(
            Challenge::bearer()
                .with_realm(evil)
                .with_resource_metadata(evil),
        )
        .with_challenge(Challenge::dpop().with_algs([evil, "ES256"]))
        .with_dpop_nonce(evil);
    for (name, value) in err.headers() {
        assert!(is_header_safe(&value), "{name}: {value:?}");
    }
    let parsed = parse_challenges(&err.www_authenticate().unwrap()).unwrap();
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].param("realm"), Some("aSet-Cookie: s=1<html>"));
    assert_eq!(parsed[1].param("algs"), Some("ES256"));
    assert!(!err.json_body().contains('\r'));
}

// seed-catalog-3b Must-test 49
#[test]
fn status_override_is_applied_and_nonce_header_is_emitted() {
    let err = OAuthError::new(ErrorCode::InvalidRequest).with_status(418);
    assert_eq!(err.status(), 418);
    let err = OAuthError::new(ErrorCode::UseDpopNonce).with_dpop_nonce("abc");
    assert_eq!(header_values(&err.headers(), "dpop-nonce"), ["abc"]);
}

#[test]
fn status_override_outside_4xx_5xx_is_ignored() {
    for s in [0, 200, 302, 399, 600, u16::MAX] {
        assert_eq!(
            OAuthError::invalid_request("").with_status(s).status(),
            400,
            "{s}"
        );
    }
    assert_eq!(
        OAuthError::invalid_request("").with_status(599).status(),
        599
    );
}

// seed-catalog-3b Must-test 51, seed-catalog-1 §4 item 55
#[test]
fn resource_metadata_appears_only_when_configured() {
    let url = "https://rs.example/.well-known/oauth-protected-resource";
    let with = OAuthError::invalid_token("expired")
        .with_challenge(Challenge::bearer().with_resource_metadata(url));
    let c = parse_one(&with.www_authenticate().unwrap());
    assert_eq!(c.param("resource_metadata"), Some(url));

    let without = OAuthError::invalid_token("expired").with_challenge(Challenge::bearer());
    let c = parse_one(&without.www_authenticate().unwrap());
    assert_eq!(c.param("resource_metadata"), None);
}

// seed-catalog-2 Must-test 185
#[test]
fn insufficient_scope_has_no_resource_metadata_unless_given() {
    let required = ScopeSet::parse("read:reports").unwrap();
    let err = OAuthError::insufficient_scope(&required, Challenge::bearer());
    assert_eq!(
        parse_one(&err.www_authenticate().unwrap()).param("resource_metadata"),
        None
    );
    let err = OAuthError::insufficient_scope(
        &required,
        Challenge::bearer()
            .with_resource_metadata("https://api.example/.well-known/oauth-protected-resource"),
    );
    assert!(
        parse_one(&err.www_authenticate().unwrap())
            .param("resource_metadata")
            .is_some()
    );
}

// seed-catalog-2 Must-test 182
#[test]
fn missing_credentials_get_a_bare_challenge_without_error_information() {
    let r = AuthenticationRequired::new([Challenge::bearer()
        .with_resource_metadata("https://rs.example/.well-known/oauth-protected-resource")]);
    assert_eq!(r.status(), 401);
    let h = r.headers();
    assert_no_store(&h);
    let c = parse_one(header_values(&h, "www-authenticate")[0]);
    assert_eq!(c.scheme, "Bearer");
    assert_eq!(c.count("error"), 0);
    assert_eq!(c.count("error_description"), 0);
    assert!(c.param("resource_metadata").is_some());
}

#[test]
fn several_challenges_render_one_header_each_or_one_combined_value() {
    let err = OAuthError::invalid_token("DPoP-bound token presented as Bearer")
        .with_challenge(Challenge::bearer().with_realm("api"))
        .with_challenge(Challenge::dpop().with_algs(["ES256"]).without_error());
    let h = err.headers();
    let www = header_values(&h, "www-authenticate");
    assert_eq!(www.len(), 2);
    let combined = parse_challenges(&err.www_authenticate().unwrap()).unwrap();
    assert_eq!(combined.len(), 2);
    assert_eq!(combined[0], parse_one(www[0]));
    assert_eq!(combined[1], parse_one(www[1]));
    assert_eq!(combined[0].param("error"), Some("invalid_token"));
    assert_eq!(combined[1].scheme, "DPoP");
    assert_eq!(combined[1].param("error"), None);
    assert_eq!(combined[1].param("algs"), Some("ES256"));
}

#[test]
fn error_uri_is_carried_in_body_challenge_and_redirect() {
    let uri = ErrorUri::new("https://docs.example/errors/invalid_token").unwrap();
    let err = OAuthError::invalid_token("x")
        .with_uri(uri)
        .with_challenge(Challenge::bearer());
    assert_eq!(
        body(&err)["error_uri"],
        "https://docs.example/errors/invalid_token"
    );
    let c = parse_one(&err.www_authenticate().unwrap());
    assert_eq!(
        c.param("error_uri"),
        Some("https://docs.example/errors/invalid_token")
    );
    assert!(err.redirect_params(None, None).contains(&(
        "error_uri",
        "https://docs.example/errors/invalid_token".to_owned()
    )));
}

#[test]
fn error_uri_must_be_absolute_and_in_the_rfc_charset() {
    for bad in [
        "",
        "relative/path",
        "https://x.example/ space",
        "https://x.example/\"q",
        "https://x.example/\\",
        "https://x.example/é",
    ] {
        assert!(ErrorUri::new(bad).is_err(), "{bad:?}");
    }
    assert!(ErrorUri::new(&format!("https://x.example/{}", "a".repeat(3000))).is_err());
}

#[test]
fn challenge_params_are_ignored_where_the_scheme_has_none() {
    let basic = Challenge::basic("r")
        .with_scope(&ScopeSet::parse("a").unwrap())
        .with_algs(["ES256"])
        .with_resource_metadata("https://x.example");
    assert_eq!(basic.header_value(), r#"Basic realm="r""#);
    assert_eq!(basic.scheme(), AuthScheme::Basic);
    let bearer = Challenge::bearer().with_algs(["ES256"]);
    assert_eq!(bearer.header_value(), "Bearer");
}

#[test]
fn dpop_algs_drop_invalid_and_repeated_names() {
    let c = Challenge::dpop().with_algs(["ES256", "", "PS 256", "ES256", "EdDSA"]);
    assert_eq!(c.algs(), ["ES256", "EdDSA"]);
}

// seed-catalog-1 §4 item 101: iss on error redirects (RFC 9207).
#[test]
fn authorization_error_redirect_carries_state_and_iss() {
    let err = OAuthError::access_denied("the user said no");
    let p = err.redirect_params(Some("st&ate"), Some("https://as.example"));
    assert_eq!(
        p,
        vec![
            ("error", "access_denied".to_owned()),
            ("error_description", "the user said no".to_owned()),
            ("state", "st&ate".to_owned()),
            ("iss", "https://as.example".to_owned()),
        ]
    );
    let base = url::Url::parse("https://client.example/cb#frag").unwrap();
    let url = err.redirect_url(&base, Some("st&ate"), Some("https://as.example"));
    assert_eq!(url.fragment(), None);
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        vec![
            ("error".to_owned(), "access_denied".to_owned()),
            (
                "error_description".to_owned(),
                "the user said no".to_owned()
            ),
            ("state".to_owned(), "st&ate".to_owned()),
            ("iss".to_owned(), "https://as.example".to_owned()),
        ]
    );
}

#[test]
fn redirect_without_state_omits_it() {
    let p = OAuthError::login_required("").redirect_params(None, None);
    assert_eq!(p, vec![("error", "login_required".to_owned())]);
}

// seed-catalog-1 §4 item 67: error codes are a closed set; nothing can 500.
#[test]
fn every_registered_code_round_trips_and_has_an_error_status() {
    let mut n = 0;
    for code in ErrorCode::registered() {
        n += 1;
        let name = code.as_str().to_owned();
        assert_eq!(ErrorCode::parse(&name).unwrap(), code);
        assert_eq!(code.to_string(), name);
        assert!((400..=599).contains(&code.default_status()), "{name}");
        assert!(
            name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{name}"
        );
        let err = OAuthError::new(code.clone());
        assert_eq!(body(&err)["error"], name.as_str());
        assert_eq!(serde_json::to_value(&code).unwrap(), json!(name));
        assert_eq!(
            serde_json::from_value::<ErrorCode>(json!(name)).unwrap(),
            code
        );
    }
    assert_eq!(n, 32);
}

#[test]
fn default_statuses_follow_the_rfcs() {
    assert_eq!(OAuthError::server_error("").status(), 500);
    assert_eq!(OAuthError::temporarily_unavailable("").status(), 503);
    assert_eq!(OAuthError::invalid_token("").status(), 401);
    assert_eq!(OAuthError::new(ErrorCode::InsufficientScope).status(), 403);
    assert_eq!(OAuthError::invalid_client("").status(), 400);
    assert_eq!(OAuthError::invalid_dpop_proof("").status(), 400);
    assert_eq!(OAuthError::invalid_target("").status(), 400);
    assert_eq!(OAuthError::unsupported_token_type("").status(), 400);
}

// seed-catalog-1 §4 item 15: device polling errors keep their own codes.
#[test]
fn device_polling_errors_keep_their_own_codes() {
    assert_eq!(
        body(&OAuthError::authorization_pending(""))["error"],
        "authorization_pending"
    );
    assert_eq!(body(&OAuthError::slow_down(""))["error"], "slow_down");
    assert_eq!(
        body(&OAuthError::expired_token(""))["error"],
        "expired_token"
    );
    assert_eq!(
        body(&OAuthError::access_denied(""))["error"],
        "access_denied"
    );
    for e in [
        OAuthError::authorization_pending(""),
        OAuthError::slow_down(""),
        OAuthError::expired_token(""),
    ] {
        assert_ne!(e.code(), &ErrorCode::InvalidGrant);
        assert_eq!(e.status(), 400);
    }
}

#[test]
fn extension_codes_are_validated() {
    let ext = ErrorCode::parse("vendor_thing").unwrap();
    assert_eq!(
        ext,
        ErrorCode::Other(ExtensionErrorCode::new("vendor_thing").unwrap())
    );
    assert_eq!(ext.default_status(), 400);
    assert_eq!(ErrorCode::parse(""), Err(InvalidErrorCode::Empty));
    assert_eq!(
        ErrorCode::parse("a b"),
        Err(InvalidErrorCode::InvalidCharacter)
    );
    assert_eq!(
        ErrorCode::parse("a\"b"),
        Err(InvalidErrorCode::InvalidCharacter)
    );
    assert_eq!(
        ErrorCode::parse("a\\b"),
        Err(InvalidErrorCode::InvalidCharacter)
    );
    assert_eq!(
        ErrorCode::parse("x\r\n"),
        Err(InvalidErrorCode::InvalidCharacter)
    );
    assert_eq!(
        ErrorCode::parse(&"x".repeat(65)),
        Err(InvalidErrorCode::TooLong)
    );
    assert_eq!(
        ExtensionErrorCode::new("invalid_grant"),
        Err(InvalidErrorCode::Registered)
    );
    assert!(serde_json::from_value::<ErrorCode>(json!("bad code")).is_err());
}

#[test]
fn display_shows_code_and_sanitized_description() {
    assert_eq!(
        OAuthError::invalid_scope("nope").to_string(),
        "invalid_scope: nope"
    );
    assert_eq!(
        OAuthError::new(ErrorCode::InvalidScope).to_string(),
        "invalid_scope"
    );
    assert_eq!(
        OAuthError::invalid_scope("a\nb").to_string(),
        "invalid_scope: a b"
    );
}

#[test]
fn serialize_matches_json_body() {
    let err = OAuthError::invalid_request("bad");
    assert_eq!(serde_json::to_string(&err).unwrap(), err.json_body());
}
