//! Migrations, table prefixes, and what the tables hold, on both backends.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use attesto::store::{
    AuthorizationCodeRecord, AuthorizationCodeStore, Confirmation, FamilyId, NewRefreshToken,
    RefreshGrant, RefreshTokenStore, Stores, TokenHash,
};
use attesto_sqlx::sqlx::{self, AssertSqlSafe};
use attesto_sqlx::{SetupError, TablePrefix};
use common::{PgDb, SQLITE_POOL, SqliteDb, random_hex};

const T0: i64 = 1_700_000_000;

fn code(hash: TokenHash) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        code_hash: hash,
        client_id: "client-a".into(),
        redirect_uri: Some("https://client.example/cb".into()),
        scope: vec!["openid".into()],
        code_challenge: None,
        nonce: Some("nonce-1".into()),
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

fn refresh(hash: TokenHash) -> NewRefreshToken {
    NewRefreshToken {
        token_hash: hash,
        issued_at: T0,
        expires_at: T0 + 3_600,
        grant: RefreshGrant {
            client_id: "client-a".into(),
            subject: "user-1".into(),
            scope: vec!["offline_access".into()],
            resource: vec![],
            confirmation: Confirmation::none(),
            auth_time: None,
            acr: None,
            amr: vec![],
            sid: None,
            claims: None,
        },
    }
}

// ---------------------------------------------------------------------------
// Migrations

