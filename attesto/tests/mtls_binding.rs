//! RFC 8705 certificate thumbprints and binding checks.

// Test code: a panic on an unexpected value is the failure report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use attesto::error::{ErrorCode, OAuthError};
use attesto::mtls::{
    CertificateThumbprint, ClientCertificate, ForwardedCertEncoding, MAX_CERT_DER_LEN, MtlsError,
    verify_binding,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::{X509, X509Builder, X509NameBuilder};

fn make_cert(cn: &str) -> X509 {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    b.build()
}

/// The expected thumbprint, computed independently of attesto:
/// OpenSSL's X509 digest (what `openssl x509 -fingerprint -sha256` prints), base64url.
fn expected_x5t(cert: &X509) -> String {
    let digest = cert.digest(MessageDigest::sha256()).unwrap();
    URL_SAFE_NO_PAD.encode(&*digest)
}

/// nginx `$ssl_client_escaped_cert`-style escaping: everything but unreserved.
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// seed-catalog-2 Must-test 58: cnf["x5t#S256"] = the cert SHA-256 thumbprint (base64url).
#[test]
fn thumbprint_is_base64url_sha256_of_the_der() {
    let cert = make_cert("client-a");
    let der = cert.to_der().unwrap();
    let x5t = CertificateThumbprint::from_der(&der).unwrap();
    assert_eq!(x5t.as_str(), expected_x5t(&cert));
    assert_eq!(x5t.as_str().len(), 43);
    assert_eq!(
        x5t.as_str(),
        URL_SAFE_NO_PAD.encode(openssl::sha::sha256(&der))
    );
}

#[test]
fn pem_and_der_give_the_same_thumbprint() {
    let cert = make_cert("client-a");
    let pem = cert.to_pem().unwrap();
    assert_eq!(
        CertificateThumbprint::from_pem(&pem).unwrap(),
        CertificateThumbprint::from_der(&cert.to_der().unwrap()).unwrap()
    );
}

#[test]
fn binding_accepts_the_bound_certificate() {
    let cert = make_cert("client-a");
    let der = cert.to_der().unwrap();
    assert_eq!(verify_binding(&expected_x5t(&cert), &der), Ok(()));
}

// seed-catalog-2 Must-test 184: an mTLS-bound token without the matching cert → 401.
#[test]
fn binding_rejects_another_certificate() {
    let a = make_cert("client-a");
    let b = make_cert("client-b");
    let err = verify_binding(&expected_x5t(&a), &b.to_der().unwrap()).unwrap_err();
    assert_eq!(err, MtlsError::ThumbprintMismatch);
    let oauth = OAuthError::from(err);
    assert_eq!(oauth.code(), &ErrorCode::InvalidToken);
    assert_eq!(oauth.status(), 401);
}

#[test]
fn binding_rejects_a_malformed_expected_thumbprint() {
    let der = make_cert("client-a").to_der().unwrap();
    for bad in [
        "",
        "abc",
        &"A".repeat(44),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
    ] {
        assert_eq!(
            verify_binding(bad, &der),
            Err(MtlsError::InvalidThumbprint),
            "{bad:?}"
        );
    }
}

// seed-catalog-1 §4 item 35, seed-catalog-2 Must-test 67:
// garbage client certificate → invalid_request "invalid client certificate".
#[test]
fn garbage_client_certificate_is_invalid_request_not_invalid_client() {
    for garbage in [
        &b"not a certificate"[..],
        &[0x30, 0x82, 0xff, 0xff][..],
        &[][..],
    ] {
        let err = ClientCertificate::from_der(garbage).unwrap_err();
        assert_eq!(err, MtlsError::InvalidCertificate);
        let oauth = OAuthError::from(err);
        assert_eq!(oauth.code(), &ErrorCode::InvalidRequest);
        assert_eq!(oauth.description(), Some("invalid client certificate"));
        assert_eq!(oauth.status(), 400);
    }
    assert_eq!(
        ClientCertificate::from_pem(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        )
        .unwrap_err(),
        MtlsError::InvalidCertificate
    );
    assert_eq!(
        ClientCertificate::from_pem(b"hello").unwrap_err(),
        MtlsError::InvalidCertificate
    );
}

#[test]
fn trailing_bytes_after_the_certificate_are_rejected() {
    let mut der = make_cert("client-a").to_der().unwrap();
    der.push(0);
    assert_eq!(
        ClientCertificate::from_der(&der).unwrap_err(),
        MtlsError::InvalidCertificate
    );
}

#[test]
fn truncated_certificate_is_rejected() {
    let der = make_cert("client-a").to_der().unwrap();
    assert_eq!(
        ClientCertificate::from_der(&der[..der.len() - 1]).unwrap_err(),
        MtlsError::InvalidCertificate
    );
}

#[test]
fn oversized_input_is_rejected_before_parsing() {
    let big = vec![0u8; MAX_CERT_DER_LEN + 1];
    assert_eq!(
        ClientCertificate::from_der(&big).unwrap_err(),
        MtlsError::TooLarge
    );
}

#[test]
fn a_pem_chain_is_rejected() {
    let mut pem = make_cert("leaf").to_pem().unwrap();
    pem.extend(make_cert("ca").to_pem().unwrap());
    assert_eq!(
        ClientCertificate::from_pem(&pem).unwrap_err(),
        MtlsError::MultipleCertificates
    );
}

#[test]
fn nginx_escaped_pem_header_is_parsed() {
    let cert = make_cert("client-a");
    let pem = String::from_utf8(cert.to_pem().unwrap()).unwrap();
    let header = url_escape(&pem);
    assert!(header.contains("%0A") && !header.contains('\n'));
    let parsed =
        ClientCertificate::from_forwarded_header(&header, ForwardedCertEncoding::EscapedPem)
            .unwrap();
    assert_eq!(parsed.der(), cert.to_der().unwrap().as_slice());
    assert_eq!(parsed.thumbprint().as_str(), expected_x5t(&cert));
}

#[test]
fn escaped_pem_keeps_a_literal_plus() {
    // Find a certificate whose base64 body has a '+', then send it with '+' unescaped.
    let (cert, pem) = (0..64)
        .map(|i| {
            let c = make_cert(&format!("client-{i}"));
            let p = String::from_utf8(c.to_pem().unwrap()).unwrap();
            (c, p)
        })
        .find(|(_, p)| p.contains('+'))
        .expect("some certificate has a '+' in its base64");
    let header = url_escape(&pem).replace("%2B", "+");
    let parsed =
        ClientCertificate::from_forwarded_header(&header, ForwardedCertEncoding::EscapedPem)
            .unwrap();
    assert_eq!(parsed.thumbprint().as_str(), expected_x5t(&cert));
}

#[test]
fn base64_der_header_is_parsed_with_or_without_padding_or_escaping() {
    let cert = make_cert("client-a");
    let der = cert.to_der().unwrap();
    let escaped = url_escape(&STANDARD.encode(&der));
    assert!(escaped.contains('%'));
    for header in [STANDARD.encode(&der), STANDARD_NO_PAD.encode(&der), escaped] {
        let parsed =
            ClientCertificate::from_forwarded_header(&header, ForwardedCertEncoding::Base64Der)
                .unwrap();
        assert_eq!(parsed.thumbprint().as_str(), expected_x5t(&cert));
    }
}

#[test]
fn malformed_forwarded_headers_are_typed_errors() {
    use ForwardedCertEncoding::{Base64Der, EscapedPem};
    assert_eq!(
        ClientCertificate::from_forwarded_header("", EscapedPem).unwrap_err(),
        MtlsError::Missing
    );
    assert_eq!(
        ClientCertificate::from_forwarded_header("  ", Base64Der).unwrap_err(),
        MtlsError::Missing
    );
    assert_eq!(
        ClientCertificate::from_forwarded_header("%GG", EscapedPem).unwrap_err(),
        MtlsError::InvalidEncoding
    );
    assert_eq!(
        ClientCertificate::from_forwarded_header("abc%", EscapedPem).unwrap_err(),
        MtlsError::InvalidEncoding
    );
    assert_eq!(
        ClientCertificate::from_forwarded_header("!!!", Base64Der).unwrap_err(),
        MtlsError::InvalidEncoding
    );
    assert_eq!(
        ClientCertificate::from_forwarded_header("aGVsbG8=", Base64Der).unwrap_err(),
        MtlsError::InvalidCertificate
    );
    let huge = "A".repeat(200_000);
    assert_eq!(
        ClientCertificate::from_forwarded_header(&huge, Base64Der).unwrap_err(),
        MtlsError::TooLarge
    );
}

// seed-catalog-2 Must-test 59: "client certificate required".
#[test]
fn missing_certificate_maps_to_client_certificate_required() {
    let oauth = OAuthError::from(MtlsError::Missing);
    assert_eq!(oauth.code(), &ErrorCode::InvalidRequest);
    assert_eq!(oauth.description(), Some("client certificate required"));
}

#[test]
fn thumbprint_serializes_as_the_cnf_member_value() {
    let cert = make_cert("client-a");
    let x5t = CertificateThumbprint::from_der(&cert.to_der().unwrap()).unwrap();
    let cnf = serde_json::json!({ "x5t#S256": x5t });
    assert_eq!(cnf["x5t#S256"], expected_x5t(&cert));
    let back: CertificateThumbprint = serde_json::from_value(cnf["x5t#S256"].clone()).unwrap();
    assert_eq!(back, x5t);
    assert!(serde_json::from_str::<CertificateThumbprint>(r#""nope""#).is_err());
}

#[test]
fn thumbprint_verify_and_matches_agree() {
    let a = ClientCertificate::from_der(&make_cert("a").to_der().unwrap()).unwrap();
    let b = ClientCertificate::from_der(&make_cert("b").to_der().unwrap()).unwrap();
    let ta = a.thumbprint();
    assert!(ta.matches(&a) && ta.verify(&a).is_ok());
    assert!(!ta.matches(&b));
    assert_eq!(ta.verify(&b), Err(MtlsError::ThumbprintMismatch));
    assert_eq!(CertificateThumbprint::parse(ta.as_str()).unwrap(), ta);
    assert!(format!("{a:?}").contains(ta.as_str()));
}
