//! Where the demo keeps registered clients: a `HashMap` in memory mode, or
//! the demo's own `demo_clients` table (under the stores' table prefix) when
//! the stores are SQLite or PostgreSQL, so that every node of a cluster
//! knows every client.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use attesto_sqlx::sqlx::{self, AssertSqlSafe, PgPool, SqlitePool};

use crate::host::{ClientRecord, DemoClient, MAX_CLIENTS};

/// A client registry backend failure (the server answers 503).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientDbError {
    /// The database failed.
    #[error("client registry database: {0}")]
    Db(#[from] sqlx::Error),
    /// A stored client could not be read back (fail closed).
    #[error("a stored client record is malformed")]
    Corrupt,
}

/// The SQL the demo runs on its clients table.
pub(crate) struct ClientSql {
    create: String,
    select: String,
    count: String,
    insert: String,
    delete: String,
}

impl ClientSql {
    /// The statements for table `table` (an already validated, prefixed name).
    pub(crate) fn new(table: &str) -> Self {
        ClientSql {
            create: format!(
                "CREATE TABLE IF NOT EXISTS {table} (client_id TEXT PRIMARY KEY, metadata TEXT NOT NULL, secret_hash TEXT)"
            ),
            select: format!("SELECT metadata, secret_hash FROM {table} WHERE client_id = $1"),
            count: format!("SELECT COUNT(*) FROM {table}"),
            insert: format!(
                "INSERT INTO {table} (client_id, metadata, secret_hash) VALUES ($1, $2, $3)"
            ),
            delete: format!("DELETE FROM {table} WHERE client_id = $1"),
        }
    }
}

/// The registry's storage.
pub(crate) enum ClientBackend {
    /// In memory (lost on restart, one node only).
    Memory(RwLock<HashMap<String, DemoClient>>),
    /// A SQLite table.
    Sqlite(SqlitePool, Arc<ClientSql>),
    /// A PostgreSQL table.
    Postgres(PgPool, Arc<ClientSql>),
}

/// Whether registration succeeded or the registry is full.
pub(crate) enum Inserted {
    Yes,
    Full,
}

fn decode(row: Option<(String, Option<String>)>) -> Result<Option<DemoClient>, ClientDbError> {
    match row {
        None => Ok(None),
        Some((metadata, secret_hash)) => {
            let record: ClientRecord =
                serde_json::from_str(&metadata).map_err(|_| ClientDbError::Corrupt)?;
            Ok(Some(DemoClient::from_record(record, secret_hash)))
        }
    }
}

fn max_clients() -> i64 {
    i64::try_from(MAX_CLIENTS).unwrap_or(i64::MAX)
}

impl ClientBackend {
    /// An empty in-memory registry.
    pub(crate) fn memory() -> Self {
        ClientBackend::Memory(RwLock::new(HashMap::new()))
    }

    /// Create the clients table if it does not exist.
    pub(crate) async fn create_table(&self) -> Result<(), ClientDbError> {
        match self {
            ClientBackend::Memory(_) => {}
            ClientBackend::Sqlite(pool, sql) => {
                sqlx::query(AssertSqlSafe(sql.create.clone()))
                    .execute(pool)
                    .await?;
            }
            ClientBackend::Postgres(pool, sql) => {
                sqlx::query(AssertSqlSafe(sql.create.clone()))
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// The client `client_id`, if registered.
    pub(crate) async fn get(&self, client_id: &str) -> Result<Option<DemoClient>, ClientDbError> {
        match self {
            ClientBackend::Memory(map) => Ok(map
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(client_id)
                .cloned()),
            ClientBackend::Sqlite(pool, sql) => decode(
                sqlx::query_as::<_, (String, Option<String>)>(AssertSqlSafe(sql.select.clone()))
                    .bind(client_id)
                    .fetch_optional(pool)
                    .await?,
            ),
            ClientBackend::Postgres(pool, sql) => decode(
                sqlx::query_as::<_, (String, Option<String>)>(AssertSqlSafe(sql.select.clone()))
                    .bind(client_id)
                    .fetch_optional(pool)
                    .await?,
            ),
        }
    }

    /// Remove the client `client_id` (RFC 7592 deletion); removing an
    /// absent client is not an error.
    pub(crate) async fn remove(&self, client_id: &str) -> Result<(), ClientDbError> {
        match self {
            ClientBackend::Memory(map) => {
                map.write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(client_id);
            }
            ClientBackend::Sqlite(pool, sql) => {
                sqlx::query(AssertSqlSafe(sql.delete.clone()))
                    .bind(client_id)
                    .execute(pool)
                    .await?;
            }
            ClientBackend::Postgres(pool, sql) => {
                sqlx::query(AssertSqlSafe(sql.delete.clone()))
                    .bind(client_id)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Store a newly registered client (at most [`MAX_CLIENTS`]).
    pub(crate) async fn insert(&self, client: DemoClient) -> Result<Inserted, ClientDbError> {
        let record = client.record();
        let metadata = || serde_json::to_string(record).map_err(|_| ClientDbError::Corrupt);
        match self {
            ClientBackend::Memory(map) => {
                let mut map = map.write().unwrap_or_else(PoisonError::into_inner);
                if map.len() >= MAX_CLIENTS {
                    return Ok(Inserted::Full);
                }
                map.insert(client.client_id_str().to_owned(), client.clone());
            }
            ClientBackend::Sqlite(pool, sql) => {
                let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql.count.clone()))
                    .fetch_one(pool)
                    .await?;
                if n >= max_clients() {
                    return Ok(Inserted::Full);
                }
                sqlx::query(AssertSqlSafe(sql.insert.clone()))
                    .bind(client.client_id_str())
                    .bind(metadata()?)
                    .bind(client.secret_hash_str())
                    .execute(pool)
                    .await?;
            }
            ClientBackend::Postgres(pool, sql) => {
                let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql.count.clone()))
                    .fetch_one(pool)
                    .await?;
                if n >= max_clients() {
                    return Ok(Inserted::Full);
                }
                sqlx::query(AssertSqlSafe(sql.insert.clone()))
                    .bind(client.client_id_str())
                    .bind(metadata()?)
                    .bind(client.secret_hash_str())
                    .execute(pool)
                    .await?;
            }
        }
        Ok(Inserted::Yes)
    }
}
