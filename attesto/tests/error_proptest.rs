//! Properties of error rendering over arbitrary input.

// Test code: a panic on an unexpected value is the failure report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod error_support;

use attesto::error::{
    Challenge, ErrorCode, ErrorDescription, ErrorUri, MAX_DESCRIPTION_LEN, OAuthError, header_safe,
};
use error_support::{is_header_safe, parse_challenges, parse_one};
use proptest::prelude::*;

fn nqschar(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{21}' | '\u{23}'..='\u{5B}' | '\u{5D}'..='\u{7E}')
}

/// Strings biased towards the characters that break headers.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(
            prop_oneof![
                Just('"'),
                Just('\\'),
                Just('\r'),
                Just('\n'),
                Just('\t'),
                Just(','),
                Just('='),
                Just(' '),
                Just('\u{0}'),
                Just('\u{7f}'),
                Just('é'),
                Just('\u{2028}'),
                proptest::char::range('a', 'z'),
            ],
            0..64
        )
        .prop_map(|v| v.into_iter().collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sanitized_description_is_always_in_the_rfc_6749_charset(s in nasty()) {
        if let Some(d) = ErrorDescription::new(&s) {
            prop_assert!(!d.as_str().is_empty());
            prop_assert!(d.as_str().len() <= MAX_DESCRIPTION_LEN);
            prop_assert!(d.as_str().chars().all(nqschar), "{:?}", d.as_str());
            prop_assert!(!d.as_str().starts_with(' ') && !d.as_str().ends_with(' '));
        }
    }

    #[test]
    fn sanitizing_is_idempotent_and_keeps_clean_text(s in nasty()) {
        if let Some(d) = ErrorDescription::new(&s) {
            let again = ErrorDescription::new(d.as_str());
            prop_assert_eq!(again.as_ref(), Some(&d));
        }
    }

    #[test]
    fn clean_description_is_kept_verbatim(s in "[!#-\\[\\]-~][ !#-\\[\\]-~]{0,100}[!#-\\[\\]-~]") {
        prop_assert_eq!(ErrorDescription::new(&s).map(|d| d.as_str().to_owned()), Some(s));
    }

    #[test]
    fn rendered_headers_never_contain_control_characters(
        desc in nasty(), realm in nasty(), meta in nasty(), nonce in nasty(), alg in nasty()
    ) {
        let err = OAuthError::invalid_token(&desc)
            .with_challenge(Challenge::bearer().with_realm(&realm).with_resource_metadata(&meta))
            .with_challenge(Challenge::dpop().with_algs([alg.as_str(), "ES256"]))
            .with_dpop_nonce(&nonce);
        for (_, v) in err.headers() {
            prop_assert!(is_header_safe(&v), "{:?}", v);
        }
        let combined = err.www_authenticate().unwrap();
        prop_assert!(is_header_safe(&combined));
        let parsed = parse_challenges(&combined).unwrap();
        prop_assert_eq!(parsed.len(), 2);
    }

    #[test]
    fn quoted_values_parse_back_to_the_header_safe_input(realm in nasty(), meta in nasty()) {
        let header = Challenge::bearer().with_realm(&realm).with_resource_metadata(&meta).header_value();
        let c = parse_one(&header);
        prop_assert_eq!(c.params.len(), 2);
        let (realm, meta) = (header_safe(&realm), header_safe(&meta));
        prop_assert_eq!(c.param("realm"), Some(realm.as_str()));
        prop_assert_eq!(c.param("resource_metadata"), Some(meta.as_str()));
    }

    #[test]
    fn challenge_description_parses_back_to_the_sanitized_description(desc in nasty()) {
        let err = OAuthError::invalid_token(&desc).with_challenge(Challenge::bearer());
        let c = parse_one(&err.www_authenticate().unwrap());
        let expected = ErrorDescription::new(&desc);
        prop_assert_eq!(c.param("error"), Some("invalid_token"));
        prop_assert_eq!(c.param("error_description"), expected.as_ref().map(ErrorDescription::as_str));
        prop_assert_eq!(c.params.len(), if expected.is_some() { 2 } else { 1 });
    }

    #[test]
    fn json_body_round_trips_the_sanitized_description(desc in nasty()) {
        let err = OAuthError::invalid_request(&desc);
        let v: serde_json::Value = serde_json::from_str(&err.json_body()).unwrap();
        prop_assert_eq!(&v["error"], "invalid_request");
        match ErrorDescription::new(&desc) {
            Some(d) => prop_assert_eq!(v["error_description"].as_str(), Some(d.as_str())),
            None => prop_assert!(v.get("error_description").is_none()),
        }
    }

    #[test]
    fn error_code_parsing_never_panics_and_round_trips(s in nasty()) {
        if let Ok(code) = ErrorCode::parse(&s) {
            prop_assert_eq!(code.as_str(), s.as_str());
            prop_assert!(s.chars().all(|c| c != ' ' && nqschar(c)));
        }
    }

    #[test]
    fn error_uri_parsing_never_panics_and_accepts_only_the_charset(s in nasty()) {
        if let Ok(u) = ErrorUri::new(&s) {
            prop_assert!(u.as_str().chars().all(|c| c != ' ' && nqschar(c)));
        }
    }

    #[test]
    fn status_is_always_an_error_status(s in any::<u16>()) {
        let st = OAuthError::invalid_request("").with_status(s).status();
        prop_assert!((400..=599).contains(&st));
    }
}
