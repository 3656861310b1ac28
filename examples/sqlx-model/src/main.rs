//! `cargo run -p sqlx-model`: the example on <http://127.0.0.1:8081>, over an
//! in-memory SQLite database (or `APP_DATABASE_URL`, with `APP_SERVER_SECRET`
//! of at least 32 characters for a database that outlives the process).

use attesto::secret::{OsRandom, RandomSource, Secret};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = "127.0.0.1:8081";
    let issuer = format!("http://{addr}");
    let url = std::env::var("APP_DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".into());
    let secret = match std::env::var("APP_SERVER_SECRET") {
        Ok(s) => Secret::new(s),
        Err(_) => Secret::new(OsRandom.token(32)?),
    };
    let app = sqlx_model::app(&url, &issuer, secret).await?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!(
        "sqlx-model on {issuer}: clients `{}` (secret `{}`) and `{}`, user `{}` / `{}`",
        sqlx_model::db::WEB_CLIENT,
        sqlx_model::db::WEB_SECRET,
        sqlx_model::db::SPA_CLIENT,
        sqlx_model::db::USER,
        sqlx_model::db::PASSWORD
    );
    axum::serve(listener, app).await?;
    Ok(())
}
