//! Full authorization-code flows per second through the demo's real router
//! on memory (baseline), SQLite (a file in a temp dir) and PostgreSQL, and
//! the SQL statements one flow sends, per step. See BENCHMARKS.md,
//! "Authorization-code flows on SQLite and PostgreSQL".
//!
//! ```text
//! cargo bench -p attesto-demo --bench flows
//! FLOWS=400 LEVELS=1,16 BACKENDS=memory,sqlite,postgres,postgres-nosync \
//!     cargo bench -p attesto-demo --bench flows
//! ```
//!
//! One flow, for a browser that is logged in already (each task has its
//! own browser and client): GET authorize (`prompt=consent`) → consent
//! page → POST consent → redirect with the code → POST token
//! (`authorization_code`, PKCE S256; access token + ID token + refresh
//! token) → POST token (`refresh_token`) → POST revoke. Everything goes over
//! loopback HTTP (reqwest → axum), in this process.
//!
//! PostgreSQL: `ATTESTO_TEST_POSTGRES_URL`, else
//! `postgres://postgres@127.0.0.1:5432/test`; every run uses fresh tables
//! (a random table prefix) and drops them at the end. `postgres-nosync` is
//! the same server with `synchronous_commit=off` for this pool's sessions
//! (URL `options`), which shows what the WAL flush at each commit costs.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use attesto_demo::DemoConfig;
use support::flow::{FlowClient, Step, flow_client, run_flow};
use support::pg_relay::PgRelay;
use support::sql_count::{SqlCounter, is_sweep, shape};
use support::{Demo, clients_for, fresh_prefix, random};

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// A demo node under test, with `tasks` logged-in browsers.
struct Node {
    _node: attesto_demo::Demo,
    browsers: Vec<(Demo, FlowClient)>,
    prefix: attesto_sqlx::TablePrefix,
}

async fn start_node(url: &str, tasks: usize) -> Node {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let prefix = fresh_prefix();
    let config = DemoConfig::ephemeral(issuer.clone())
        .unwrap()
        .with_table_prefix(prefix.clone());
    let node = support::serve_node(config, url, listener).await;
    let mut browsers = Vec::new();
    for _ in 0..tasks {
        let demo = clients_for(issuer.clone());
        let client = flow_client(&demo).await;
        browsers.push((demo, client));
    }
    Node {
        _node: node,
        browsers,
        prefix,
    }
}

struct Measured {
    flows: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    /// Per step (in [`Step::ALL`] order), every flow's time in that step.
    steps: Vec<Vec<Duration>>,
}

fn percentile_of(v: &[Duration], p: usize) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    let i = (v.len() * p / 100).min(v.len().saturating_sub(1));
    v.get(i).copied().unwrap_or_default()
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.flows as f64 / self.wall.as_secs_f64()
    }
    fn percentile(&self, p: usize) -> Duration {
        percentile_of(&self.latencies, p)
    }
}

/// `flows` flows split over `concurrency` tasks (one browser each).
async fn measure(node: &Node, concurrency: usize, flows: usize) -> Measured {
    let per_task = flows / concurrency;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (demo, client) in node.browsers.iter().take(concurrency) {
        let (demo, client) = (demo.clone(), client.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_task);
            let mut steps = vec![Vec::with_capacity(per_task); Step::ALL.len()];
            for _ in 0..per_task {
                let t = Instant::now();
                let mut mark = t;
                run_flow(&demo, &client, |step| {
                    let i = Step::ALL.iter().position(|s| *s == step).unwrap();
                    steps[i].push(mark.elapsed());
                    mark = Instant::now();
                })
                .await;
                lat.push(t.elapsed());
            }
            (lat, steps)
        }));
    }
    let mut latencies = Vec::new();
    let mut steps = vec![Vec::new(); Step::ALL.len()];
    for t in tasks {
        let (lat, st) = t.await.unwrap();
        latencies.extend(lat);
        for (all, mine) in steps.iter_mut().zip(st) {
            all.extend(mine);
        }
    }
    Measured {
        flows: per_task * concurrency,
        wall: started.elapsed(),
        latencies,
        steps,
    }
}

/// Statements per step of one flow (after warm-up), by shape.
async fn count_statements(node: &Node) -> Vec<(Step, Vec<String>)> {
    let counter = SqlCounter::global();
    let (demo, client) = &node.browsers[0];
    let mut out = Vec::new();
    counter.start();
    run_flow(demo, client, |step| {
        let shapes = counter
            .take()
            .iter()
            .filter(|sql| !is_sweep(sql))
            .map(|sql| shape(sql, node.prefix.as_str()))
            .collect();
        out.push((step, shapes));
    })
    .await;
    counter.stop();
    out
}

