//! The application's database access: one Diesel SQLite connection behind
//! a mutex, used from blocking tasks.

use std::sync::{Arc, Mutex, PoisonError};

use attesto::client_auth::SecretHasher;
use attesto::secret::sha256_b64url;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use crate::models::{Client, User};
use crate::schema::{clients, users};

/// The seeded confidential client.
pub const WEB_CLIENT: &str = "intranet";
/// Its secret.
pub const WEB_SECRET: &str = "intranet-secret-do-not-use-in-production";
/// The seeded public client.
pub const SPA_CLIENT: &str = "intranet-spa";
/// The clients' redirect URI.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
/// The seeded user.
pub const USER: &str = "bob";
/// His password.
pub const PASSWORD: &str = "builder";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS clients (
    id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, secret_hash TEXT,
    redirect_uris TEXT NOT NULL, grant_types TEXT NOT NULL, auth_method TEXT NOT NULL,
    is_public BOOLEAN NOT NULL, scope TEXT, dpop_bound BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id BIGINT PRIMARY KEY NOT NULL, username TEXT NOT NULL UNIQUE, password_sha256 TEXT NOT NULL,
    email TEXT NOT NULL, email_verified BOOLEAN NOT NULL, display_name TEXT, department TEXT
);
";

/// Why a query failed: the database, or a task that did not finish.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Diesel.
    #[error("database: {0}")]
    Diesel(#[from] diesel::result::Error),
    /// Connecting.
    #[error("connect: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// The blocking task was cancelled or panicked.
    #[error("database task failed")]
    Task,
    /// The server secret is unusable.
    #[error("the server secret is unusable")]
    Secret,
}

/// The application's database.
#[derive(Clone)]
pub struct Db(Arc<Mutex<SqliteConnection>>);

impl Db {
    /// Open `path` (a file name, or `:memory:`), create the tables and seed
    /// them when empty.
    ///
    /// # Errors
    /// A [`DbError`] when the database cannot be opened or written.
    pub fn open(path: &str, hasher: &SecretHasher) -> Result<Self, DbError> {
        let mut conn = SqliteConnection::establish(path)?;
        diesel::connection::SimpleConnection::batch_execute(&mut conn, SCHEMA)?;
        let seeded: i64 = clients::table.count().get_result(&mut conn)?;
        if seeded == 0 {
            let hash = hasher.hash(WEB_SECRET).map_err(|_| DbError::Secret)?;
            diesel::insert_into(clients::table)
                .values((
                    clients::id.eq(WEB_CLIENT),
                    clients::name.eq("Intranet"),
                    clients::secret_hash.eq(Some(hash.as_str())),
                    clients::redirect_uris.eq(REDIRECT_URI),
                    clients::grant_types.eq("authorization_code,client_credentials"),
                    clients::auth_method.eq("client_secret_basic"),
                    clients::is_public.eq(false),
                    clients::scope.eq(Some("openid profile email org")),
                    clients::dpop_bound.eq(false),
                ))
                .execute(&mut conn)?;
            diesel::insert_into(clients::table)
                .values((
                    clients::id.eq(SPA_CLIENT),
                    clients::name.eq("Intranet SPA"),
                    clients::secret_hash.eq(None::<String>),
                    clients::redirect_uris.eq(format!("{REDIRECT_URI}\nhttp://127.0.0.1:9/other")),
                    clients::grant_types.eq("authorization_code"),
                    clients::auth_method.eq("none"),
                    clients::is_public.eq(true),
                    clients::scope.eq(None::<String>),
                    clients::dpop_bound.eq(false),
                ))
                .execute(&mut conn)?;
            diesel::insert_into(users::table)
                .values((
                    users::id.eq(7_i64),
                    users::username.eq(USER),
                    users::password_sha256.eq(sha256_b64url(PASSWORD.as_bytes())),
                    users::email.eq("bob@example.com"),
                    users::email_verified.eq(false),
                    users::display_name.eq(Some("Bob")),
                    users::department.eq(Some("construction")),
                ))
                .execute(&mut conn)?;
        }
        Ok(Db(Arc::new(Mutex::new(conn))))
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, DbError> {
        let conn = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        })
        .await
        .map_err(|_| DbError::Task)?
        .map_err(DbError::from)
    }

    /// A client by id.
    ///
    /// # Errors
    /// A [`DbError`].
    pub async fn client(&self, id: &str) -> Result<Option<Client>, DbError> {
        let id = id.to_owned();
        self.run(move |c| {
            clients::table
                .find(id)
                .select(Client::as_select())
                .first(c)
                .optional()
        })
        .await
    }

    /// A user by local id.
    ///
    /// # Errors
    /// A [`DbError`].
    pub async fn user(&self, id: i64) -> Result<Option<User>, DbError> {
        self.run(move |c| {
            users::table
                .find(id)
                .select(User::as_select())
                .first(c)
                .optional()
        })
        .await
    }

    /// A user by login name.
    ///
    /// # Errors
    /// A [`DbError`].
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, DbError> {
        let name = name.to_owned();
        self.run(move |c| {
            users::table
                .filter(users::username.eq(name))
                .select(User::as_select())
                .first(c)
                .optional()
        })
        .await
    }
}
