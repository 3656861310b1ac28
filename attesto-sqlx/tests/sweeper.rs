//! The sweeper: expired rows of every table deleted in batches, live rows
//! kept, one clock reading per sweep, its own prefix only, failures retried,
//! clean shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use attesto::clock::{Clock, FixedClock, UnixTime};
use attesto::store::memory::MemoryStores;
use attesto::store::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CachedClientMetadata, ClientMetadataCache,
    Confirmation, ConsentGrantRecord, ConsentGrantStore, ConsentOutcome, DeviceCodeRecord,
    DeviceCodeStatus, DeviceCodeStore, DpopNonceRecord, DpopNonceStore, FamilyId, LogoutSession,
    LogoutSessionStore, NewRefreshToken, ParOutcome, ParStore, PushedRequest, RefreshGrant,
    RefreshLookup, RefreshTokenStore, ReplayNamespace, ReplayOutcome, ReplayStore, Stores,
    TokenHash,
};
use attesto_sqlx::{Sweeper, SweeperError, SweptTable, TablePrefix};
use common::{PgDb, SqliteDb, random_hex};

/// The sweep instant of these tests.
const T: UnixTime = 1_500_000_000;

fn batch(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// One row in one table, with the reads that tell whether it is still there.
#[derive(Clone)]
struct Row {
    key: TokenHash,
    user: TokenHash,
    label: String,
}

impl Row {
    fn new() -> Self {
        Self {
            key: TokenHash::of(&random_hex(16)),
            user: TokenHash::of(&random_hex(16)),
            label: random_hex(8),
        }
    }
}

/// Insert `row` into every table, expiring at `expires_at`.
async fn seed<B: Stores>(stores: &B, row: &Row, expires_at: UnixTime) {
    let issued_at = T - 1_000;
    stores
        .authorization_codes()
        .insert(AuthorizationCodeRecord {
            code_hash: row.key,
            client_id: "client-sweep".into(),
            redirect_uri: None,
            scope: vec![],
            code_challenge: None,
            nonce: None,
            subject: "user-sweep".into(),
            auth_time: None,
            acr: None,
            amr: vec![],
            sid: None,
            resource: vec![],
            confirmation: Confirmation::none(),
            claims: None,
            issued_at,
            expires_at,
        })
        .await
        .unwrap();
    stores
        .refresh_tokens()
        .issue_family(
            FamilyId::new(row.label.clone()),
            T + 86_400,
            NewRefreshToken {
                token_hash: row.key,
                issued_at,
                expires_at,
                grant: RefreshGrant {
                    client_id: "client-sweep".into(),
                    subject: "user-sweep".into(),
                    scope: vec![],
                    resource: vec![],
                    confirmation: Confirmation::none(),
                    auth_time: None,
                    acr: None,
                    amr: vec![],
                    sid: None,
                    claims: None,
                },
            },
        )
        .await
        .unwrap();
    stores
        .par()
        .insert(PushedRequest {
            request_uri_hash: row.key,
            client_id: "client-sweep".into(),
            params: serde_json::Map::new(),
            issued_at,
            expires_at,
        })
        .await
        .unwrap();
    stores
        .dpop_nonces()
        .issue(DpopNonceRecord {
            nonce_hash: row.key,
            issued_at,
            expires_at,
        })
        .await
        .unwrap();
    assert_eq!(
        stores
            .replay()
            .check_and_record(ReplayNamespace::DpopProof, row.key, expires_at, issued_at)
            .await
            .unwrap(),
        ReplayOutcome::Fresh
    );
    stores
        .device_codes()
        .insert(DeviceCodeRecord {
            device_code_hash: row.key,
            user_code_hash: row.user,
            client_id: "client-sweep".into(),
            scope: vec![],
            resource: vec![],
            confirmation: Confirmation::none(),
            interval_seconds: 5,
            issued_at,
            expires_at,
            status: DeviceCodeStatus::Pending,
            approval: None,
            last_polled_at: None,
        })
        .await
        .unwrap();
    stores
        .consent_grants()
        .mint(ConsentGrantRecord {
            token_hash: row.key,
            binding_hash: row.user,
            subject: "user-sweep".into(),
            issued_at,
            expires_at,
        })
        .await
        .unwrap();
    stores
        .logout_sessions()
        .record(LogoutSession {
            sid: row.label.clone(),
            client_id: "client-sweep".into(),
            subject: "user-sweep".into(),
            backchannel_logout_uri: "https://client.example/logout".into(),
            session_required: true,
            recorded_at: issued_at,
            expires_at,
        })
        .await
        .unwrap();
    stores
        .client_metadata()
        .put(CachedClientMetadata {
            client_id: format!("https://client.example/{}", row.label),
            document: serde_json::Map::new(),
            etag: None,
            fetched_at: issued_at,
            expires_at,
        })
        .await
        .unwrap();
}

/// Which tables still hold `row`: every read is made at a time when the row
/// would be live, so "absent" means deleted. Consuming reads run last.
async fn present<B: Stores>(stores: &B, row: &Row) -> Vec<SweptTable> {
    let at = T - 500;
    let mut found = Vec::new();
    if stores
        .authorization_codes()
        .get(row.key, at)
        .await
        .unwrap()
        .is_some()
    {
        found.push(SweptTable::AuthorizationCodes);
    }
    if !matches!(
        stores.refresh_tokens().get(row.key, at).await.unwrap(),
        RefreshLookup::NotFound
    ) {
        found.push(SweptTable::RefreshTokens);
    }
    if matches!(
        stores
            .par()
            .fetch(row.key, "client-sweep", at)
            .await
            .unwrap(),
        ParOutcome::Found(_)
    ) {
        found.push(SweptTable::PushedRequests);
    }
    if stores.dpop_nonces().is_valid(row.key, at).await.unwrap() {
        found.push(SweptTable::DpopNonces);
    }
    if stores
        .device_codes()
        .find_pending(row.user, at)
        .await
        .unwrap()
        .is_some()
    {
        found.push(SweptTable::DeviceCodes);
    }
    if stores
        .client_metadata()
        .get(&format!("https://client.example/{}", row.label), at)
        .await
        .unwrap()
        .is_some()
    {
        found.push(SweptTable::ClientMetadata);
    }
    // Consuming probes (each row is only probed once per test).
    if stores
        .replay()
        .check_and_record(ReplayNamespace::DpopProof, row.key, T + 10_000, at)
        .await
        .unwrap()
        == ReplayOutcome::Replayed
    {
        found.push(SweptTable::Replay);
    }
    if matches!(
        stores
            .consent_grants()
            .consume(row.key, row.user, at)
            .await
            .unwrap(),
        ConsentOutcome::Consumed(_)
    ) {
        found.push(SweptTable::ConsentGrants);
    }
    if !stores
        .logout_sessions()
        .take_session(&row.label, at)
        .await
        .unwrap()
        .is_empty()
    {
        found.push(SweptTable::LogoutSessions);
    }
    found.sort();
    found
}

fn all_tables() -> Vec<SweptTable> {
    let mut all = SweptTable::ALL.to_vec();
    all.sort();
    all
}

// seed-catalog-3b Must-test 31 and 33: three expired rows, a boundary row
// (`expires_at == now`) and a future row in every table; batches of 2.
async fn expired_rows_are_deleted_in_batches_and_live_rows_kept<B: Stores + Clone>(stores: &B) {
    let expired: Vec<Row> = (0..3).map(|_| Row::new()).collect();
    for (i, row) in expired.iter().enumerate() {
        seed(stores, row, T - 1 - i64::try_from(i).unwrap()).await;
    }
    let boundary = Row::new();
    seed(stores, &boundary, T).await;
    let future = Row::new();
    seed(stores, &future, T + 1).await;

    let sweeper = Sweeper::new(stores.clone())
        .clock(FixedClock::new(T))
        .batch(batch(2));
    let report = sweeper.sweep_once().await;
    assert_eq!(report.now, T);
    assert!(report.failed.is_empty(), "{report:?}");
    assert!(!report.interrupted);
    for table in SweptTable::ALL {
        assert_eq!(
            report.deleted.get(&table),
            Some(&3),
            "{table:?}: three expired rows deleted, in batches of two"
        );
    }
    assert_eq!(report.total(), 27);
    let again = sweeper.sweep_once().await;
    assert_eq!(again.total(), 0, "nothing left to sweep: {again:?}");

    for row in &expired {
        assert_eq!(present(stores, row).await, Vec::<SweptTable>::new());
    }
    assert_eq!(
        present(stores, &boundary).await,
        all_tables(),
        "expires_at == now is kept"
    );
    assert_eq!(
        present(stores, &future).await,
        all_tables(),
        "future rows are kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_expired_rows_are_deleted_in_batches_and_live_rows_kept() {
    let db = SqliteDb::new();
    let stores = db.node(&TablePrefix::default()).await;
    expired_rows_are_deleted_in_batches_and_live_rows_kept(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_expired_rows_are_deleted_in_batches_and_live_rows_kept() {
    let Some(db) =
        PgDb::new("postgres_expired_rows_are_deleted_in_batches_and_live_rows_kept").await
    else {
        return;
    };
    let stores = db.node(&TablePrefix::default()).await;
    expired_rows_are_deleted_in_batches_and_live_rows_kept(&stores).await;
}

/// A clock that counts how often it is read.
#[derive(Default)]
struct CountingClock(AtomicUsize);

impl Clock for CountingClock {
    fn now(&self) -> UnixTime {
        self.0.fetch_add(1, Ordering::SeqCst);
        T
    }
}

// seed-catalog-3b Must-test 34
#[tokio::test]
async fn one_sweep_reads_the_clock_once() {
    let db = SqliteDb::new();
    let stores = db.node(&TablePrefix::default()).await;
    for i in 0..5 {
        seed(&stores, &Row::new(), T - 1 - i).await;
    }
    let clock = Arc::new(CountingClock::default());
    let report = Sweeper::new(stores)
        .clock(Arc::clone(&clock))
        .batch(batch(2))
        .sweep_once()
        .await;
    assert_eq!(report.total(), 45);
    assert_eq!(
        clock.0.load(Ordering::SeqCst),
        1,
        "one reading for every table and batch"
    );
}

// seed-catalog-3b Must-test 32
#[tokio::test]
async fn a_zero_interval_is_refused() {
    let err = Sweeper::spawn(MemoryStores::new(), Duration::ZERO, batch(10)).unwrap_err();
    assert!(matches!(err, SweeperError::ZeroInterval), "{err:?}");
}

#[test]
fn starting_outside_a_tokio_runtime_is_refused() {
    let err = Sweeper::spawn(MemoryStores::new(), Duration::from_secs(1), batch(10)).unwrap_err();
    assert!(matches!(err, SweeperError::NoRuntime), "{err:?}");
}

// seed-catalog-3b Must-test 35
#[tokio::test]
async fn the_sweeper_only_touches_its_own_prefix() {
    let db = SqliteDb::new();
    let mine = db.node(&TablePrefix::new("mine_").unwrap()).await;
    let theirs = db.node(&TablePrefix::default()).await;
    let row_mine = Row::new();
    let row_theirs = Row::new();
    seed(&mine, &row_mine, T - 1).await;
    seed(&theirs, &row_theirs, T - 1).await;
    let report = Sweeper::new(mine.clone())
        .clock(FixedClock::new(T))
        .sweep_once()
        .await;
    assert_eq!(report.total(), 9);
    assert!(present(&mine, &row_mine).await.is_empty());
    assert_eq!(present(&theirs, &row_theirs).await, all_tables());
}

async fn wait_until<F: AsyncFn() -> bool>(what: &str, condition: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_periodic_sweeper_deletes_expired_rows_and_shuts_down_cleanly() {
    let db = SqliteDb::new();
    let stores = db.node(&TablePrefix::default()).await;
    let clock = Arc::new(FixedClock::new(T));
    let handle = Sweeper::new(stores.clone())
        .clock(Arc::clone(&clock))
        .interval(Duration::from_millis(25))
        .batch(batch(2))
        .start()
        .unwrap();
    // Rows that expire later are swept once time passes them.
    let row = Row::new();
    seed(&stores, &row, T + 100).await;
    let live = Row::new();
    seed(&stores, &live, T + 10_000).await;
    clock.set(T + 101);
    let codes = stores.authorization_codes();
    wait_until("the expired code is swept", async || {
        codes.get(row.key, T - 500).await.unwrap().is_none()
    })
    .await;
    assert!(!handle.is_finished());
    handle.shutdown().await.unwrap();
    assert_eq!(present(&stores, &row).await, Vec::<SweptTable>::new());
    assert_eq!(present(&stores, &live).await, all_tables());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_table_is_retried_on_the_next_tick() {
    let db = SqliteDb::new();
    // Not migrated yet: every table fails.
    let stores = db.pool(4).await;
    let report = Sweeper::new(stores.clone())
        .clock(FixedClock::new(T))
        .sweep_once()
        .await;
    assert_eq!(report.failed.len(), 9, "{report:?}");
    assert!(report.deleted.is_empty());

    let handle = Sweeper::new(stores.clone())
        .clock(FixedClock::new(T))
        .interval(Duration::from_millis(25))
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(!handle.is_finished(), "errors do not stop the sweeper");
    stores.apply_migrations().await.unwrap();
    let row = Row::new();
    seed(&stores, &row, T - 1).await;
    let codes = stores.authorization_codes();
    wait_until("the sweeper recovers", async || {
        codes.get(row.key, T - 500).await.unwrap().is_none()
    })
    .await;
    handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutting_down_an_idle_sweeper_is_prompt() {
    let handle = Sweeper::new(MemoryStores::new())
        .interval(Duration::from_secs(3_600))
        .start()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), handle.shutdown())
        .await
        .expect("shutdown does not wait for the next tick")
        .unwrap();
}
