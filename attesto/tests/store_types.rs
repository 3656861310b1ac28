//! Store value types: `TokenHash` parsing and display, record decoding, the
//! expiry rule. Includes property tests feeding arbitrary input to every
//! parser in the store module.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use attesto::store::{
    AuthorizationCodeRecord, CachedClientMetadata, ConsentGrantRecord, DeviceCodeRecord,
    DeviceCodeStatus, DpopNonceRecord, LogoutSession, NewRefreshToken, PushedRequest,
    RefreshTokenRecord, TokenHash, is_live, is_sweepable,
};
use proptest::prelude::*;

#[test]
fn token_hash_is_sha256_of_the_raw_value() {
    // FIPS 180-2 test vector for "abc".
    let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let hex: String = TokenHash::of("abc")
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, expected);
    assert_eq!(TokenHash::of("abc"), TokenHash::of_bytes(b"abc"));
}

#[test]
fn token_hash_debug_shows_only_a_short_prefix() {
    let h = TokenHash::of("a-refresh-token");
    let dbg = format!("{h:?}");
    assert!(dbg.starts_with("TokenHash(") && dbg.ends_with("…)"));
    assert_eq!(
        dbg.chars().count(),
        "TokenHash(".len() + 8 + 2,
        "8 hex digits only: {dbg}"
    );
    assert!(!dbg.contains(&h.to_b64url()));
}

#[test]
fn token_hash_text_form_is_canonical_base64url() {
    let h = TokenHash::of("x");
    let text = h.to_b64url();
    assert_eq!(text.len(), 43);
    assert_eq!(TokenHash::from_b64url(&text), Ok(h));
    assert!(
        TokenHash::from_b64url(&format!("{text}=")).is_err(),
        "padding rejected"
    );
    let urlsafe = (0..)
        .map(|i| TokenHash::of(&format!("x{i}")).to_b64url())
        .find(|t| t.contains(['-', '_']))
        .unwrap();
    let standard = urlsafe.replace('-', "+").replace('_', "/");
    assert!(
        TokenHash::from_b64url(&standard).is_err(),
        "the standard alphabet is rejected"
    );
    assert!(TokenHash::from_b64url("").is_err());
    assert!(TokenHash::from_b64url(&text[..42]).is_err());
    // The last character carries 2 padding bits; a non-zero one is a second
    // spelling of the same bytes and must be refused.
    let mut chars: Vec<char> = text.chars().collect();
    let last = chars.pop().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.find(last).unwrap();
    let sibling = alphabet.chars().nth(idx ^ 1).unwrap();
    let alt: String = chars.into_iter().chain([sibling]).collect();
    assert!(
        TokenHash::from_b64url(&alt).is_err(),
        "non-canonical trailing bits rejected"
    );
}

#[test]
fn token_hash_of_parts_is_unambiguous() {
    assert_ne!(
        TokenHash::of_parts(&["ab", "c"]),
        TokenHash::of_parts(&["a", "bc"])
    );
    assert_ne!(TokenHash::of_parts(&["abc"]), TokenHash::of("abc"));
    assert_ne!(
        TokenHash::of_parts(&["", "x"]),
        TokenHash::of_parts(&["x", ""])
    );
    assert_eq!(
        TokenHash::of_parts(&["client", "jti"]),
        TokenHash::of_parts(&["client", "jti"])
    );
}

#[test]
fn token_hash_serializes_as_its_text_form() {
    let h = TokenHash::of("code");
    let json = serde_json::to_string(&h).unwrap();
    assert_eq!(json, format!("\"{}\"", h.to_b64url()));
    assert_eq!(serde_json::from_str::<TokenHash>(&json).unwrap(), h);
    assert!(serde_json::from_str::<TokenHash>("\"short\"").is_err());
    assert!(serde_json::from_str::<TokenHash>("42").is_err());
}

#[test]
fn device_status_names_round_trip() {
    for status in [
        DeviceCodeStatus::Pending,
        DeviceCodeStatus::Approved,
        DeviceCodeStatus::Denied,
        DeviceCodeStatus::Redeemed,
    ] {
        assert_eq!(DeviceCodeStatus::parse(status.as_str()), Some(status));
        let json = serde_json::to_string(&status).unwrap();
        assert_eq!(json, format!("\"{}\"", status.as_str()));
    }
    assert_eq!(DeviceCodeStatus::parse("consumed"), None);
}

#[test]
fn record_with_missing_binding_field_fails_to_decode() {
    // A stored row that lost a field must not decode into a weaker record.
    let json = serde_json::json!({
        "nonce_hash": TokenHash::of("n").to_b64url(),
        "issued_at": 1,
    });
    assert!(serde_json::from_value::<DpopNonceRecord>(json).is_err());
}

fn decode_all(input: &str) {
    // Must return errors, never panic.
    let _ = serde_json::from_str::<AuthorizationCodeRecord>(input);
    let _ = serde_json::from_str::<NewRefreshToken>(input);
    let _ = serde_json::from_str::<RefreshTokenRecord>(input);
    let _ = serde_json::from_str::<PushedRequest>(input);
    let _ = serde_json::from_str::<DpopNonceRecord>(input);
    let _ = serde_json::from_str::<DeviceCodeRecord>(input);
    let _ = serde_json::from_str::<ConsentGrantRecord>(input);
    let _ = serde_json::from_str::<LogoutSession>(input);
    let _ = serde_json::from_str::<CachedClientMetadata>(input);
    let _ = serde_json::from_str::<TokenHash>(input);
}

proptest! {
    #[test]
    fn token_hash_parser_accepts_exactly_canonical_text(s in "\\PC{0,64}") {
        if let Ok(h) = TokenHash::from_b64url(&s) {
            prop_assert_eq!(h.to_b64url(), s);
        }
    }

    #[test]
    fn token_hash_parser_never_panics_on_base64ish_input(s in "[A-Za-z0-9_+/=-]{0,50}") {
        let parsed = TokenHash::from_b64url(&s);
        prop_assert_eq!(parsed.is_ok(), parsed.map(|h| h.to_b64url() == s).unwrap_or(false));
    }

    #[test]
    fn token_hash_text_round_trips(bytes in proptest::array::uniform32(any::<u8>())) {
        let h = TokenHash::from_bytes(bytes);
        prop_assert_eq!(TokenHash::from_b64url(&h.to_b64url()), Ok(h));
        prop_assert_eq!(TokenHash::from_slice(&bytes), Ok(h));
    }

    #[test]
    fn token_hash_from_slice_requires_32_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        prop_assert_eq!(TokenHash::from_slice(&bytes).is_ok(), bytes.len() == 32);
    }

    #[test]
    fn record_decoders_never_panic_on_arbitrary_text(s in "\\PC{0,200}") {
        decode_all(&s);
    }

    #[test]
    fn record_decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = serde_json::from_slice::<AuthorizationCodeRecord>(&bytes);
        let _ = serde_json::from_slice::<RefreshTokenRecord>(&bytes);
        let _ = serde_json::from_slice::<DeviceCodeRecord>(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            decode_all(text);
        }
    }

    #[test]
    fn a_record_is_live_exactly_before_its_expiry(expires_at in any::<i64>(), now in any::<i64>()) {
        prop_assert_eq!(is_live(expires_at, now), now < expires_at);
        prop_assert_eq!(is_sweepable(expires_at, now), expires_at < now);
        // The sweeper only removes what readers already treat as dead.
        prop_assert!(!(is_sweepable(expires_at, now) && is_live(expires_at, now)));
    }
}
