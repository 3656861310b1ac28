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
//! Everything is in memory (`MemoryStores`, a `RwLock<HashMap>` client
//! registry, server-side browser sessions) except the signing key and the
//! server secret, which are persisted next to each other (see [`keyfile`]).
//!
//! The binary is a thin wrapper over [`run`]; tests build the same router
//! with [`app`] and serve it on a loopback port.

mod api;
mod host;
pub mod keyfile;
mod pages;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use attesto::host::TracingSink;
use attesto::jose::{Algorithm, SigningKey, StaticKeystore};
use attesto::secret::{OsRandom, RandomSource, Secret};
use attesto::server::{AuthorizationServer, ServerConfig};
use attesto::store::memory::MemoryStores;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Extension, Router};
use tower_http::trace::TraceLayer;

pub use host::{
    DemoClient, DemoHost, DemoUser, MAX_CLIENTS, MAX_SESSIONS, SESSION_COOKIE, SESSION_TTL,
};
pub use pages::escape;

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
    /// Only the in-memory store exists so far.
    #[error(
        "--database-url with scheme `{0}` is not supported yet: only `memory:` (the default) works until the attesto-sqlx backend lands"
    )]
    UnsupportedDatabase(String),
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
    /// The token signing key.
    pub signing_key: SigningKey,
    /// The server secret (at least 32 bytes).
    pub server_secret: Secret,
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
            server_secret,
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
    let issuer = issuer.trim_end_matches('/');
    Ok(ServerConfig::builder(issuer)
        .scopes(SCOPES)
        .registration(true)
        .default_resource(format!("{issuer}{API_ME_PATH}"))
        .build()?)
}

/// The whole demo as one router: attesto's endpoints and well-known
/// documents, the login and consent pages, the protected API and the index page.
///
/// # Errors
/// A [`DemoError`] when the configuration, key or server cannot be used.
pub fn app(config: DemoConfig) -> Result<Router, DemoError> {
    let cfg = server_config(&config.issuer)?;
    let api_me = cfg.url(API_ME_PATH);
    let keys = Arc::new(StaticKeystore::builder().key(config.signing_key).build()?);
    let shared = Arc::new(host::Shared::new(
        cfg.issuer.starts_with("https://"),
        cfg.paths.authorize.clone(),
        api_me.clone(),
        config.user.clone(),
        config.password,
        Arc::new(OsRandom),
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
    let server = AuthorizationServer::builder(cfg, host, MemoryStores::new(), keys)
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
    /// Storage backend. Only `memory:` (the default) is supported until attesto-sqlx lands.
    #[arg(long, env = "ATTESTO_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The private signing key (a JWK), generated (ES256, mode 0600) on first start.
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

/// Refuse any storage but memory, naming only the URL's scheme (a database
/// URL may carry a password).
///
/// # Errors
/// [`DemoError::UnsupportedDatabase`].
pub fn check_database_url(url: Option<&str>) -> Result<(), DemoError> {
    match url {
        None | Some("" | "memory:") => Ok(()),
        Some(other) => {
            let scheme = other.split(':').next().unwrap_or("").to_owned();
            Err(DemoError::UnsupportedDatabase(if scheme.len() < 32 {
                scheme
            } else {
                "?".into()
            }))
        }
    }
}

#[allow(clippy::print_stdout)] // the start banner is the binary's user interface
fn banner(cli: &Cli, issuer: &str, key_generated: bool) {
    let cfg_key = cli.key_file.display();
    let generated = if key_generated {
        " (generated now)"
    } else {
        ""
    };
    println!(
        "\nattesto demo: an OAuth 2.0 / OpenID Connect authorization server\n\n  \
issuer:     {issuer}\n  \
discovery:  {issuer}/.well-known/openid-configuration\n  \
demo user:  {user} / {password}\n  \
API:        {issuer}{API_ME_PATH}\n  \
key file:   {cfg_key}{generated}\n  \
storage:    memory (clients, tokens and sessions are lost on restart)\n\n\
Register a client and get a token:\n\n  \
curl -s -X POST {issuer}/oauth/register -H 'content-type: application/json' \\\n    \
-d '{{\"grant_types\":[\"client_credentials\"],\"scope\":\"api.read\"}}'\n\n  \
curl -s -u \"$CLIENT_ID:$CLIENT_SECRET\" -d grant_type=client_credentials -d scope=api.read {issuer}/oauth/token\n\n\
Press Ctrl-C to stop.\n",
        user = cli.user,
        password = cli.password,
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
    check_database_url(cli.database_url.as_deref())?;
    let issuer = cli.issuer();
    // Fail on a bad issuer before touching the key file.
    server_config(&issuer)?;
    let (key, generated) = keyfile::load_or_generate_key(&cli.key_file)?;
    let secret = keyfile::load_or_generate_secret(&keyfile::secret_path(&cli.key_file))?;
    let config = DemoConfig::new(issuer.clone(), key, secret)
        .with_user(cli.user.clone(), Secret::new(cli.password.clone()));
    let router = app(config)?;
    let listener = tokio::net::TcpListener::bind(cli.addr).await?;
    banner(&cli, issuer.trim_end_matches('/'), generated);
    tracing::info!(target: "attesto_demo", addr = %cli.addr, issuer = %issuer, "listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}
