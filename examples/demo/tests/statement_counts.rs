//! The SQL statements one authorization-code flow sends, step by step,
//! pinned: a change that adds a round trip to a step fails here (update the
//! pins, and BENCHMARKS.md, when the change is intended). Counted through
//! `tracing` (see `support::sql_count`); the PostgreSQL test also counts
//! the wire round trips through a relay. The PostgreSQL test runs only with
//! `ATTESTO_TEST_POSTGRES_URL` (prints `*** SKIPPED: ` otherwise; fails
//! when `ATTESTO_REQUIRE_POSTGRES=1`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use attesto_demo::DemoConfig;
use support::flow::{Step, flow_client, run_flow};
use support::pg_relay::{PgRelay, WireCounts};
use support::sql_count::{SqlCounter, is_sweep, shape};
use support::*;

/// What one step sent: statement shapes, and wire counts when relayed.
type StepLog = Vec<(Step, Vec<String>, Option<WireCounts>)>;

/// Serve the demo over `url`, warm it up with two flows (pool connections
/// open, statements prepared), then record one flow step by step.
async fn count_one_flow(url: &str, relay: Option<&PgRelay>) -> StepLog {
    let counter = SqlCounter::global();
    let _only_counter = counter.exclusive().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let prefix = fresh_prefix();
    let config = DemoConfig::ephemeral(issuer.clone())
        .unwrap()
        .with_table_prefix(prefix.clone());
    let node = serve_node(config, url, listener).await;
    let demo = clients_for(issuer);
    let client = flow_client(&demo).await;
    run_flow(&demo, &client, |_| {}).await;
    run_flow(&demo, &client, |_| {}).await;

    let mut log = StepLog::new();
    let mut wire = relay.map(PgRelay::round_trips);
    counter.start();
    run_flow(&demo, &client, |step| {
        let shapes = counter
            .take()
            .iter()
            .filter(|sql| !is_sweep(sql))
            .map(|sql| shape(sql, prefix.as_str()))
            .collect();
        let now = relay.map(PgRelay::round_trips);
        let delta = now.zip(wire).map(|(n, w)| n.since(w));
        wire = now;
        log.push((step, shapes, delta));
    })
    .await;
    counter.stop();
    node.shutdown().await.unwrap();
    for (step, shapes, wire) in &log {
        eprintln!(
            "{:>16}: {} statements {shapes:?} wire {wire:?}",
            step.name(),
            shapes.len()
        );
    }
    log
}

/// The statements each step sends. The demo looks its client up in
/// `demo_clients` on every request that names one; the token endpoint reads
/// the code / refresh token once before deciding (read-only pre-checks,
/// e.g. for a DPoP binding), then decides with one atomic statement or one
/// transaction.
fn expected(step: Step, postgres: bool) -> Vec<&'static str> {
    match step {
        // GET /oauth/authorize → consent page (the client is looked up twice).
        Step::Authorize => vec!["SELECT demo_clients", "SELECT demo_clients"],
        // POST /consent → /oauth/authorize resumes and stores the code.
        Step::Consent => vec!["SELECT demo_clients", "INSERT authorization_codes"],
        Step::Redeem => vec![
            "SELECT authorization_codes",
            "SELECT demo_clients",
            "UPDATE authorization_codes",
            "BEGIN",
            "INSERT refresh_families",
            "INSERT refresh_tokens",
            "COMMIT",
            "UPDATE authorization_codes",
        ],
        Step::Refresh => {
            let mut v = vec![
                "SELECT demo_clients",
                "SELECT refresh_tokens",
                "BEGIN",
                "SELECT refresh_tokens",
                "SELECT refresh_families",
                "SELECT refresh_tokens",
                "UPDATE refresh_tokens",
                "INSERT refresh_tokens",
                "COMMIT",
            ];
            if !postgres {
                // No family row lock (`FOR UPDATE`): `BEGIN IMMEDIATE`
                // already serialises every writer.
                v.retain(|s| *s != "SELECT refresh_families");
            }
            v
        }
        Step::Revoke => vec![
            "SELECT demo_clients",
            "SELECT refresh_tokens",
            "UPDATE refresh_families",
        ],
    }
}

fn assert_pinned(log: &StepLog, postgres: bool) {
    assert_eq!(log.len(), Step::ALL.len());
    for (step, shapes, _) in log {
        assert_eq!(
            shapes,
            &expected(*step, postgres),
            "statements of the {} step changed",
            step.name()
        );
    }
}

// Issue 4 (benchmark): a full code flow on SQLite sends exactly the pinned
// statements per step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_flow_sends_the_pinned_statements_per_step_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("attesto-stmts-{}", random()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("demo.db").display());
    let log = count_one_flow(&url, None).await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert_pinned(&log, false);
}

// Issue 4 (benchmark): the same on PostgreSQL, where every statement is a
// network round trip (plus the pool's ping per acquire, counted on the wire).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_flow_sends_the_pinned_statements_per_step_on_postgres() {
    let Some(url) = postgres_url("a_code_flow_sends_the_pinned_statements_per_step_on_postgres")
    else {
        return;
    };
    let (relay, via) = PgRelay::in_front_of(&url).await;
    let log = count_one_flow(&via, Some(&relay)).await;
    assert_pinned(&log, true);
    for (step, shapes, wire) in &log {
        let wire = wire.unwrap();
        // Every logged statement went over the wire; nothing else did but pings.
        assert!(
            wire.round_trips() >= shapes.len() as u64,
            "{}: {wire:?} for {shapes:?}",
            step.name()
        );
    }
}
