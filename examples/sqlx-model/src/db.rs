//! The application's schema and seed data (its own tables, next to
//! attesto's `attesto_*` tables in the same SQLite file).

use attesto::client_auth::SecretHasher;
use attesto::secret::sha256_b64url;
use sqlx::SqlitePool;

use crate::models::{Client, User};

/// The schema, applied at start (`IF NOT EXISTS`).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS clients (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    secret_hash   TEXT,
    redirect_uris TEXT NOT NULL,
    grant_types   TEXT NOT NULL,
    auth_method   TEXT NOT NULL,
    is_public     BOOLEAN NOT NULL,
    scope         TEXT,
    created_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id              INTEGER PRIMARY KEY NOT NULL,
    username        TEXT NOT NULL UNIQUE,
    password_sha256 TEXT NOT NULL,
    email           TEXT NOT NULL,
    email_verified  BOOLEAN NOT NULL,
    display_name    TEXT,
    roles           TEXT NOT NULL
);
";

/// The seeded confidential client (`client_credentials` and the code flow).
pub const WEB_CLIENT: &str = "web-app";
/// Its secret.
pub const WEB_SECRET: &str = "web-app-secret-do-not-use-in-production";
/// The seeded public client (code flow with PKCE).
pub const SPA_CLIENT: &str = "spa";
/// Where both send the browser back.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
/// The seeded user.
pub const USER: &str = "alice";
/// Her password.
pub const PASSWORD: &str = "wonderland";

/// Create the tables and, when empty, seed one user and two clients.
///
/// # Errors
/// Any database error, or a hasher that rejects the server secret.
pub async fn setup(pool: &SqlitePool, hasher: &SecretHasher) -> Result<(), crate::Error> {
    sqlx::raw_sql(SCHEMA).execute(pool).await?;
    let seeded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients")
        .fetch_one(pool)
        .await?;
    if seeded > 0 {
        return Ok(());
    }
    let hash = hasher.hash(WEB_SECRET).map_err(|_| crate::Error::Secret)?;
    let insert = "INSERT INTO clients (id, name, secret_hash, redirect_uris, grant_types, auth_method, is_public, scope, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)";
    sqlx::query(insert)
        .bind(WEB_CLIENT)
        .bind("Web app")
        .bind(hash.as_str())
        .bind(REDIRECT_URI)
        .bind(r#"["authorization_code","refresh_token","client_credentials"]"#)
        .bind("client_secret_basic")
        .bind(false)
        .bind("openid profile email roles")
        .execute(pool)
        .await?;
    sqlx::query(insert)
        .bind(SPA_CLIENT)
        .bind("Single-page app")
        .bind(None::<String>)
        .bind(format!("{REDIRECT_URI} http://127.0.0.1:9/other"))
        .bind(r#"["authorization_code"]"#)
        .bind("none")
        .bind(true)
        .bind(None::<String>)
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO users (id, username, password_sha256, email, email_verified, display_name, roles) VALUES (1, ?, ?, 'alice@example.com', TRUE, 'Alice', '[\"admin\",\"auditor\"]')")
        .bind(USER)
        .bind(sha256_b64url(PASSWORD.as_bytes()))
        .execute(pool)
        .await?;
    Ok(())
}

/// A client by id.
///
/// # Errors
/// Any database error.
pub async fn client(pool: &SqlitePool, id: &str) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM clients WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// A user by local id.
///
/// # Errors
/// Any database error.
pub async fn user(pool: &SqlitePool, id: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// A user by login name.
///
/// # Errors
/// Any database error.
pub async fn user_by_name(pool: &SqlitePool, name: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM users WHERE username = ?")
        .bind(name)
        .fetch_optional(pool)
        .await
}
