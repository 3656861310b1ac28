//! The introspection endpoint (RFC 7662, RFC 9701) over real HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_token_support;

use std::sync::{Arc, RwLock};

use attesto::jose::{
    Algorithm, AlgorithmSet, JwkSet, JwksDocument, Keystore, SigningKey, StaticKeystore,
    UnverifiedJws, VerifyingKey,
};
use serde_json::Value;
use serde_json::json;
use server_token_support::*;

const JWT_TYPE: &str = "application/token-introspection+jwt";

fn at(r: &Reply) -> String {
    r.json()["access_token"].as_str().unwrap().to_owned()
}

fn rt(r: &Reply) -> String {
    r.json()["refresh_token"].as_str().unwrap().to_owned()
}

async fn cc_token(s: &TestServer) -> String {
    let r = s
        .token_basic(
            "conf",
            &[
                ("grant_type", "client_credentials"),
                ("scope", "reports.read"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    at(&r)
}

#[tokio::test]
async fn introspection_without_client_authentication_is_invalid_client() {
    // seed-catalog-2 §35.A Must-test 19
    let s = start(TestHost::with_clients(standard_clients())).await;
    let token = cc_token(&s).await;
    let r = s.introspect(&[("token", &token)], &[]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_client"));
    r.assert_no_store();
    let public = s
        .introspect(&[("token", &token), ("client_id", "pub")], &[])
        .await;
    assert_eq!(
        (public.status, public.error().as_str()),
        (400, "invalid_client")
    );
    assert_eq!(
        public.json()["error_description"],
        "client authentication required"
    );
    let wrong = s
        .introspect(
            &[("token", &token)],
            &[("authorization", &basic("conf", "nope"))],
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.error().as_str()),
        (401, "invalid_client")
    );
}

#[tokio::test]
async fn active_access_token_is_described() {
    // seed-catalog-2 §35.L Must-test 171
    let s = start(TestHost::with_clients(standard_clients())).await;
    let token = cc_token(&s).await;
    let r = s
        .introspect(
            &[("token", &token)],
            &[("authorization", &basic("other", SECRET))],
        )
        .await;
    assert_eq!(r.status, 200);
    r.assert_no_store();
    let body = r.json();
    let claims = jwt_claims(&token);
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "reports.read");
    assert_eq!(body["client_id"], "conf");
    assert_eq!(body["sub"], "oc_conf");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["aud"], API);
    assert_eq!(body["exp"], claims["exp"]);
    assert_eq!(body["iat"], claims["iat"]);
    assert_eq!(body["jti"], claims["jti"]);
}

#[tokio::test]
async fn unknown_expired_or_garbage_token_is_only_active_false() {
    // seed-catalog-2 §35.L Must-test 172
    let s = start(TestHost::with_clients(standard_clients())).await;
    let token = cc_token(&s).await;
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    for t in ["unknown-refresh-token", "a.b.c", tampered.as_str()] {
        assert_eq!(
            s.introspect_as("conf", t).await,
            json!({"active": false}),
            "{t}"
        );
    }
    s.clock.advance(301);
    assert_eq!(
        s.introspect_as("conf", &token).await,
        json!({"active": false}),
        "expired, no leeway"
    );
    let missing = s
        .introspect(
            &[("token_type_hint", "access_token")],
            &[("authorization", &basic("conf", SECRET))],
        )
        .await;
    assert_eq!(missing.error(), "invalid_request");
}

#[tokio::test]
async fn another_servers_token_is_inactive() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let foreign = start(TestHost::with_clients(standard_clients())).await;
    let token = cc_token(&foreign).await;
    assert_eq!(
        s.introspect_as("conf", &token).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn jwt_response_when_the_caller_accepts_it() {
    // seed-catalog-2 §35.L Must-test 173
    let s = start(TestHost::with_clients(standard_clients())).await;
    let token = cc_token(&s).await;
    let r = s
        .introspect(
            &[("token", &token)],
            &[
                ("authorization", &basic("other", SECRET)),
                ("accept", JWT_TYPE),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type").as_deref(), Some(JWT_TYPE));
    r.assert_no_store();
    assert_eq!(jwt_header(&r.text)["typ"], "token-introspection+jwt");
    let jwks = s
        .http
        .get(s.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let set = JwkSet::from_json(&jwks).unwrap();
    let jws = UnverifiedJws::parse(&r.text, 16 * 1024).unwrap();
    let jwk = set
        .candidates(jws.header().kid.as_deref(), jws.header().alg)
        .next()
        .unwrap()
        .clone();
    let key = VerifyingKey::from_jwk(jwk, AlgorithmSet::ALL).unwrap();
    let claims = jws
        .verify(&key, AlgorithmSet::ALL)
        .unwrap()
        .claims()
        .unwrap();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], "other");
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["token_introspection"]["active"], true);
    assert_eq!(claims["token_introspection"]["client_id"], "conf");
    let inactive = s
        .introspect(
            &[("token", "nope")],
            &[
                ("authorization", &basic("other", SECRET)),
                ("accept", JWT_TYPE),
            ],
        )
        .await;
    assert_eq!(
        jwt_claims(&inactive.text)["token_introspection"],
        json!({"active": false})
    );
}

#[tokio::test]
async fn refresh_token_is_active_until_rotated_or_revoked() {
    // seed-catalog-2 §35.L Must-test 175
    let s = start(TestHost::with_clients(standard_clients())).await;
    let tokens = offline_tokens(&s).await;
    let body = s.introspect_as("other", &rt(&tokens)).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], "conf");
    assert_eq!(body["sub"], "usr_alice");
    assert_eq!(body["scope"], "offline_access documents.read");
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["exp"], NOW + 30 * 24 * 3600);
    assert!(body.get("token_type").is_none());
    let rotated = s
        .token_basic(
            "conf",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt(&tokens)),
            ],
        )
        .await;
    assert_eq!(rotated.status, 200);
    assert_eq!(
        s.introspect_as("other", &rt(&tokens)).await,
        json!({"active": false})
    );
    assert_eq!(
        s.introspect_as("other", &rt(&rotated)).await["active"],
        true
    );
}

