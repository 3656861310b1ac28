//! An existing sqlx user model deriving `Principal` next to `FromRow`.
#![deny(missing_docs, warnings)]

use sqlx::types::Json;

/// One row of the host's `users` table.
#[derive(sqlx::FromRow, attesto::Principal)]
#[attesto(kind = "user", sub_prefix = "usr_")]
pub struct User {
    #[attesto(subject)]
    id: uuid::Uuid,
    #[attesto(claim)]
    email: String,
    #[attesto(claim)]
    email_verified: bool,
    #[attesto(claim = "name")]
    display_name: Option<String>,
    #[attesto(claim = "roles", scope = "roles")]
    roles: Json<Vec<String>>,
    #[attesto(skip)]
    password_hash: String,
    created_at: i64,
}

fn assert_principal<P: attesto::host::Principal>() {}

fn main() {
    assert_principal::<User>();
}