/// Wire round trips (Query + Sync messages) per flow on PostgreSQL, through
/// a counting relay: statements plus sqlx's pool pings.
async fn count_pg_round_trips(url: &str) -> (f64, f64) {
    let (relay, via) = PgRelay::in_front_of(url).await;
    let node = start_node(&via, 1).await;
    let (demo, client) = &node.browsers[0];
    for _ in 0..3 {
        run_flow(demo, client, |_| {}).await;
    }
    // Let the last release pings land before the snapshot.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = relay.round_trips();
    let n = 20;
    for _ in 0..n {
        run_flow(demo, client, |_| {}).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let d = relay.round_trips().since(before);
    drop_tables(url, &node.prefix).await;
    (
        d.round_trips() as f64 / f64::from(n),
        d.parses as f64 / f64::from(n),
    )
}

async fn drop_tables(url: &str, prefix: &attesto_sqlx::TablePrefix) {
    let Ok(pool) = attesto_sqlx::sqlx::PgPool::connect(url).await else {
        return;
    };
    let sql = format!(
        "SELECT tablename::text FROM pg_tables WHERE tablename LIKE '{}%'",
        prefix.as_str()
    );
    let tables: Vec<String> =
        attesto_sqlx::sqlx::query_scalar(attesto_sqlx::sqlx::AssertSqlSafe(sql))
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
    if !tables.is_empty() {
        let sql = format!("DROP TABLE IF EXISTS {} CASCADE", tables.join(", "));
        let _ = attesto_sqlx::sqlx::query(attesto_sqlx::sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await;
    }
    pool.close().await;
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; other arguments are ignored.
    let flows: usize = env_or("FLOWS", "400").parse().unwrap();
    let levels: Vec<usize> = env_or("LEVELS", "1,16")
        .split(',')
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let backends = env_or("BACKENDS", "memory,sqlite,postgres,postgres-nosync");
    let pg_url = env_or("ATTESTO_TEST_POSTGRES_URL", DEFAULT_PG);
    let max_tasks = levels.iter().copied().max().unwrap_or(1);
    let counter = SqlCounter::global();
    let _only = counter.exclusive().await;

    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load().trim());
    let tmp = std::env::temp_dir().join(format!("attesto-flows-{}", random()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut rows = Vec::new();
    let mut statements: BTreeMap<String, Vec<(Step, Vec<String>)>> = BTreeMap::new();
    for backend in backends.split(',').map(str::trim) {
        let url = match backend {
            "memory" => "memory:".to_owned(),
            "sqlite" => format!("sqlite://{}?mode=rwc", tmp.join("flows.db").display()),
            "postgres" => pg_url.clone(),
            // The same server, with this pool's sessions not waiting for
            // the WAL flush at commit: isolates the fsync cost.
            "postgres-nosync" => format!(
                "{pg_url}{}options=-c%20synchronous_commit%3Doff",
                if pg_url.contains('?') { '&' } else { '?' }
            ),
            other => panic!("unknown backend {other}"),
        };
        let node = start_node(&url, max_tasks).await;
        // Warm-up: every browser runs a few flows (pool connections open,
        // statements prepared, allocator and caches warm).
        measure(&node, max_tasks, max_tasks * 4).await;
        if backend != "memory" {
            statements.insert(backend.to_owned(), count_statements(&node).await);
        }
        for &c in &levels {
            let m = measure(&node, c, flows.max(c)).await;
            println!(
                "{backend:>8} c={c:<3} {:>5} flows in {:>6.2} s: {:>7.1} flows/s  p50 {}  p99 {}",
                m.flows,
                m.wall.as_secs_f64(),
                m.per_second(),
                ms(m.percentile(50)),
                ms(m.percentile(99)),
            );
            rows.push((backend.to_owned(), c, m));
        }
        if backend.starts_with("postgres") {
            drop_tables(&url, &node.prefix).await;
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!("load average after: {}", load().trim());

    println!("\n| backend | concurrency | flows | flows/s | p50 | p99 | vs memory |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (backend, c, m) in &rows {
        let base = rows
            .iter()
            .find(|(b, bc, _)| b == "memory" && bc == c)
            .map(|(_, _, m)| m.per_second());
        let ratio = base.map_or("–".to_owned(), |b| format!("{:.2}×", m.per_second() / b));
        println!(
            "| {backend} | {c} | {} | {:.1} | {} | {} | {ratio} |",
            m.flows,
            m.per_second(),
            ms(m.percentile(50)),
            ms(m.percentile(99)),
        );
    }
    println!("\np50 time per step at concurrency 1 (ms):\n");
    println!("| backend | {} |", Step::ALL.map(Step::name).join(" | "));
    println!("|---|{}", "---:|".repeat(Step::ALL.len()));
    for (backend, _, m) in rows.iter().filter(|(_, c, _)| *c == 1) {
        let cells: Vec<String> = m
            .steps
            .iter()
            .map(|v| format!("{:.2}", percentile_of(v, 50).as_secs_f64() * 1e3))
            .collect();
        println!("| {backend} | {} |", cells.join(" | "));
    }
    for (backend, steps) in &statements {
        let total: usize = steps.iter().map(|(_, s)| s.len()).sum();
        println!("\nstatements per flow on {backend}: {total}");
        for (step, shapes) in steps {
            println!(
                "  {:>16}: {:>2}  {}",
                step.name(),
                shapes.len(),
                shapes.join(", ")
            );
        }
    }
    if backends.split(',').any(|b| b.trim() == "postgres") {
        let (rt, parses) = count_pg_round_trips(&pg_url).await;
        println!(
            "\nPostgreSQL wire round trips per flow (Query + Sync, incl. pool pings): {rt:.1}; Parse messages per flow: {parses:.2}"
        );
    }
}
