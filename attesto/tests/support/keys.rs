//! Server keystores for the HTTP tests: an ES256 key (access tokens, the
//! default) and an RS256 key (ID tokens, OIDC Discovery §3). The RSA key is
//! generated once per test binary (RSA generation is slow).
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::sync::OnceLock;

use attesto::jose::{Algorithm, SigningKey, StaticKeystore};

/// One RS256 key per test binary (a fresh `kid` is not needed per test).
pub fn rs256_key() -> SigningKey {
    static JWK: OnceLock<String> = OnceLock::new();
    let json = JWK.get_or_init(|| {
        SigningKey::generate(Algorithm::RS256)
            .unwrap()
            .to_private_jwk_json()
            .expose()
            .to_owned()
    });
    SigningKey::from_jwk_json(json).unwrap()
}

/// A fresh ES256 key first (the default signer), then the RS256 key.
pub fn server_keystore() -> StaticKeystore {
    StaticKeystore::builder()
        .key(SigningKey::generate(Algorithm::ES256).unwrap())
        .key(rs256_key())
        .build()
        .unwrap()
}
