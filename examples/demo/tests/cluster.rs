//! Two demo nodes sharing one PostgreSQL database: codes, refresh tokens,
//! clients and DPoP proof `jti`s are cluster-wide. Runs only with
//! `ATTESTO_TEST_POSTGRES_URL` (prints `*** SKIPPED: ` otherwise; fails
//! when `ATTESTO_REQUIRE_POSTGRES=1`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use attesto::jose::{HeaderParams, sign_compact};
use attesto_demo::DemoConfig;
use serde_json::{Value, json};
use support::*;

const SCOPE: &str = "openid api.read offline_access";

struct Cluster {
    a: Demo,
    b: Demo,
    _nodes: (attesto_demo::Demo, attesto_demo::Demo),
    _dir: std::path::PathBuf,
}

/// Two nodes on two loopback ports, one issuer (as behind a load
/// balancer), one key file and server secret, one database and prefix.
async fn cluster(url: &str) -> Cluster {
    let dir = std::env::temp_dir().join(format!("attesto-demo-cluster-{}", random()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("key.json");
    let prefix = fresh_prefix();
    let la = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", la.local_addr().unwrap());
    let base_b = format!("http://{}", lb.local_addr().unwrap());
    let config = || {
        let (key, _) = attesto_demo::keyfile::load_or_generate_key(&key_file).unwrap();
        let secret = attesto_demo::keyfile::load_or_generate_secret(
            &attesto_demo::keyfile::secret_path(&key_file),
        )
        .unwrap();
        let (id_key, _) = attesto_demo::keyfile::load_or_generate_id_token_key(
            &attesto_demo::keyfile::id_token_key_path(&key_file),
        )
        .unwrap();
        DemoConfig::new(issuer.clone(), key, secret)
            .with_id_token_key(id_key)
            .with_table_prefix(prefix.clone())
    };
    let node_a = serve_node(config(), url, la).await;
    let node_b = serve_node(config(), url, lb).await;
    assert_eq!(node_a.storage, node_b.storage);
    assert!(node_a.storage.starts_with("postgres"), "{}", node_a.storage);
    Cluster {
        a: clients_for(issuer),
        b: clients_for(base_b),
        _nodes: (node_a, node_b),
        _dir: dir,
    }
}

fn code_form<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier),
    ]
}

async fn refresh(node: &Demo, id: &str, secret: &str, token: &str) -> (u16, Value) {
    node.token(
        id,
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

// seed-catalog-3b Must-test (cluster): single use holds across nodes.
#[tokio::test]
async fn a_code_issued_on_one_node_is_redeemed_once_across_the_cluster() {
    let Some(url) = postgres_url("a_code_issued_on_one_node_is_redeemed_once_across_the_cluster")
    else {
        return;
    };
    let c = cluster(&url).await;
    // Registered on A, known to B.
    let (id, secret) = register_code_client(&c.a, SCOPE).await;
    // The browser flow sticks to A (sessions are per node).
    let (code, verifier) = browser_code(&c.a, &id, SCOPE).await;
    // Redeemed on B.
    let (status, body) = c.b.token(&id, &secret, &code_form(&code, &verifier)).await;
    assert_eq!(status, 200, "{body}");
    let rt1 = body["refresh_token"].as_str().unwrap().to_owned();
    // Refreshed on A what B issued, then on B what A issued.
    let (status, body) = refresh(&c.a, &id, &secret, &rt1).await;
    assert_eq!(status, 200, "{body}");
    let rt2 = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = refresh(&c.b, &id, &secret, &rt2).await;
    assert_eq!(status, 200, "{body}");
    let rt3 = body["refresh_token"].as_str().unwrap().to_owned();
    // The rotated-away token is refused on the other node.
    let (status, body) = refresh(&c.a, &id, &secret, &rt1).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // The code replayed on A is refused…
    let (status, body) = c.a.token(&id, &secret, &code_form(&code, &verifier)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // …and the whole family it started is revoked, on every node.
    let (status, body) = refresh(&c.b, &id, &secret, &rt3).await;
    assert_eq!(status, 400, "the family must be revoked: {body}");
    assert_eq!(body["error"], "invalid_grant");
}

fn dpop_proof(key: &attesto::jose::SigningKey, htu: &str, nonce: Option<&str>) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = json!({"jti": random(), "htm": "POST", "htu": htu, "iat": now});
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    let mut params = HeaderParams::typ("dpop+jwt");
    params.omit_kid = true;
    params.jwk = Some(key.public_jwk());
    sign_compact(key, &params, claims.to_string().as_bytes()).unwrap()
}

async fn dpop_token(node: &Demo, id: &str, secret: &str, proof: &str) -> reqwest::Response {
    node.http
        .post(node.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .header("DPoP", proof)
        .form(&[("grant_type", "client_credentials"), ("scope", "api.read")])
        .send()
        .await
        .unwrap()
}

// seed-catalog-3b Must-test (cluster): a DPoP proof's jti is single use cluster-wide.
#[tokio::test]
async fn a_dpop_proof_used_on_one_node_is_refused_on_the_other() {
    let Some(url) = postgres_url("a_dpop_proof_used_on_one_node_is_refused_on_the_other") else {
        return;
    };
    let c = cluster(&url).await;
    let (id, secret) = register_code_client(&c.a, "api.read").await;
    let key = attesto::jose::SigningKey::generate(attesto::jose::Algorithm::ES256).unwrap();
    let htu = c.a.url("/oauth/token");
    let mut proof = dpop_proof(&key, &htu, None);
    let mut resp = dpop_token(&c.a, &id, &secret, &proof).await;
    if let Some(nonce) = resp.headers().get("dpop-nonce").cloned()
        && resp.status() != 200
    {
        proof = dpop_proof(&key, &htu, Some(nonce.to_str().unwrap()));
        resp = dpop_token(&c.a, &id, &secret, &proof).await;
    }
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    // The same proof (same jti) on B: refused.
    let resp = dpop_token(&c.b, &id, &secret, &proof).await;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
}
