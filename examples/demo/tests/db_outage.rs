//! The demo behind a TCP relay to PostgreSQL that the test cuts and
//! restores: an outage answers 503 `temporarily_unavailable`, writes
//! nothing half-way, and the server recovers by itself. The relay also
//! cuts a single connection inside a store transaction (at its `COMMIT`,
//! before or after the server got it): still a 503, never a 500, and the
//! stored state is all or nothing (`support::pg_relay`). Runs only with
//! `ATTESTO_TEST_POSTGRES_URL` (prints `*** SKIPPED: ` otherwise; fails
//! when `ATTESTO_REQUIRE_POSTGRES=1`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use attesto_demo::DemoConfig;
use serde_json::Value;
use support::pg_relay::PgRelay;
use support::*;

const SCOPE: &str = "openid api.read offline_access";

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
    let (relay, via) = PgRelay::in_front_of(&url).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let config = DemoConfig::ephemeral(issuer.clone())
        .unwrap()
        .with_table_prefix(fresh_prefix())
        .with_acquire_timeout(Duration::from_secs(1));
    let _node = serve_node(config, &via, listener).await;
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

/// POST the token endpoint; returns status, `Cache-Control` and the JSON body.
async fn token_raw(
    demo: &Demo,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, Option<String>, Option<String>, Value) {
    let resp = demo
        .http
        .post(demo.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let cache_control = header("cache-control");
    let content_type = header("content-type");
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (status, cache_control, content_type, body)
}

/// A 503 with an OAuth error body that no cache keeps.
fn assert_unavailable_response(
    (status, cache_control, content_type, body): &(u16, Option<String>, Option<String>, Value),
) {
    assert_unavailable(*status, body);
    assert_eq!(cache_control.as_deref(), Some("no-store"), "{body}");
    assert!(
        content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/json")),
        "{content_type:?}"
    );
}

/// A demo node over PostgreSQL behind a relay, with a direct pool to the
/// same tables for the assertions.
struct FaultNode {
    relay: PgRelay,
    demo: Demo,
    db: attesto_sqlx::sqlx::PgPool,
    prefix: attesto_sqlx::TablePrefix,
    _node: attesto_demo::Demo,
}

impl FaultNode {
    async fn start(url: &str) -> FaultNode {
        let (relay, via) = PgRelay::in_front_of(url).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let prefix = fresh_prefix();
        let config = DemoConfig::ephemeral(issuer.clone())
            .unwrap()
            .with_table_prefix(prefix.clone())
            .with_acquire_timeout(Duration::from_secs(5));
        let node = serve_node(config, &via, listener).await;
        let db = attesto_sqlx::sqlx::PgPool::connect(url).await.unwrap();
        FaultNode {
            relay,
            demo: clients_for(issuer),
            db,
            prefix,
            _node: node,
        }
    }

    /// `SELECT count(*)` of one store table (all rows belong to this test:
    /// the prefix is fresh).
    async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {}", self.prefix.table(table));
        attesto_sqlx::sqlx::query_scalar(attesto_sqlx::sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// Every refresh token row: (generation, rotated?, has a successor?).
    async fn refresh_rows(&self) -> Vec<(i64, bool, bool)> {
        let sql = format!(
            "SELECT generation, rotated_at IS NOT NULL, successor_hash IS NOT NULL \
             FROM {} ORDER BY generation",
            self.prefix.table("refresh_tokens")
        );
        attesto_sqlx::sqlx::query_as(attesto_sqlx::sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.db)
            .await
            .unwrap()
    }

    /// The one code row: (redeemed?, issuance recorded?).
    async fn code_state(&self) -> Vec<(bool, bool)> {
        let sql = format!(
            "SELECT redeemed_at IS NOT NULL, issuance_recorded FROM {}",
            self.prefix.table("authorization_codes")
        );
        attesto_sqlx::sqlx::query_as(attesto_sqlx::sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.db)
            .await
            .unwrap()
    }
}

// seed-catalog-3b Must-test (faults): the connection dies inside the
// refresh rotation's transaction, just before its COMMIT reaches the
// server. The request is a 503 (never a 500), the rotation is rolled back
// as a whole, and after recovery the presented token rotates exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_before_the_rotation_commit_answers_503_and_rotates_once_later() {
    let test = "a_connection_cut_before_the_rotation_commit_answers_503_and_rotates_once_later";
    let Some(url) = postgres_url(test) else {
        return;
    };
    let node = FaultNode::start(&url).await;
    let demo = &node.demo;
    let (id, secret) = register_code_client(demo, SCOPE).await;
    let (code, verifier) = browser_code(demo, &id, SCOPE).await;
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
    assert_eq!(node.refresh_rows().await, vec![(0, false, false)]);

    // The rotation's transaction runs up to its COMMIT, which never arrives.
    node.relay.cut_once_at("COMMIT");
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let answer = token_raw(demo, &id, &secret, &refresh).await;
    assert_eq!(node.relay.cuts(), 1, "the cut must have fired: {answer:?}");
    assert_unavailable_response(&answer);

    // Rolled back as a whole: no successor row, the token is not marked.
    assert_eq!(node.refresh_rows().await, vec![(0, false, false)]);
    assert_eq!(node.count("refresh_families").await, 1);

    // The relay passes traffic again: the same token rotates, once.
    let (status, body) = demo.token(&id, &secret, &refresh).await;
    assert_eq!(status, 200, "the token must survive the cut: {body}");
    let successor = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(successor, rt);
    assert_eq!(
        node.refresh_rows().await,
        vec![(0, true, true), (1, false, false)],
        "exactly one successor"
    );
    let (status, body) = demo
        .token(
            &id,
            &secret,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &successor),
            ],
        )
        .await;
    assert_eq!(status, 200, "the successor is a working token: {body}");
    assert_eq!(node.count("refresh_families").await, 1);
}