#[tokio::test]
async fn dpop_bound_access_token_reports_its_binding() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let key = es256();
    let proof = s.proof(&key, None);
    let r = s
        .token(
            &[("grant_type", "client_credentials")],
            &[("authorization", &basic("conf", SECRET)), ("dpop", &proof)],
        )
        .await;
    let body = s.introspect_as("other", &at(&r)).await;
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(body["cnf"]["jkt"], key.verifying_key().thumbprint());
}

#[tokio::test]
async fn token_for_another_resource_is_still_ours() {
    let host = TestHost::with_clients(standard_clients());
    host.allowed_resources
        .lock()
        .unwrap()
        .push(("conf".into(), OTHER_API.into()));
    let s = start(host).await;
    let r = s
        .token_basic(
            "conf",
            &[
                ("grant_type", "client_credentials"),
                ("resource", OTHER_API),
            ],
        )
        .await;
    let body = s.introspect_as("other", &at(&r)).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["aud"], OTHER_API);
}

/// A code flow for `conf` with `offline_access documents.read`: the token
/// response (an access token minted in a refresh family, and its refresh token).
async fn offline_tokens(s: &TestServer) -> Reply {
    let (code, verifier) = s
        .issue_code(CodeSpec::new("conf", &["offline_access", "documents.read"]))
        .await;
    let r = s.redeem("conf", false, &code, &verifier, &[]).await;
    assert_eq!(r.status, 200, "{r:?}");
    r
}

async fn offline_refresh_token(s: &TestServer) -> String {
    rt(&offline_tokens(s).await)
}

