//! mTLS parsers over arbitrary input: typed errors, never panics.

// Test code: a panic on an unexpected value is the failure report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use attesto::mtls::{
    CertificateThumbprint, ClientCertificate, ForwardedCertEncoding, verify_binding,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_are_never_a_certificate(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(ClientCertificate::from_der(&bytes).is_err());
        prop_assert!(ClientCertificate::from_pem(&bytes).is_err());
        prop_assert!(CertificateThumbprint::from_der(&bytes).is_err());
    }

    #[test]
    fn der_that_starts_like_a_certificate_is_still_refused(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = vec![0x30, 0x82, 0x01, 0x20, 0x30, 0x82];
        bytes.extend(tail);
        prop_assert!(ClientCertificate::from_der(&bytes).is_err());
    }

    #[test]
    fn arbitrary_header_values_are_never_a_certificate(s in any::<String>()) {
        prop_assert!(ClientCertificate::from_forwarded_header(&s, ForwardedCertEncoding::EscapedPem).is_err());
        prop_assert!(ClientCertificate::from_forwarded_header(&s, ForwardedCertEncoding::Base64Der).is_err());
    }

    #[test]
    fn thumbprint_parsing_never_panics_and_accepts_only_43_char_b64url(s in "[A-Za-z0-9_=+/-]{0,50}") {
        if let Ok(t) = CertificateThumbprint::parse(&s) {
            prop_assert_eq!(t.as_str().len(), 43);
        }
        let _ = verify_binding(&s, b"junk");
    }
}
