//! The application's own models, as it had them before attesto: rows of its
//! `clients` and `users` tables, read with `sqlx::FromRow`. Deriving
//! attesto's traits is the only addition: each `#[attesto(...)]` maps a
//! column to the client contract (RFC 7591 §2 metadata) or to a claim.

use sqlx::types::Json;

/// One row of `clients`.
#[derive(Debug, Clone, sqlx::FromRow, attesto::OAuthClient)]
pub struct Client {
    /// The client identifier.
    #[attesto(client_id)]
    pub id: String,
    /// Shown on the application's admin pages.
    pub name: String,
    /// attesto's keyed hash of the client secret (`NULL` for public clients).
    #[attesto(secret_hash)]
    pub secret_hash: Option<String>,
    /// Space-separated redirect URIs.
    #[attesto(redirect_uris, separator = " ")]
    pub redirect_uris: String,
    /// A JSON array of grant types.
    #[attesto(grant_types)]
    pub grant_types: Json<Vec<String>>,
    /// `client_secret_basic`, `none`, … (anything else makes the client unusable).
    #[attesto(auth_method)]
    pub auth_method: String,
    /// Whether this is a public client (no secret, PKCE only).
    #[attesto(public)]
    pub is_public: bool,
    /// Space-separated scopes the client may ask for; `NULL` defers to the server.
    #[attesto(scopes, separator = " ")]
    pub scope: Option<String>,
    /// When the row was created (seconds since the epoch).
    pub created_at: i64,
}

/// One row of `users`.
#[derive(Debug, Clone, sqlx::FromRow, attesto::Principal)]
#[attesto(kind = "user", sub_prefix = "usr_")]
pub struct User {
    /// The local identifier: `sub` is `usr_` followed by it.
    #[attesto(subject)]
    pub id: i64,
    /// Login name.
    #[attesto(claim = "preferred_username")]
    pub username: String,
    /// SHA-256 of the password (an example; use a password hash in production).
    #[attesto(skip)]
    pub password_sha256: String,
    /// Released with scope `email`.
    #[attesto(claim)]
    pub email: String,
    /// Released with scope `email`.
    #[attesto(claim)]
    pub email_verified: bool,
    /// Released with scope `profile`; omitted when `NULL`.
    #[attesto(claim = "name")]
    pub display_name: Option<String>,
    /// A custom claim, released only with scope `roles`.
    #[attesto(claim = "roles", scope = "roles")]
    pub roles: Json<Vec<String>>,
}