/// Revoke `conf`'s refresh token `refresh` (and with it the whole grant).
async fn revoke_grant(s: &TestServer, refresh: &str) {
    let r = s
        .revoke(
            &[("token", refresh)],
            &[("authorization", &basic("conf", SECRET))],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn introspection_policy_refusal_is_indistinguishable_from_an_unknown_token() {
    // seed-catalog-1 Must-test 103; seed-catalog-2 Must-test 174
    let s = start(TestHost::with_clients(standard_clients())).await;
    let access = cc_token(&s).await;
    let refresh = offline_refresh_token(&s).await;
    s.server
        .host()
        .introspection_denied
        .lock()
        .unwrap()
        .push("other".into());
    let unknown = s.introspect_as("other", "unknown-refresh-token").await;
    for t in [&access, &refresh] {
        assert_eq!(s.introspect_as("other", t).await, unknown, "{t}");
        assert_eq!(unknown, json!({"active": false}));
        // The signed response says the same.
        let r = s
            .introspect(
                &[("token", t)],
                &[
                    ("authorization", &basic("other", SECRET)),
                    ("accept", JWT_TYPE),
                ],
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            jwt_claims(&r.text)["token_introspection"],
            json!({"active": false})
        );
        // Another caller the policy allows still sees the token.
        assert_eq!(s.introspect_as("conf", t).await["active"], true);
    }
}

#[tokio::test]
async fn introspection_policy_sees_the_caller_and_the_active_token() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let access = cc_token(&s).await;
    let refresh = offline_refresh_token(&s).await;
    let body = s.introspect_as("other", &access).await;
    assert_eq!(body["active"], true, "the default allows");
    assert_eq!(s.introspect_as("other", &refresh).await["active"], true);
    let seen = s.server.host().introspected.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|t| t.active));
    assert_eq!(seen[0].kind, attesto::server::IntrospectedKind::AccessToken);
    assert_eq!(seen[0].client_id.as_deref(), Some("conf"));
    assert_eq!(seen[0].scope.as_deref(), Some("reports.read"));
    assert_eq!(seen[0].jti.as_deref(), body["jti"].as_str());
    assert_eq!(
        seen[1].kind,
        attesto::server::IntrospectedKind::RefreshToken
    );
    assert_eq!(seen[1].sub.as_deref(), Some("usr_alice"));
}

