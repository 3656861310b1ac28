//! How backend failures reach the store boundary: outages are `Unavailable`
//! (the server answers 503), undecodable rows `Corrupt`, unrepresentable
//! input `Invalid` — never a protocol outcome such as "not found".
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::str::FromStr as _;
use std::time::Duration;

use attesto::store::{
    AuthorizationCodeRecord, AuthorizationCodeStore, Confirmation, DpopNonceStore, ReplayNamespace,
    ReplayStore, StoreError, Stores, TokenHash,
};
use attesto_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use attesto_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use attesto_sqlx::sqlx::{self, Connection as _};
use attesto_sqlx::{PgStores, SqliteStores, TablePrefix};
use common::{PgDb, SqliteDb};

const T0: i64 = 1_700_000_000;

fn code(hash: TokenHash) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        code_hash: hash,
        client_id: "client-a".into(),
        redirect_uri: None,
        scope: vec!["openid".into()],
        code_challenge: None,
        nonce: None,
        subject: "user-1".into(),
        auth_time: None,
        acr: None,
        amr: vec![],
        sid: None,
        resource: vec![],
        confirmation: Confirmation::none(),
        claims: None,
        issued_at: T0,
        expires_at: T0 + 60,
    }
}

// ---------------------------------------------------------------------------
// Unavailable

async fn outage_is_unavailable<B: Stores>(stores: &B) {
    let err = stores
        .authorization_codes()
        .insert(code(TokenHash::of("x")))
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let err = stores
        .authorization_codes()
        .redeem(TokenHash::of("x"), T0)
        .await
        .unwrap_err();
    assert!(
        err.is_unavailable(),
        "a failed redeem is an outage, not NotFound: {err:?}"
    );
    let err = stores
        .replay()
        .check_and_record(ReplayNamespace::DpopProof, TokenHash::of("j"), T0 + 60, T0)
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
}

#[tokio::test]
async fn sqlite_a_closed_pool_is_unavailable() {
    let db = SqliteDb::new();
    let stores = db.node(&TablePrefix::default()).await;
    stores.close().await;
    outage_is_unavailable(&stores).await;
}

#[tokio::test]
async fn sqlite_unmigrated_tables_are_unavailable() {
    let db = SqliteDb::new();
    let stores = db.pool(2).await;
    outage_is_unavailable(&stores).await;
}

#[tokio::test]
async fn sqlite_a_held_write_lock_past_the_busy_timeout_is_unavailable() {
    let db = SqliteDb::new();
    db.node(&TablePrefix::default()).await.close().await;
    let options = SqliteConnectOptions::from_str(&db.url())
        .unwrap()
        .busy_timeout(Duration::from_millis(100));
    let stores =
        SqliteStores::connect_with(options.clone(), SqlitePoolOptions::new().max_connections(2))
            .await
            .unwrap();
    let mut blocker = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let err = stores
        .dpop_nonces()
        .accept(TokenHash::of("n"), T0)
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    assert_eq!(
        stores
            .dpop_nonces()
            .accept(TokenHash::of("n"), T0)
            .await
            .unwrap(),
        attesto::store::NonceOutcome::Unknown,
        "the store answers again once the lock is gone"
    );
}

#[tokio::test]
async fn postgres_an_unreachable_server_is_unavailable() {
    // Nothing listens on port 1 of the loopback interface.
    let options = PgConnectOptions::from_str("postgres://attesto@127.0.0.1:1/none").unwrap();
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy_with(options);
    outage_is_unavailable(&PgStores::new(pool)).await;
}

#[tokio::test]
async fn postgres_a_closed_pool_is_unavailable() {
    let Some(db) = PgDb::new("postgres_a_closed_pool_is_unavailable").await else {
        return;
    };
    let stores = db.node(&TablePrefix::default()).await;
    stores.close().await;
    outage_is_unavailable(&stores).await;
}

