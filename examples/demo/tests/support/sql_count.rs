//! Counts the SQL statements the demo sends: a global `tracing` subscriber
//! that records every `DEBUG` event of sqlx (`sqlx::query`, one per
//! statement) and of attesto-sqlx ([`attesto_sqlx::STATEMENT_LOG_TARGET`]:
//! the `BEGIN` / `COMMIT` sqlx does not log). Recording is off until
//! [`SqlCounter::start`], and the process has one counter: callers that
//! count must not run concurrently (see [`SqlCounter::exclusive`]).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

/// The process's statement counter.
pub struct SqlCounter {
    on: AtomicBool,
    log: Mutex<Vec<String>>,
    lock: tokio::sync::Mutex<()>,
}

struct Sub(&'static SqlCounter);

fn counted(meta: &Metadata<'_>) -> bool {
    (meta.target() == "sqlx::query" || meta.target() == attesto_sqlx::STATEMENT_LOG_TARGET)
        && !meta.is_span()
}

impl Subscriber for Sub {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if counted(meta) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        counted(meta) && self.0.on.load(Ordering::SeqCst)
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Id::from_u64(NEXT.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if !self.0.on.load(Ordering::SeqCst) {
            return;
        }
        let mut v = Statement::default();
        event.record(&mut v);
        let sql = if v.full.trim().is_empty() {
            v.summary
        } else {
            v.full.trim().to_owned()
        };
        self.0.log.lock().unwrap().push(sql);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[derive(Default)]
struct Statement {
    summary: String,
    full: String,
}

impl Visit for Statement {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => value.clone_into(&mut self.summary),
            "db.statement" => value.clone_into(&mut self.full),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" && self.summary.is_empty() {
            self.summary = format!("{value:?}").trim_matches('"').to_owned();
        }
    }
}

impl SqlCounter {
    /// The counter, installed as the global subscriber on first use.
    /// Panics if another global subscriber was installed first.
    pub fn global() -> &'static SqlCounter {
        static COUNTER: OnceLock<&'static SqlCounter> = OnceLock::new();
        COUNTER.get_or_init(|| {
            let counter: &'static SqlCounter = Box::leak(Box::new(SqlCounter {
                on: AtomicBool::new(false),
                log: Mutex::new(Vec::new()),
                lock: tokio::sync::Mutex::new(()),
            }));
            tracing::subscriber::set_global_default(Sub(counter))
                .expect("no other global tracing subscriber");
            tracing::callsite::rebuild_interest_cache();
            counter
        })
    }

    /// Serialise the callers that count (one counter per process).
    pub async fn exclusive(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.lock.lock().await
    }

    /// Clear the log and record from now on.
    pub fn start(&self) {
        self.log.lock().unwrap().clear();
        self.on.store(true, Ordering::SeqCst);
    }

    /// Stop recording.
    pub fn stop(&self) {
        self.on.store(false, Ordering::SeqCst);
    }

    /// The statements recorded since the last call (or [`start`](Self::start)).
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

/// Whether `sql` is one of the sweeper's batched deletes (`DELETE … IN
/// (SELECT … LIMIT $2)`): the demo's sweeper runs once at start and then
/// every minute, independently of any request.
pub fn is_sweep(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    upper.trim_start().starts_with("DELETE") && upper.contains(" LIMIT ")
}

/// A statement reduced to its verb and the store table it names (the table
/// name without `prefix`), e.g. `UPDATE authorization_codes`, `BEGIN`.
pub fn shape(sql: &str, prefix: &str) -> String {
    let verb = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    let table = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find_map(|word| word.strip_prefix(prefix))
        .filter(|t| !t.is_empty());
    match table {
        Some(t) => format!("{verb} {t}"),
        None => verb,
    }
}
