//! `cargo run -p diesel-model`: the example on <http://127.0.0.1:8082>, over
//! in-memory SQLite databases (or the files `APP_DB` and `APP_STORES_URL`,
//! with `APP_SERVER_SECRET` of at least 32 characters for databases that
//! outlive the process).

use attesto::secret::{OsRandom, RandomSource, Secret};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = "127.0.0.1:8082";
    let issuer = format!("http://{addr}");
    let app_db = std::env::var("APP_DB").unwrap_or_else(|_| ":memory:".into());
    let stores = std::env::var("APP_STORES_URL").unwrap_or_else(|_| "sqlite::memory:".into());
    let secret = match std::env::var("APP_SERVER_SECRET") {
        Ok(s) => Secret::new(s),
        Err(_) => Secret::new(OsRandom.token(32)?),
    };
    let app = diesel_model::app(&app_db, &stores, &issuer, secret).await?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!(
        "diesel-model on {issuer}: clients `{}` (secret `{}`) and `{}`, user `{}` / `{}`",
        diesel_model::db::WEB_CLIENT,
        diesel_model::db::WEB_SECRET,
        diesel_model::db::SPA_CLIENT,
        diesel_model::db::USER,
        diesel_model::db::PASSWORD
    );
    axum::serve(listener, app).await?;
    Ok(())
}
