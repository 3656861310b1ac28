//! The demo behind a TCP relay to PostgreSQL that the test cuts and
//! restores: an outage answers 503 `temporarily_unavailable`, writes
//! nothing half-way, and the server recovers by itself. Runs only with
//! `ATTESTO_TEST_POSTGRES_URL` (prints `*** SKIPPED: ` otherwise; fails
//! when `ATTESTO_REQUIRE_POSTGRES=1`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use attesto_demo::DemoConfig;
use serde_json::Value;
use support::*;

const SCOPE: &str = "openid api.read offline_access";

/// A TCP relay: forwards to `upstream` while on; `cut` drops every live
/// connection and refuses new ones until `restore`.
struct Relay {
    addr: std::net::SocketAddr,
    on: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let on = Arc::new(AtomicBool::new(true));
        let live = Arc::new(Mutex::new(Vec::new()));
        let (on2, live2) = (Arc::clone(&on), Arc::clone(&live));
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !on2.load(Ordering::SeqCst) {
                    drop(inbound); // refused
                    continue;
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                live2.lock().unwrap().push(task.abort_handle());
            }
        });
        Relay { addr, on, live }
    }

    fn cut(&self) {
        self.on.store(false, Ordering::SeqCst);
        for task in self.live.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.on.store(true, Ordering::SeqCst);
    }
}

fn assert_unavailable(status: u16, body: &Value) {
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
}

// seed-catalog-3b Must-test (outage): a database outage is a 503, nothing
// is half-written, and the server recovers without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_and_the_server_recovers_by_itself() {
    let Some(url) = postgres_url("a_database_outage_answers_503_and_the_server_recovers_by_itself")
    else {
        return;
    };
    let mut via = url::Url::parse(&url).unwrap();
    let upstream = format!(
        "{}:{}",
        via.host_str().unwrap(),
        via.port_or_known_default().unwrap_or(5432)
    );
    let relay = Relay::start(upstream).await;
    via.set_host(Some("127.0.0.1")).unwrap();
    via.set_port(Some(relay.addr.port())).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let config = DemoConfig::ephemeral(issuer.clone())
        .unwrap()
        .with_table_prefix(fresh_prefix())
        .with_acquire_timeout(Duration::from_secs(1));
    let _node = serve_node(config, via.as_str(), listener).await;
    let demo = clients_for(issuer);

    // Traffic while the database is up.
    let (id, secret) = register_code_client(&demo, SCOPE).await;
    let (code, verifier) = browser_code(&demo, &id, SCOPE).await;
    let (fresh_code, fresh_verifier) = browser_code(&demo, &id, SCOPE).await;
    let (status, body) = demo
        .token(
            &id,
            &secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rt = body["refresh_token"].as_str().unwrap().to_owned();

    // Cut: code redemption and refresh answer 503 with an OAuth error body.
    relay.cut();
    let started = Instant::now();
    let redeem_fresh = [
        ("grant_type", "authorization_code"),
        ("code", fresh_code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", fresh_verifier.as_str()),
    ];
    let (status, body) = demo.token(&id, &secret, &redeem_fresh).await;
    assert_unavailable(status, &body);
    let (status, body) = demo
        .token(
            &id,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
    assert_unavailable(status, &body);
    // Registration cannot persist the client either: 503, nothing stored.
    let resp = demo
        .http
        .post(demo.url("/oauth/register"))
        .json(&serde_json::json!({"grant_types": ["client_credentials"], "scope": "api.read"}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert_unavailable(status, &resp.json().await.unwrap());
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "outage answers must be bounded by the acquire timeout: {:?}",
        started.elapsed()
    );

    // Restore: the server recovers by itself, within ~10 s.
    relay.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    let recovered_after = loop {
        let (status, body) = demo
            .token(
                &id,
                &secret,
                &[("grant_type", "client_credentials"), ("scope", "api.read")],
            )
            .await;
        if status == 200 {
            break started.elapsed();
        }
        assert_unavailable(status, &body);
        assert!(Instant::now() < deadline, "no recovery within 10 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("recovered {recovered_after:?} after the cut");

    // Nothing was half-written: the code refused during the outage is
    // still redeemable (once), and the refresh token still rotates.
    let (status, body) = demo.token(&id, &secret, &redeem_fresh).await;
    assert_eq!(status, 200, "the code must survive the outage: {body}");
    let (status, body) = demo.token(&id, &secret, &redeem_fresh).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = demo
        .token(
            &id,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
    assert_eq!(
        status, 200,
        "the refresh token must survive the outage: {body}"
    );
}
