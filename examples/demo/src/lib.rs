//! The attesto demo: a complete OAuth 2.0 / OpenID Connect authorization
//! server with nothing else to install.
//!
//! ```text
//! cargo run -p attesto-demo
//! ```
//!
//! serves on <http://127.0.0.1:8080>: discovery, JWKS, open dynamic client
//! registration, the authorization endpoint with real HTML login and consent
//! pages, token / revocation / introspection / userinfo, and a protected API
//! at `/api/me` that echoes the caller's token claims.
//!
//! Codes, tokens and registered clients live in a database: SQLite by
//! default (`sqlite://attesto-demo.db?mode=rwc`, created and migrated at
//! start), PostgreSQL with `--database-url postgres://…` (shared by every
//! node of a cluster), or `memory:` (nothing persists). Browser sessions
//! (login cookies) stay in each node's memory: a browser flow must stick to
//! one node, the token-side flows may hop between nodes. The signing keys
//! (ES256 for access tokens, RS256 for ID tokens; the JWKS publishes both)
//! and the server secret are persisted next to each other (see
//! [`keyfile`]); every node of a cluster must use the same ones.
//!
//! The binary is a thin wrapper over [`run`]; tests build the same router
//! with [`app`] (memory) or [`connect`] (any database URL) and serve it on a
//! loopback port.

mod api;
mod clients;
mod host;
pub mod keyfile;
mod pages;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use attesto::host::TracingSink;
use attesto::jose::{Algorithm, SigningKey, StaticKeystore};
use attesto::secret::{OsRandom, RandomSource, Secret};
use attesto::server::{AuthorizationServer, ServerConfig};
use attesto::store::Stores;
use attesto::store::memory::MemoryStores;
use attesto_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use attesto_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use attesto_sqlx::{PgStores, SqliteStores, Sweeper, SweeperHandle, TablePrefix};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Extension, Router};
use tower_http::trace::TraceLayer;

pub use clients::ClientDbError;
pub use host::{
    DemoClient, DemoHost, DemoUser, MAX_CLIENTS, MAX_SESSIONS, SESSION_COOKIE, SESSION_TTL,
};
pub use pages::escape;

/// The default `--database-url`: a SQLite file in the working directory,
/// created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://attesto-demo.db?mode=rwc";

/// How often the sweeper deletes expired rows.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Rows the sweeper deletes per statement.
pub const SWEEP_BATCH: u32 = 500;

/// The scopes the demo server knows.
pub const SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "api.read",
    "api.write",
];

