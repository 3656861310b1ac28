//! JOSE and token benchmarks: the raw signature operations through attesto's
//! JOSE seam, next to the full access-token mint and verify paths, so the
//! overhead of claims, JSON and base64 is visible (see BENCHMARKS.md).
//!
//! Run: `cargo bench -p attesto --bench jose`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use attesto::jose::{Algorithm, JwkSet, JwksDocument, Keystore, SigningKey, StaticKeystore};
use attesto::token::{AccessTokenIssuer, AccessTokenRequest, PrincipalKind};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};

const ISS: &str = "https://as.example";
const AUD: &str = "https://rs.example";
const CLIENT: PrincipalKind = PrincipalKind::new("client", "oc_", &[]);

fn request() -> AccessTokenRequest {
    AccessTokenRequest::new(&CLIENT.subject("live_4f2a").unwrap(), "live_4f2a")
        .scope(["documents.read", "documents.write"])
}

/// The same key as plain OpenSSL EVP keys: the floor for sign/verify of the
/// same input (hash included) without josekit or attesto in between.
fn evp_keys(key: &SigningKey) -> (PKey<Private>, PKey<Public>) {
    let pem = key.to_pkcs8_pem().unwrap();
    let sk = PKey::private_key_from_pem(pem.expose().as_bytes()).unwrap();
    let pk = PKey::public_key_from_der(&sk.public_key_to_der().unwrap()).unwrap();
    (sk, pk)
}

fn digest(alg: Algorithm) -> MessageDigest {
    match alg {
        Algorithm::ES384 | Algorithm::RS384 | Algorithm::PS384 => MessageDigest::sha384(),
        Algorithm::ES512 | Algorithm::RS512 | Algorithm::PS512 => MessageDigest::sha512(),
        _ => MessageDigest::sha256(),
    }
}

fn evp_sign(alg: Algorithm, sk: &PKey<Private>, input: &[u8]) -> Vec<u8> {
    let mut s = if alg == Algorithm::EdDSA {
        Signer::new_without_digest(sk).unwrap()
    } else {
        Signer::new(digest(alg), sk).unwrap()
    };
    if alg == Algorithm::PS256 {
        s.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        s.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).unwrap();
        s.set_rsa_mgf1_md(digest(alg)).unwrap();
    }
    s.sign_oneshot_to_vec(input).unwrap()
}

fn evp_verify(alg: Algorithm, pk: &PKey<Public>, input: &[u8], sig: &[u8]) -> bool {
    let mut v = if alg == Algorithm::EdDSA {
        Verifier::new_without_digest(pk).unwrap()
    } else {
        Verifier::new(digest(alg), pk).unwrap()
    };
    if alg == Algorithm::PS256 {
        v.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).unwrap();
        v.set_rsa_mgf1_md(digest(alg)).unwrap();
    }
    v.verify_oneshot(sig, input).unwrap()
}

fn algorithms(c: &mut Criterion) {
    for alg in [
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::EdDSA,
        Algorithm::ES384,
    ] {
        let keystore = Arc::new(StaticKeystore::generate(alg).unwrap());
        let issuer = AccessTokenIssuer::builder(ISS, keystore.clone())
            .audience(AUD)
            .principal_kind(CLIENT)
            .build()
            .unwrap();
        let verifier = issuer.verifier().build().unwrap();
        let token = issuer.mint(request()).unwrap().access_token;
        let token = token.expose().to_owned();
        // A typical signing input: the header and payload of a real access token.
        let (input, _) = token.rsplit_once('.').unwrap();
        let key = keystore.default_signing_key().unwrap();
        let sig = key.sign(input.as_bytes()).unwrap();
        let vk = key.verifying_key();

        let (evp_sk, evp_pk) = evp_keys(&key);
        let evp_sig = evp_sign(alg, &evp_sk, input.as_bytes());
        assert!(evp_verify(alg, &evp_pk, input.as_bytes(), &evp_sig));

        let mut g = c.benchmark_group(alg.as_str());
        g.bench_function("sign_openssl_evp", |b| {
            b.iter(|| evp_sign(alg, &evp_sk, black_box(input.as_bytes())));
        });
        g.bench_function("verify_openssl_evp", |b| {
            b.iter(|| {
                evp_verify(
                    alg,
                    &evp_pk,
                    black_box(input.as_bytes()),
                    black_box(&evp_sig),
                )
            });
        });
        g.bench_function("sign_raw", |b| {
            b.iter(|| key.sign(black_box(input.as_bytes())).unwrap());
        });
        g.bench_function("verify_raw", |b| {
            b.iter(|| {
                vk.verify(alg, black_box(input.as_bytes()), black_box(&sig))
                    .unwrap()
            });
        });
        g.bench_function("mint", |b| {
            b.iter_batched(request, |r| issuer.mint(r).unwrap(), BatchSize::SmallInput);
        });
        g.bench_function("verify", |b| {
            b.iter(|| verifier.verify(black_box(&token)).unwrap());
        });
        g.finish();
    }
}

fn jwks(c: &mut Criterion) {
    let keystore = StaticKeystore::builder()
        .key(SigningKey::generate(Algorithm::ES256).unwrap())
        .key(SigningKey::generate(Algorithm::RS256).unwrap())
        .key(SigningKey::generate(Algorithm::EdDSA).unwrap())
        .build()
        .unwrap();
    let set: JwkSet = keystore.jwks().set().clone();
    let mut g = c.benchmark_group("jwks");
    g.bench_function("document_new_3_keys", |b| {
        b.iter_batched(|| set.clone(), JwksDocument::new, BatchSize::SmallInput);
    });
    g.bench_function("serve_json", |b| {
        // What a handler does per request: take the shared document, copy the body.
        b.iter(|| keystore.jwks().json().to_owned());
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20);
    targets = algorithms, jwks
}
criterion_main!(benches);
