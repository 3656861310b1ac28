//! Shared helpers for the DPoP and client-authentication tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use attesto::clock::UnixTime;
use attesto::dpop::{JtiReplayGuard, ReplayKey};
use attesto::jose::{Algorithm, SigningKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub const NOW: UnixTime = 1_700_000_000;
pub const HTU: &str = "https://server.example.com/token";

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique jti.
pub fn jti() -> String {
    format!(
        "jti-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Sign an arbitrary header and payload (so tests can build hostile tokens).
pub fn sign_raw(key: &SigningKey, header: &Value, payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(payload));
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&sig))
}

pub fn sign_json(key: &SigningKey, header: &Value, claims: &Value) -> String {
    sign_raw(key, header, claims.to_string().as_bytes())
}

/// The public JWK as a JSON value.
pub fn public_jwk_value(key: &SigningKey) -> Value {
    serde_json::to_value(key.public_jwk()).unwrap()
}

/// A proper DPoP header for `key`.
pub fn dpop_header(key: &SigningKey) -> Value {
    json!({"typ": "dpop+jwt", "alg": key.algorithm().as_str(), "jwk": public_jwk_value(key)})
}

/// Standard proof claims for a POST to [`HTU`] at `iat`.
pub fn dpop_claims(iat: UnixTime) -> Value {
    json!({"jti": jti(), "htm": "POST", "htu": HTU, "iat": iat})
}

pub fn proof(key: &SigningKey, claims: &Value) -> String {
    sign_json(key, &dpop_header(key), claims)
}

pub fn key(alg: Algorithm) -> SigningKey {
    SigningKey::generate(alg).unwrap()
}

/// A guard that always fails (store down).
#[derive(Debug, Default)]
pub struct FailingGuard;

#[derive(Debug, thiserror::Error)]
#[error("replay store down")]
pub struct StoreDown;

impl JtiReplayGuard for FailingGuard {
    type Error = StoreDown;
    async fn check_and_record(
        &self,
        _key: ReplayKey,
        _expires_at: UnixTime,
        _now: UnixTime,
    ) -> Result<bool, StoreDown> {
        Err(StoreDown)
    }
}

/// A guard that records every call and answers "fresh".
#[derive(Debug, Default)]
pub struct RecordingGuard {
    pub calls: Mutex<Vec<(ReplayKey, UnixTime, UnixTime)>>,
}

impl JtiReplayGuard for RecordingGuard {
    type Error = StoreDown;
    async fn check_and_record(
        &self,
        key: ReplayKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreDown> {
        self.calls.lock().unwrap().push((key, expires_at, now));
        Ok(true)
    }
}