#[tokio::test]
async fn introspection_policy_is_not_consulted_for_inactive_tokens() {
    // seed-catalog-1 Must-test 103: for inactive tokens it is not consulted.
    let s = start(TestHost::with_clients(standard_clients())).await;
    let access = cc_token(&s).await;
    for t in ["unknown-refresh-token", "a.b.c"] {
        assert_eq!(s.introspect_as("other", t).await, json!({"active": false}));
    }
    s.clock.advance(301);
    assert_eq!(
        s.introspect_as("other", &access).await,
        json!({"active": false})
    );
    assert_eq!(
        s.server
            .host()
            .introspection_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn a_panicking_introspection_policy_answers_active_false() {
    // seed-catalog-1 Must-test 103 ("or failing"); seed-catalog-2 Must-test 174 ("or raises")
    let s = start(TestHost::with_clients(standard_clients())).await;
    let access = cc_token(&s).await;
    s.server
        .host()
        .introspection_panics
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        s.introspect_as("other", &access).await,
        json!({"active": false})
    );
    assert_eq!(
        s.server
            .host()
            .introspection_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

// --- The verified-token cache ------------------------------------------------
//
// Introspection remembers the access tokens it verified; a hit skips only the
// signature. These tests introspect a token once (so it is cached), change
// the one thing that should make it inactive, and ask again.

/// A keystore whose contents the test replaces while the server runs.
#[derive(Clone)]
struct RotatingKeystore(Arc<RwLock<Arc<StaticKeystore>>>);

impl RotatingKeystore {
    fn new(keys: StaticKeystore) -> Self {
        RotatingKeystore(Arc::new(RwLock::new(Arc::new(keys))))
    }

    fn replace(&self, keys: StaticKeystore) {
        *self.0.write().unwrap() = Arc::new(keys);
    }

    fn current(&self) -> Arc<StaticKeystore> {
        Arc::clone(&self.0.read().unwrap())
    }
}

impl Keystore for RotatingKeystore {
    fn signing_key(&self, alg: Algorithm) -> Option<Arc<SigningKey>> {
        self.current().signing_key(alg)
    }
    fn default_signing_key(&self) -> Option<Arc<SigningKey>> {
        self.current().default_signing_key()
    }
    fn verifying_key(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<VerifyingKey>> {
        self.current().verifying_key(kid, alg)
    }
    fn jwks(&self) -> Arc<JwksDocument> {
        self.current().jwks()
    }
}

fn keystore_with(es256: SigningKey) -> StaticKeystore {
    StaticKeystore::builder()
        .key(es256)
        .key(keys::rs256_key())
        .build()
        .unwrap()
}

/// A fresh ES256 key published under `kid`.
fn es256_with_kid(kid: &str) -> SigningKey {
    let fresh = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut jwk: Value = serde_json::from_str(fresh.to_private_jwk_json().expose()).unwrap();
    jwk["kid"] = json!(kid);
    SigningKey::from_jwk_json(&jwk.to_string()).unwrap()
}

#[tokio::test]
async fn cached_access_token_turns_inactive_at_its_expiry() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let token = cc_token(&s).await;
    let first = s.introspect_as("conf", &token).await;
    assert_eq!(first["active"], true);
    let exp = first["exp"].as_i64().unwrap();
    s.clock.set(exp - 1);
    assert_eq!(s.introspect_as("conf", &token).await, first);
    s.clock.set(exp);
    assert_eq!(
        s.introspect_as("conf", &token).await,
        json!({"active": false}),
        "a cached token is inactive from its exp on, without leeway"
    );
}

#[tokio::test]
async fn cached_access_token_turns_inactive_when_its_grant_is_revoked() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let tokens = offline_tokens(&s).await;
    for _ in 0..2 {
        assert_eq!(s.introspect_as("conf", &at(&tokens)).await["active"], true);
    }
    revoke_grant(&s, &rt(&tokens)).await;
    assert_eq!(
        s.introspect_as("conf", &at(&tokens)).await,
        json!({"active": false})
    );
}

/// A server over a [`RotatingKeystore`] that starts with the usual keys.
async fn start_rotating() -> (TestServer, RotatingKeystore) {
    let keys = RotatingKeystore::new(keys::server_keystore());
    let s = start_with_keys(
        TestHost::with_clients(standard_clients()),
        |b| b,
        keys.clone(),
    )
    .await;
    (s, keys)
}

#[tokio::test]
async fn cached_access_token_turns_inactive_when_its_key_leaves_the_keystore() {
    let (s, keys) = start_rotating().await;
    let token = cc_token(&s).await;
    assert_eq!(s.introspect_as("conf", &token).await["active"], true);
    // Rotated out: another ES256 key signs, the old one is gone.
    keys.replace(keystore_with(
        SigningKey::generate(Algorithm::ES256).unwrap(),
    ));
    assert_eq!(
        s.introspect_as("conf", &token).await,
        json!({"active": false})
    );
    // And a token of the new key is active (nothing stale is served).
    let fresh = cc_token(&s).await;
    assert_eq!(s.introspect_as("conf", &fresh).await["active"], true);
}

#[tokio::test]
async fn cached_access_token_turns_inactive_when_another_key_takes_its_kid() {
    let (s, keys) = start_rotating().await;
    let token = cc_token(&s).await;
    let kid = jwt_header(&token)["kid"].as_str().unwrap().to_owned();
    assert_eq!(s.introspect_as("conf", &token).await["active"], true);
    keys.replace(keystore_with(es256_with_kid(&kid)));
    assert_eq!(
        s.introspect_as("conf", &token).await,
        json!({"active": false}),
        "the key under the same kid no longer verifies the cached token"
    );
}

#[tokio::test]
async fn introspection_gives_the_same_answers_with_the_cache_disabled() {
    let cached = start(TestHost::with_clients(standard_clients())).await;
    let uncached = start_with(TestHost::with_clients(standard_clients()), |b| {
        b.introspection_cache(0)
    })
    .await;
    for s in [&cached, &uncached] {
        let tokens = offline_tokens(s).await;
        let first = s.introspect_as("other", &at(&tokens)).await;
        assert_eq!(first["active"], true);
        assert_eq!(first["scope"], "offline_access documents.read");
        assert_eq!(s.introspect_as("other", &at(&tokens)).await, first);
        revoke_grant(s, &rt(&tokens)).await;
        assert_eq!(
            s.introspect_as("other", &at(&tokens)).await,
            json!({"active": false})
        );
    }
}