/// The path of the demo's protected API.
pub const API_ME_PATH: &str = "/api/me";

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The server configuration is invalid (for example a non-loopback `http` issuer).
    #[error("configuration: {0}")]
    Config(#[from] attesto::server::ConfigError),
    /// The signing key could not be used.
    #[error("keystore: {0}")]
    Keystore(#[from] attesto::jose::KeystoreError),
    /// The server could not be built.
    #[error("server: {0}")]
    Build(#[from] attesto::server::BuildError),
    /// The key or secret file could not be used.
    #[error("{0}")]
    KeyFile(#[from] keyfile::KeyFileError),
    /// The database URL names no supported backend (only its scheme is
    /// kept: a database URL may carry a password).
    #[error(
        "--database-url with scheme `{0}` is not supported: use sqlite://…, postgres://… or memory:"
    )]
    UnsupportedDatabase(String),
    /// The database could not be opened or migrated.
    #[error("database {target}: {source}")]
    Database {
        /// The database's scheme and host (never its password).
        target: String,
        /// What failed.
        #[source]
        source: attesto_sqlx::SetupError,
    },
    /// The demo's clients table could not be created.
    #[error("clients table: {0}")]
    ClientTable(#[from] ClientDbError),
    /// The sweeper could not be started.
    #[error("sweeper: {0}")]
    Sweeper(#[from] attesto_sqlx::SweeperError),
    /// Key generation failed.
    #[error("key generation failed")]
    Generate,
    /// The listener could not be bound or the server failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What the demo server needs to run.
#[derive(Debug)]
#[non_exhaustive]
pub struct DemoConfig {
    /// The issuer identifier (`https`, or `http` on a loopback host).
    pub issuer: String,
    /// The demo user's name.
    pub user: String,
    /// The demo user's password.
    pub password: Secret,
    /// The access-token signing key (ES256).
    pub signing_key: SigningKey,
    /// The ID-token signing key (RS256). `None`: a fresh one is generated
    /// when the demo is built (every node of a cluster must be given the
    /// same key, or ID tokens from one node fail on another's JWKS).
    pub id_token_key: Option<SigningKey>,
    /// The server secret (at least 32 bytes).
    pub server_secret: Secret,
    /// The table prefix in SQLite / PostgreSQL (default `attesto_`): lets
    /// tests share one database without sharing state. Not a CLI flag.
    pub table_prefix: Option<TablePrefix>,
    /// How long a database operation waits for a pool connection before the
    /// request fails with 503 (default: attesto-sqlx's 5 s). Not a CLI flag.
    pub acquire_timeout: Option<Duration>,
}

impl DemoConfig {
    /// A configuration for `issuer` with the default user `alice` / `wonderland`.
    #[must_use]
    pub fn new(issuer: impl Into<String>, signing_key: SigningKey, server_secret: Secret) -> Self {
        DemoConfig {
            issuer: issuer.into(),
            user: "alice".into(),
            password: Secret::new("wonderland"),
            signing_key,
            id_token_key: None,
            server_secret,
            table_prefix: None,
            acquire_timeout: None,
        }
    }

    /// A configuration with a fresh, unsaved ES256 key and server secret (tests).
    ///
    /// # Errors
    /// [`DemoError::Generate`] when key generation or randomness fails.
    pub fn ephemeral(issuer: impl Into<String>) -> Result<Self, DemoError> {
        let key = SigningKey::generate(Algorithm::ES256).map_err(|_| DemoError::Generate)?;
        let secret = OsRandom.token(32).map_err(|_| DemoError::Generate)?;
        Ok(Self::new(issuer, key, Secret::new(secret)))
    }

    /// Sign ID tokens with `key` (RS256; see [`keyfile::load_or_generate_id_token_key`]).
    #[must_use]
    pub fn with_id_token_key(mut self, key: SigningKey) -> Self {
        self.id_token_key = Some(key);
        self
    }

    /// Keep the database tables under `prefix`.
    #[must_use]
    pub fn with_table_prefix(mut self, prefix: TablePrefix) -> Self {
        self.table_prefix = Some(prefix);
        self
    }

    /// Wait at most `timeout` for a database connection.
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = Some(timeout);
        self
    }

    /// Use another demo user.
    #[must_use]
    pub fn with_user(mut self, user: impl Into<String>, password: Secret) -> Self {
        self.user = user.into();
        self.password = password;
        self
    }
}

/// What the index page shows.
pub(crate) struct Info {
    pub(crate) issuer: String,
    pub(crate) register: String,
    pub(crate) api_me: String,
    pub(crate) user: String,
}

/// The demo's server configuration for `issuer`: every scope in [`SCOPES`],
/// open registration, and `<issuer>/api/me` as the default resource (the
/// access tokens' `aud`, and the one resource indicator clients may name).
///
/// # Errors
/// [`DemoError::Config`] for an unusable issuer.
pub fn server_config(issuer: &str) -> Result<ServerConfig, DemoError> {
    Ok(host::DemoHost::server_config(issuer)?)
}

/// The whole demo as one router, with everything in memory (tests): attesto's
/// endpoints and well-known documents, the login and consent pages, the
/// protected API and the index page.
///
/// # Errors
/// A [`DemoError`] when the configuration, key or server cannot be used.
pub fn app(config: DemoConfig) -> Result<Router, DemoError> {
    build(
        config,
        MemoryStores::new(),
        clients::ClientBackend::memory(),
    )
}

/// A running demo: its router, and the sweeper of its database (none in
/// memory mode).
#[non_exhaustive]
pub struct Demo {
    /// The whole demo (see [`app`]).
    pub router: Router,
    /// What the stores are (`sqlite`, `postgres://host` or `memory`; never a password).
    pub storage: String,
    sweeper: Option<SweeperHandle>,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl Demo {
    /// Stop the sweeper and wait for it.
    ///
    /// # Errors
    /// [`DemoError::Sweeper`] if the sweeper task had panicked.
    pub async fn shutdown(self) -> Result<(), DemoError> {
        if let Some(sweeper) = self.sweeper {
            sweeper.shutdown().await?;
        }
        Ok(())
    }
}

/// A database URL reduced to what may be printed: its scheme and host,
/// never a user name or password.
#[must_use]
pub fn describe_database_url(url: &str) -> String {
    if url.is_empty() || url == "memory:" {
        return "memory".into();
    }
    match url::Url::parse(url) {
        Ok(u) => match u.host_str() {
            Some(host) if !host.is_empty() => format!("{}://{host}", u.scheme()),
            _ => u.scheme().to_owned(),
        },
        Err(_) => {
            let scheme = url.split(':').next().unwrap_or("");
            if scheme.len() < 32
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+')
            {
                scheme.to_owned()
            } else {
                "?".into()
            }
        }
    }
}

/// Build the demo over the database at `url`: `sqlite:…` ([`SqliteStores`]),
/// `postgres://…` / `postgresql://…` ([`PgStores`]), both migrated here and
/// swept every [`SWEEP_INTERVAL`], or `memory:`. Registered clients go to the
/// demo's `demo_clients` table (under the table prefix) in the database modes.
///
/// # Errors
/// [`DemoError::UnsupportedDatabase`] for another scheme,
/// [`DemoError::Database`] when the database cannot be opened or migrated,
/// or any error of [`app`].
pub async fn connect(config: DemoConfig, url: &str) -> Result<Demo, DemoError> {
    let target = describe_database_url(url);
    let db_err = |source| DemoError::Database {
        target: target.clone(),
        source,
    };
    let prefix = config.table_prefix.clone().unwrap_or_default();
    let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
    let (router, sweeper) = match scheme.as_str() {
        "" | "memory" if url.is_empty() || url == "memory:" => (app(config)?, None),
        "sqlite" => {
            use std::str::FromStr as _;
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| db_err(attesto_sqlx::SetupError::Connect(e)))?
                .busy_timeout(attesto_sqlx::sqlite::DEFAULT_BUSY_TIMEOUT);
            let pool = SqlitePoolOptions::new()
                .max_connections(attesto_sqlx::sqlite::DEFAULT_MAX_CONNECTIONS)
                .acquire_timeout(
                    config
                        .acquire_timeout
                        .unwrap_or(attesto_sqlx::sqlite::DEFAULT_ACQUIRE_TIMEOUT),
                );
            let stores = SqliteStores::connect_with(options, pool)
                .await
                .map_err(db_err)?
                .with_prefix(prefix.clone())
                .migrate()
                .await
                .map_err(db_err)?;
            let sql = Arc::new(clients::ClientSql::new(&prefix.table("demo_clients")));
            let backend = clients::ClientBackend::Sqlite(stores.pool().clone(), sql);
            with_sweeper(config, stores, backend).await?
        }
        "postgres" | "postgresql" => {
            use std::str::FromStr as _;
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| db_err(attesto_sqlx::SetupError::Connect(e)))?;
            let pool = PgPoolOptions::new()
                .max_connections(attesto_sqlx::postgres::DEFAULT_MAX_CONNECTIONS)
                .acquire_timeout(
                    config
                        .acquire_timeout
                        .unwrap_or(attesto_sqlx::postgres::DEFAULT_ACQUIRE_TIMEOUT),
                );
            let stores = PgStores::connect_with(options, pool)
                .await
                .map_err(db_err)?
                .with_prefix(prefix.clone())
                .migrate()
                .await
                .map_err(db_err)?;
            let sql = Arc::new(clients::ClientSql::new(&prefix.table("demo_clients")));
            let backend = clients::ClientBackend::Postgres(stores.pool().clone(), sql);
            with_sweeper(config, stores, backend).await?
        }
        _ => {
            return Err(DemoError::UnsupportedDatabase(describe_database_url(
                &format!("{scheme}:"),
            )));
        }
    };
    Ok(Demo {
        router,
        storage: target,
        sweeper,
    })
}

async fn with_sweeper<S: Stores + Clone>(
    config: DemoConfig,
    stores: S,
    backend: clients::ClientBackend,
) -> Result<(Router, Option<SweeperHandle>), DemoError> {
    backend.create_table().await?;
    let router = build(config, stores.clone(), backend)?;
    let batch = std::num::NonZeroU32::new(SWEEP_BATCH).unwrap_or(std::num::NonZeroU32::MIN);
    let sweeper = Sweeper::spawn(stores, SWEEP_INTERVAL, batch)?;
    Ok((router, Some(sweeper)))
}

/// The demo's router over any stores.
fn build<S: Stores>(
    config: DemoConfig,
    stores: S,
    clients: clients::ClientBackend,
) -> Result<Router, DemoError> {
    let cfg = server_config(&config.issuer)?;
    let api_me = cfg.url(API_ME_PATH);
    let id_token_key = match config.id_token_key {
        Some(k) => k,
        None => SigningKey::generate(Algorithm::RS256).map_err(|_| DemoError::Generate)?,
    };
    let keys = Arc::new(
        StaticKeystore::builder()
            .key(config.signing_key)
            .key(id_token_key)
            .build()?,
    );
    let shared = Arc::new(host::Shared::new(
        cfg.issuer.starts_with("https://"),
        cfg.paths.authorize.clone(),
        api_me.clone(),
        config.user.clone(),
        config.password,
        Arc::new(OsRandom),
        clients,
    ));
    let info = Arc::new(Info {
        issuer: cfg.issuer.clone(),
        register: cfg.url(&cfg.paths.register),
        api_me,
        user: config.user,
    });
    let host = DemoHost {
        shared: Arc::clone(&shared),
    };
    let server = AuthorizationServer::builder(cfg, host, stores, keys)
        .server_secret(config.server_secret)
        .events(Arc::new(TracingSink))
        .build()?;
    let forms = Router::new()
        .route("/login", post(pages::post_login))
        .route("/consent", post(pages::post_consent))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(shared);
    let api = Router::new()
        .route(API_ME_PATH, get(api::me))
        .layer(Extension(server.resource_guard()));
    let index = Router::new().route("/", get(pages::index)).with_state(info);
    Ok(server
        .router()
        .merge(forms)
        .merge(api)
        .merge(index)
        .layer(TraceLayer::new_for_http()))
}

/// The demo's command line. Every flag can also be set through its
/// environment variable.
#[derive(Debug, clap::Parser)]
#[command(
    name = "attesto-demo",
    version,
    about = "The attesto demo authorization server"
)]
#[non_exhaustive]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "ATTESTO_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Issuer identifier [default: http://ADDR]. Must be https unless the host is loopback.
    #[arg(long, env = "ATTESTO_ISSUER")]
    pub issuer: Option<String>,
    /// Storage: `sqlite://FILE?mode=rwc`, `postgres://USER:PASSWORD@HOST/DB`
    /// (shared by a cluster's nodes) or `memory:` (nothing persists).
    #[arg(
        long,
        env = "ATTESTO_DATABASE_URL",
        hide_env_values = true,
        hide_default_value = false,
        default_value = DEFAULT_DATABASE_URL
    )]
    pub database_url: String,
    /// The private signing key (a JWK), generated (ES256, mode 0600) on first start.
    /// The RS256 ID-token key is kept next to it, as `<stem>.rs256.json`.
    /// The server secret is kept next to it, as `<stem>.secret`.
    #[arg(
        long,
        env = "ATTESTO_KEY_FILE",
        default_value = "./attesto-demo-key.json"
    )]
    pub key_file: PathBuf,
    /// The demo user's name.
    #[arg(long, env = "ATTESTO_USER", default_value = "alice")]
    pub user: String,
    /// The demo user's password.
    #[arg(
        long,
        env = "ATTESTO_PASSWORD",
        default_value = "wonderland",
        hide_env_values = true
    )]
    pub password: String,
}