#[tokio::test]
async fn postgres_unmigrated_tables_are_unavailable() {
    let Some(db) = PgDb::new("postgres_unmigrated_tables_are_unavailable").await else {
        return;
    };
    outage_is_unavailable(&db.pool(2).await).await;
}

// ---------------------------------------------------------------------------
// Corrupt

/// A row whose JSON is valid but not the record's shape is refused as
/// corrupt on every read, and never honoured.
async fn undecodable_rows_are_corrupt<B: Stores>(stores: &B, corrupt: impl AsyncFnOnce(TokenHash)) {
    let hash = TokenHash::of("corrupt-code");
    stores
        .authorization_codes()
        .insert(code(hash))
        .await
        .unwrap();
    corrupt(hash).await;
    let err = stores
        .authorization_codes()
        .get(hash, T0 + 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    let err = stores
        .authorization_codes()
        .redeem(hash, T0 + 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

#[tokio::test]
async fn sqlite_an_undecodable_row_is_corrupt() {
    let db = SqliteDb::new();
    let stores = db.node(&TablePrefix::default()).await;
    let pool = stores.pool().clone();
    undecodable_rows_are_corrupt(&stores, async |hash: TokenHash| {
        sqlx::query("UPDATE attesto_authorization_codes SET scope = '{\"not\": \"a list\"}' WHERE code_hash = $1")
            .bind(hash.as_bytes().as_slice())
            .execute(&pool)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn postgres_an_undecodable_row_is_corrupt() {
    let Some(db) = PgDb::new("postgres_an_undecodable_row_is_corrupt").await else {
        return;
    };
    let stores = db.node(&TablePrefix::default()).await;
    let pool = stores.pool().clone();
    undecodable_rows_are_corrupt(&stores, async |hash: TokenHash| {
        sqlx::query("UPDATE attesto_authorization_codes SET scope = '{\"not\": \"a list\"}' WHERE code_hash = $1")
            .bind(hash.as_bytes().as_slice())
            .execute(&pool)
            .await
            .unwrap();
    })
    .await;
}

// ---------------------------------------------------------------------------
// Invalid / lossless

/// A NUL character inside a string field: SQLite stores it losslessly;
/// PostgreSQL text cannot hold it, which is `Invalid` input (a 4xx), not an
/// outage.
#[tokio::test]
async fn sqlite_strings_with_nul_characters_round_trip() {
    let db = SqliteDb::new();
    let stores = db.node(&TablePrefix::default()).await;
    let mut record = code(TokenHash::of("nul"));
    record.nonce = Some("before\0after".into());
    record.claims = Some(serde_json::json!({"k": "v\u{0}w", "n": 1.5, "big": u64::MAX}));
    stores
        .authorization_codes()
        .insert(record.clone())
        .await
        .unwrap();
    assert_eq!(
        stores
            .authorization_codes()
            .get(record.code_hash, T0)
            .await
            .unwrap(),
        Some(record)
    );
}

#[tokio::test]
async fn postgres_strings_with_nul_characters_are_invalid() {
    let Some(db) = PgDb::new("postgres_strings_with_nul_characters_are_invalid").await else {
        return;
    };
    let stores = db.node(&TablePrefix::default()).await;
    let mut text = code(TokenHash::of("nul-text"));
    text.nonce = Some("before\0after".into());
    let err = stores.authorization_codes().insert(text).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let mut json = code(TokenHash::of("nul-json"));
    json.claims = Some(serde_json::json!({"k": "v\u{0}w"}));
    let err = stores.authorization_codes().insert(json).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    // Everything else JSON can say survives JSONB.
    let mut rich = code(TokenHash::of("rich-json"));
    rich.claims =
        Some(serde_json::json!({"n": 1.5, "big": u64::MAX, "neg": -7, "nested": [{"a": null}]}));
    stores
        .authorization_codes()
        .insert(rich.clone())
        .await
        .unwrap();
    assert_eq!(
        stores
            .authorization_codes()
            .get(rich.code_hash, T0)
            .await
            .unwrap(),
        Some(rich)
    );
}
