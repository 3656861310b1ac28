//! DPoP proof verification throughput (RFC 9449 §4.3), ES256 and EdDSA.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use attesto::dpop::{DpopContext, DpopVerifier, NoNonces, SingleNodeReplayGuard};
use attesto::jose::{Algorithm, HeaderParams, SigningKey, sign_compact};
use attesto::secret::sha256_b64url;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const NOW: i64 = 1_700_000_000;
const HTU: &str = "https://server.example.com/resource";
const ACCESS_TOKEN: &str = "an-access-token";

fn make_proof(key: &SigningKey, jti: u64) -> String {
    let claims = serde_json::json!({
        "jti": format!("jti-{jti}"),
        "htm": "GET",
        "htu": HTU,
        "iat": NOW,
        "ath": sha256_b64url(ACCESS_TOKEN.as_bytes()),
    });
    let mut header = HeaderParams::typ("dpop+jwt");
    header.jwk = Some(key.public_jwk());
    header.omit_kid = true;
    sign_compact(key, &header, claims.to_string().as_bytes()).unwrap()
}

fn bench(c: &mut Criterion) {
    let verifier = DpopVerifier::default();
    let cold = DpopVerifier::builder()
        .key_cache_capacity(0)
        .build()
        .unwrap();
    let ctx = DpopContext::new("GET", HTU, NOW).with_access_token(ACCESS_TOKEN);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("dpop");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let key = SigningKey::generate(alg).unwrap();
        let proof = make_proof(&key, 0);
        group.bench_function(format!("verify_proof/{alg}"), |b| {
            b.iter(|| {
                verifier
                    .verify_proof(std::hint::black_box(&proof), &ctx)
                    .unwrap()
            });
        });
        group.bench_function(format!("verify_proof_uncached_key/{alg}"), |b| {
            b.iter(|| {
                cold.verify_proof(std::hint::black_box(&proof), &ctx)
                    .unwrap()
            });
        });
        let guard = SingleNodeReplayGuard::new();
        let mut n = 1u64;
        group.bench_function(format!("verify_with_replay/{alg}"), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    make_proof(&key, n)
                },
                |p| {
                    rt.block_on(verifier.verify(&p, &ctx, &NoNonces, &guard))
                        .unwrap()
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
