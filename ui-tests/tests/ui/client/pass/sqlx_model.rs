//! An existing sqlx model: `FromRow` and the derive side by side, a `Uuid`
//! id, separated strings, JSON columns, unmapped fields; warning-free under
//! the host's own strict lints.
#![deny(missing_docs, warnings)]

use sqlx::types::Json;

/// One row of the host's `clients` table.
#[derive(sqlx::FromRow, attesto::OAuthClient)]
pub struct Client {
    #[attesto(client_id)]
    id: uuid::Uuid,
    #[attesto(secret_hash)]
    secret_hash: Option<String>,
    #[attesto(redirect_uris, separator = " ")]
    redirect_uris: String,
    #[attesto(grant_types)]
    grants: Json<Vec<String>>,
    #[attesto(auth_method)]
    method: String,
    #[attesto(jwks)]
    jwks: Option<Json<serde_json::Value>>,
    #[attesto(jwks_uri)]
    jwks_uri: Option<String>,
    #[attesto(public)]
    is_public: bool,
    #[attesto(scopes, separator = " ")]
    scope: Option<String>,
    #[attesto(dpop_bound_access_tokens)]
    dpop: Option<bool>,
    #[attesto(post_logout_redirect_uris)]
    logout_uris: Option<Json<Vec<String>>>,
    name: String,
}

fn assert_client<C: attesto::host::OAuthClient>() {}

fn main() {
    assert_client::<Client>();
}