#[tokio::test]
async fn sqlite_applying_migrations_twice_is_a_noop() {
    let db = SqliteDb::new();
    let stores = db.pool(SQLITE_POOL).await;
    assert_eq!(stores.apply_migrations().await.unwrap(), [1]);
    assert!(stores.apply_migrations().await.unwrap().is_empty());
    // A second "node" starting later finds nothing to do either.
    let other = db.pool(SQLITE_POOL).await;
    assert!(other.apply_migrations().await.unwrap().is_empty());
    let hash = TokenHash::of("code-after-migrations");
    other
        .authorization_codes()
        .insert(code(hash))
        .await
        .unwrap();
    assert!(
        stores
            .authorization_codes()
            .get(hash, T0)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn postgres_applying_migrations_twice_is_a_noop() {
    let Some(db) = PgDb::new("postgres_applying_migrations_twice_is_a_noop").await else {
        return;
    };
    let stores = db.pool(4).await;
    assert_eq!(stores.apply_migrations().await.unwrap(), [1]);
    assert!(stores.apply_migrations().await.unwrap().is_empty());
    let other = db.pool(4).await;
    assert!(other.apply_migrations().await.unwrap().is_empty());
    let hash = TokenHash::of("code-after-migrations");
    other
        .authorization_codes()
        .insert(code(hash))
        .await
        .unwrap();
    assert!(
        stores
            .authorization_codes()
            .get(hash, T0)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_migrations_do_not_fail() {
    let Some(db) = PgDb::new("postgres_concurrent_migrations_do_not_fail").await else {
        return;
    };
    let mut nodes = Vec::new();
    for _ in 0..6 {
        nodes.push(db.pool(2).await);
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(nodes.len()));
    let mut tasks = tokio::task::JoinSet::new();
    for node in nodes {
        let barrier = std::sync::Arc::clone(&barrier);
        tasks.spawn(async move {
            barrier.wait().await;
            node.apply_migrations().await
        });
    }
    let mut applied = Vec::new();
    while let Some(result) = tasks.join_next().await {
        applied.push(result.unwrap().expect("a concurrent migrate() failed"));
    }
    assert_eq!(
        applied.iter().filter(|v| !v.is_empty()).count(),
        1,
        "exactly one node applied the migration: {applied:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_migrations_do_not_fail() {
    let db = SqliteDb::new();
    let mut nodes = Vec::new();
    for _ in 0..6 {
        nodes.push(db.pool(2).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for node in nodes {
        tasks.spawn(async move { node.apply_migrations().await });
    }
    let mut applied = Vec::new();
    while let Some(result) = tasks.join_next().await {
        applied.push(result.unwrap().expect("a concurrent migrate() failed"));
    }
    assert_eq!(
        applied.iter().filter(|v| !v.is_empty()).count(),
        1,
        "{applied:?}"
    );
}

#[tokio::test]
async fn sqlite_a_modified_or_unknown_migration_is_refused() {
    let db = SqliteDb::new();
    let stores = db.pool(1).await.migrate().await.unwrap();
    sqlx::query("UPDATE attesto_schema_migrations SET checksum = X'00' WHERE version = 1")
        .execute(stores.pool())
        .await
        .unwrap();
    assert!(matches!(
        stores.apply_migrations().await,
        Err(SetupError::ChecksumMismatch { version: 1 })
    ));
    sqlx::query("DELETE FROM attesto_schema_migrations")
        .execute(stores.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO attesto_schema_migrations (version, description, checksum) VALUES (99, 'future', X'00')")
        .execute(stores.pool())
        .await
        .unwrap();
    assert!(matches!(
        stores.apply_migrations().await,
        Err(SetupError::UnknownMigration { version: 99 })
    ));
}

#[tokio::test]
async fn postgres_a_failed_migration_leaves_nothing_behind() {
    let Some(db) = PgDb::new("postgres_a_failed_migration_leaves_nothing_behind").await else {
        return;
    };
    let stores = db.pool(2).await;
    // A table in the way makes the migration fail half-way through.
    sqlx::query("CREATE TABLE attesto_dpop_nonces (x INTEGER)")
        .execute(stores.pool())
        .await
        .unwrap();
    assert!(matches!(
        stores.apply_migrations().await,
        Err(SetupError::Migrate(_))
    ));
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name LIKE 'attesto\\_%'",
    )
    .fetch_one(stores.pool())
    .await
    .unwrap();
    assert_eq!(
        tables, 1,
        "only the pre-existing table is left (one transaction)"
    );
}

#[tokio::test]
async fn sqlite_connecting_to_an_unopenable_database_fails() {
    let err = attesto_sqlx::SqliteStores::connect("sqlite:///nonexistent-dir/x/y.db")
        .await
        .unwrap_err();
    assert!(matches!(err, SetupError::Connect(_)), "{err:?}");
    let err = attesto_sqlx::SqliteStores::connect("not a url")
        .await
        .unwrap_err();
    assert!(matches!(err, SetupError::Connect(_)), "{err:?}");
}

// ---------------------------------------------------------------------------
// Prefixes

/// Two bundles under different prefixes in one database do not see each
/// other's rows. seed-catalog-3b Must-test 35 (stores side).
async fn prefixes_are_independent<B: Stores>(a: &B, b: &B) {
    let hash = TokenHash::of(&format!("prefixed-{}", random_hex(8)));
    a.authorization_codes().insert(code(hash)).await.unwrap();
    assert!(
        a.authorization_codes()
            .get(hash, T0)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        b.authorization_codes()
            .get(hash, T0)
            .await
            .unwrap()
            .is_none()
    );
    // The same key can exist under both prefixes.
    b.authorization_codes().insert(code(hash)).await.unwrap();
    let family = FamilyId::new("family-shared-id");
    a.refresh_tokens()
        .issue_family(family.clone(), T0 + 86_400, refresh(TokenHash::of("rt-a")))
        .await
        .unwrap();
    b.refresh_tokens()
        .issue_family(family.clone(), T0 + 86_400, refresh(TokenHash::of("rt-b")))
        .await
        .unwrap();
}

#[tokio::test]
async fn sqlite_tables_under_different_prefixes_are_independent() {
    let db = SqliteDb::new();
    let a = db.node(&TablePrefix::default()).await;
    let b = db.node(&TablePrefix::new("tenant_b_").unwrap()).await;
    prefixes_are_independent(&a, &b).await;
}

#[tokio::test]
async fn postgres_tables_under_different_prefixes_are_independent() {
    let Some(db) = PgDb::new("postgres_tables_under_different_prefixes_are_independent").await
    else {
        return;
    };
    let a = db.node(&TablePrefix::default()).await;
    let b = db.node(&TablePrefix::new("tenant_b_").unwrap()).await;
    prefixes_are_independent(&a, &b).await;
}

#[tokio::test]
async fn sqlite_the_empty_prefix_works() {
    let db = SqliteDb::new();
    let stores = db.node(&TablePrefix::new("").unwrap()).await;
    let hash = TokenHash::of("unprefixed");
    stores
        .authorization_codes()
        .insert(code(hash))
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM authorization_codes")
        .fetch_one(stores.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);
}

// ---------------------------------------------------------------------------
// Hashes, never secrets

// seed-catalog-3b Must-test 3: no column of any row contains the raw code;
// the key is its SHA-256.
#[tokio::test]
async fn sqlite_codes_and_tokens_are_stored_only_as_hashes() {
    let db = SqliteDb::new();
    let stores = db.node(&TablePrefix::default()).await;
    let raw_code = format!("raw-code-{}", random_hex(16));
    let raw_token = format!("raw-refresh-{}", random_hex(16));
    stores
        .authorization_codes()
        .insert(code(TokenHash::of(&raw_code)))
        .await
        .unwrap();
    stores
        .refresh_tokens()
        .issue_family(
            FamilyId::new("fam-hash-check"),
            T0 + 86_400,
            refresh(TokenHash::of(&raw_token)),
        )
        .await
        .unwrap();
    let key: Vec<u8> = sqlx::query_scalar("SELECT code_hash FROM attesto_authorization_codes")
        .fetch_one(stores.pool())
        .await
        .unwrap();
    assert_eq!(key, TokenHash::of(&raw_code).as_bytes());
    // Checkpoint the WAL into the file and close, then look at every byte.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(stores.pool())
        .await
        .unwrap();
    stores.close().await;
    let mut bytes = std::fs::read(&db.path).unwrap();
    if let Ok(wal) = std::fs::read(db.path.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    for raw in [&raw_code, &raw_token] {
        assert!(
            !bytes.windows(raw.len()).any(|w| w == raw.as_bytes()),
            "the raw value {raw} must not be stored"
        );
    }
    assert!(
        bytes
            .windows(32)
            .any(|w| w == TokenHash::of(&raw_code).as_bytes()),
        "the hash is stored"
    );
}

#[tokio::test]
async fn postgres_codes_and_tokens_are_stored_only_as_hashes() {
    let Some(db) = PgDb::new("postgres_codes_and_tokens_are_stored_only_as_hashes").await else {
        return;
    };
    let stores = db.node(&TablePrefix::default()).await;
    let raw_code = format!("raw-code-{}", random_hex(16));
    let raw_token = format!("raw-refresh-{}", random_hex(16));
    stores
        .authorization_codes()
        .insert(code(TokenHash::of(&raw_code)))
        .await
        .unwrap();
    stores
        .refresh_tokens()
        .issue_family(
            FamilyId::new("fam-hash-check"),
            T0 + 86_400,
            refresh(TokenHash::of(&raw_token)),
        )
        .await
        .unwrap();
    let mut dump = String::new();
    for table in [
        "attesto_authorization_codes",
        "attesto_refresh_tokens",
        "attesto_refresh_families",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT CAST(t AS TEXT) FROM {table} t"
        )))
        .fetch_all(stores.pool())
        .await
        .unwrap();
        dump.push_str(&rows.join("\n"));
    }
    assert!(
        !dump.contains(&raw_code) && !dump.contains(&raw_token),
        "{dump}"
    );
    let key: Vec<u8> = sqlx::query_scalar("SELECT code_hash FROM attesto_authorization_codes")
        .fetch_one(stores.pool())
        .await
        .unwrap();
    assert_eq!(key, TokenHash::of(&raw_code).as_bytes());
}

// The pools the other tests use really are pools of many connections.
#[tokio::test]
async fn test_pools_have_many_connections() {
    let db = SqliteDb::new();
    let stores = db.pool(SQLITE_POOL).await;
    assert_eq!(stores.pool().options().get_max_connections(), SQLITE_POOL);
}

/// `sqlite::memory:` (for tests and demos) is one database for the whole
/// pool, and concurrent writers queue instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_an_in_memory_database_is_one_database_for_the_pool() {
    let stores = attesto_sqlx::SqliteStores::connect("sqlite::memory:")
        .await
        .unwrap()
        .migrate()
        .await
        .unwrap();
    assert_eq!(stores.pool().options().get_max_connections(), 1);
    attesto::store::conformance::run_all(&stores, &stores.clone()).await;
}