impl Cli {
    /// The issuer: `--issuer`, or `http://<addr>`.
    #[must_use]
    pub fn issuer(&self) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }
}

#[allow(clippy::print_stdout)] // the start banner is the binary's user interface
fn banner(cli: &Cli, issuer: &str, generated: (bool, bool), storage: &str) {
    let cfg_key = cli.key_file.display();
    let id_key_path = keyfile::id_token_key_path(&cli.key_file);
    let id_key = id_key_path.display();
    let now = |g: bool| if g { " (generated now)" } else { "" };
    let (generated, id_generated) = (now(generated.0), now(generated.1));
    println!(
        "\nattesto demo: an OAuth 2.0 / OpenID Connect authorization server\n\n  \
issuer:     {issuer}\n  \
discovery:  {issuer}/.well-known/openid-configuration\n  \
demo user:  {user} / {password}\n  \
API:        {issuer}{API_ME_PATH}\n  \
key file:   {cfg_key}{generated} (ES256, access tokens)\n  \
ID tokens:  {id_key}{id_generated} (RS256)\n  \
storage:    {storage}{lost}\n\n\
Register a client and get a token:\n\n  \
curl -s -X POST {issuer}/oauth/register -H 'content-type: application/json' \\\n    \
-d '{{\"grant_types\":[\"client_credentials\"],\"scope\":\"api.read\"}}'\n\n  \
curl -s -u \"$CLIENT_ID:$CLIENT_SECRET\" -d grant_type=client_credentials -d scope=api.read {issuer}/oauth/token\n\n\
Press Ctrl-C to stop.\n",
        user = cli.user,
        password = cli.password,
        lost = if storage == "memory" {
            " (clients, tokens and sessions are lost on restart)"
        } else {
            " (browser sessions are per node, in memory)"
        },
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!(target: "attesto_demo", "shutting down");
}

/// Run the demo server until Ctrl-C (or SIGTERM).
///
/// # Errors
/// A [`DemoError`] when it cannot start.
pub async fn run(cli: Cli) -> Result<(), DemoError> {
    let issuer = cli.issuer();
    // Fail on a bad issuer before touching the key file.
    server_config(&issuer)?;
    let (key, generated) = keyfile::load_or_generate_key(&cli.key_file)?;
    let (id_token_key, id_generated) =
        keyfile::load_or_generate_id_token_key(&keyfile::id_token_key_path(&cli.key_file))?;
    let secret = keyfile::load_or_generate_secret(&keyfile::secret_path(&cli.key_file))?;
    let config = DemoConfig::new(issuer.clone(), key, secret)
        .with_id_token_key(id_token_key)
        .with_user(cli.user.clone(), Secret::new(cli.password.clone()));
    let demo = connect(config, &cli.database_url).await?;
    let listener = tokio::net::TcpListener::bind(cli.addr).await?;
    banner(
        &cli,
        issuer.trim_end_matches('/'),
        (generated, id_generated),
        &demo.storage,
    );
    tracing::info!(target: "attesto_demo", addr = %cli.addr, issuer = %issuer, storage = %demo.storage, "listening");
    let served = axum::serve(listener, demo.router.clone())
        .with_graceful_shutdown(shutdown_signal())
        .await;
    demo.shutdown().await?;
    served?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_macro_configuration_serves_exactly_the_documented_scopes() {
        let cfg = server_config("http://127.0.0.1:8080").unwrap();
        assert_eq!(cfg.scopes_supported, SCOPES);
        assert!(cfg.registration);
        assert_eq!(cfg.default_resource, "http://127.0.0.1:8080/api/me");
    }
}
