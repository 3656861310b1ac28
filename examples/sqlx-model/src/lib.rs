//! attesto on an application's existing sqlx models.
//!
//! The application already has `clients` and `users` tables and reads them
//! with `sqlx::FromRow` ([`models`]). It adds `#[derive(attesto::OAuthClient)]`
//! and `#[derive(attesto::Principal)]` to those structs, a small hand-written
//! `Host` (`src/host.rs`), attesto-sqlx's SQLite stores in the same
//! database file, and gets an OAuth 2.0 / OpenID Connect server.
//!
//! `cargo run -p sqlx-model` serves it on <http://127.0.0.1:8081>.

pub mod db;
mod host;
pub mod models;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use attesto::client_auth::SecretHasher;
use attesto::jose::{Algorithm, SigningKey, StaticKeystore};
use attesto::secret::{OsRandom, RandomSource, Secret, ct_eq, sha256_b64url};
use attesto_sqlx::SqliteStores;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use sqlx::SqlitePool;

/// The scopes the server knows; `roles` releases the custom `roles` claim.
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "roles"];

const SESSION_COOKIE: &str = "app_session";

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// attesto-sqlx setup.
    #[error("stores: {0}")]
    Stores(#[from] attesto_sqlx::SetupError),
    /// The server configuration.
    #[error("config: {0}")]
    Config(#[from] attesto::server::ConfigError),
    /// The signing keys.
    #[error("keys: {0}")]
    Keys(#[from] attesto::jose::KeystoreError),
    /// Key generation.
    #[error("jose: {0}")]
    Jose(#[from] attesto::jose::JoseError),
    /// The server.
    #[error("server: {0}")]
    Build(#[from] attesto::server::BuildError),
    /// The server secret is unusable, or randomness failed.
    #[error("the server secret is unusable")]
    Secret,
}

/// The application state: its database and its browser sessions.
#[derive(Clone)]
pub struct AppState {
    pool: SqlitePool,
    sessions: Arc<Mutex<HashMap<String, i64>>>,
}

impl AppState {
    /// The user of the request's session cookie, if any.
    fn session_user(&self, headers: &HeaderMap) -> Option<i64> {
        let token = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == SESSION_COOKIE)?
            .1;
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.get(&sha256_b64url(token.as_bytes())).copied()
    }
}

/// The application: attesto's endpoints plus its own `/login`.
///
/// `database_url` is a sqlx SQLite URL (`sqlite::memory:`, or
/// `sqlite://app.db?mode=rwc`); `server_secret` keys the stored client
/// secret hashes, so it must stay the same for a persistent database.
///
/// # Errors
/// An [`Error`] when the database, configuration or keys are unusable.
pub async fn app(database_url: &str, issuer: &str, server_secret: Secret) -> Result<Router, Error> {
    let stores = SqliteStores::connect(database_url).await?.migrate().await?;
    let pool = stores.pool().clone();
    let hasher = SecretHasher::new(server_secret.expose().as_bytes()).map_err(|_| Error::Secret)?;
    db::setup(&pool, &hasher).await?;

    let keys = Arc::new(
        StaticKeystore::builder()
            .key(SigningKey::generate(Algorithm::ES256)?)
            // ID tokens are RS256 by default (OIDC Discovery §3)
            .key(SigningKey::generate(Algorithm::RS256)?)
            .build()?,
    );
    let state = AppState {
        pool,
        sessions: Arc::default(),
    };
    let server = state
        .clone()
        .server_builder(issuer, stores, keys)?
        .server_secret(server_secret)
        .build()?;
    let login = Router::new()
        .route("/login", post(post_login))
        .with_state(state);
    Ok(server.router().merge(login))
}

/// The login form's fields.
#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    return_to: String,
}

async fn post_login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    // Only same-origin paths: never an open redirect.
    if !form.return_to.starts_with('/') || form.return_to.starts_with("//") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let user = match db::user_by_name(&state.pool, &form.username).await {
        Ok(u) => u,
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let ok = user.as_ref().is_some_and(|u| {
        ct_eq(
            u.password_sha256.as_bytes(),
            sha256_b64url(form.password.as_bytes()).as_bytes(),
        )
    });
    let (Some(user), true) = (user, ok) else {
        return (StatusCode::UNAUTHORIZED, host::login_page(&form.return_to)).into_response();
    };
    let Ok(token) = OsRandom.token(32) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    state
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(sha256_b64url(token.as_bytes()), user.id);
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax");
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&form.return_to),
    )
        .into_response()
}
