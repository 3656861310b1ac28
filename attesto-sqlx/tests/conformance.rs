//! attesto's generic store conformance suite (every trait's contract,
//! including 64-way races) against both backends, with two pools over one
//! database standing in for two nodes.
//!
//! seed-catalog-3b Must-test 1–36 (store level), as covered by
//! `attesto::store::conformance`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Instant;

use attesto::store::conformance::run_all;
use attesto_sqlx::TablePrefix;
use common::{PgDb, SqliteDb, loud};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_stores_pass_the_conformance_suite_across_two_pools() {
    let db = SqliteDb::new();
    let prefix = TablePrefix::default();
    let node_a = db.node(&prefix).await;
    let node_b = db.node(&prefix).await;
    let started = Instant::now();
    run_all(&node_a, &node_b).await;
    loud(&format!(
        "sqlite conformance suite: {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stores_pass_the_conformance_suite_across_two_pools() {
    let Some(db) = PgDb::new("postgres_stores_pass_the_conformance_suite_across_two_pools").await
    else {
        return;
    };
    let prefix = TablePrefix::default();
    let node_a = db.node(&prefix).await;
    let node_b = db.node(&prefix).await;
    let started = Instant::now();
    run_all(&node_a, &node_b).await;
    loud(&format!(
        "postgres conformance suite: {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}