// seed-catalog-3b Must-test (faults): the connection dies inside the code
// redemption's token-issuing transaction (the refresh family insert), just
// before its COMMIT. The redemption itself is one autocommitted statement
// that already ran, so per the store contract ("the code stays spent when
// a later step fails", fail closed) the code is counted spent with nothing
// issued: no family, no token row, no recorded issuance, and the same code
// is refused afterwards with `invalid_grant`, never redeemed twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_inside_the_code_redemption_leaves_the_code_spent_with_nothing_issued() {
    let test =
        "a_connection_cut_inside_the_code_redemption_leaves_the_code_spent_with_nothing_issued";
    let Some(url) = postgres_url(test) else {
        return;
    };
    let node = FaultNode::start(&url).await;
    let demo = &node.demo;
    let (id, secret) = register_code_client(demo, SCOPE).await;
    let (code, verifier) = browser_code(demo, &id, SCOPE).await;
    assert_eq!(node.code_state().await, vec![(false, false)]);

    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    node.relay.cut_once_at("COMMIT");
    let answer = token_raw(demo, &id, &secret, &redeem).await;
    assert_eq!(node.relay.cuts(), 1, "the cut must have fired: {answer:?}");
    assert_unavailable_response(&answer);

    // Spent, nothing issued, nothing half-written.
    assert_eq!(node.code_state().await, vec![(true, false)]);
    assert_eq!(node.count("refresh_families").await, 0);
    assert_eq!(node.count("refresh_tokens").await, 0);

    // After recovery the code is refused (once spent, always spent) and
    // still nothing is issued from it.
    let (status, body) = demo.token(&id, &secret, &redeem).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert_eq!(node.count("refresh_tokens").await, 0);

    // The server itself is healthy: a new code works end to end.
    let (code, verifier) = browser_code(demo, &id, SCOPE).await;
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
    assert_eq!(node.count("refresh_tokens").await, 1);
}

// seed-catalog-3b Must-test (faults): the rotation's COMMIT reaches the
// server (the rotation is stored) but its answer is lost with the
// connection. The request is a 503; the client's retry with the same token,
// inside the refresh grace window, is answered with the successor that was
// committed (not a second one, and not reuse detection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_rotation_commit_reply_answers_503_and_the_retry_gets_the_committed_successor() {
    let test =
        "a_lost_rotation_commit_reply_answers_503_and_the_retry_gets_the_committed_successor";
    let Some(url) = postgres_url(test) else {
        return;
    };
    let node = FaultNode::start(&url).await;
    let demo = &node.demo;
    let (id, secret) = register_code_client(demo, SCOPE).await;
    let (code, verifier) = browser_code(demo, &id, SCOPE).await;
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

    node.relay.cut_once_after("COMMIT");
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let answer = token_raw(demo, &id, &secret, &refresh).await;
    assert_eq!(node.relay.cuts(), 1, "the cut must have fired: {answer:?}");
    assert_unavailable_response(&answer);
    // The server committed the rotation.
    assert_eq!(
        node.refresh_rows().await,
        vec![(0, true, true), (1, false, false)]
    );

    // The retry gets that successor; no second one, the family lives.
    let (status, body) = demo.token(&id, &secret, &refresh).await;
    assert_eq!(
        status, 200,
        "the retry must get the committed successor: {body}"
    );
    let successor = body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        node.refresh_rows().await,
        vec![(0, true, true), (1, false, false)],
        "exactly one successor"
    );
    let (status, body) = demo
        .token(
            &id,
            &secret,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &successor),
            ],
        )
        .await;
    assert_eq!(status, 200, "the successor is the live token: {body}");
    assert_eq!(
        node.refresh_rows().await,
        vec![(0, true, true), (1, true, true), (2, false, false)]
    );
}
