//! The application's Diesel models. Deriving attesto's traits next to
//! `Queryable` / `Selectable` is the only addition.

use diesel::prelude::*;

/// One row of `clients`.
#[derive(Debug, Clone, Queryable, Selectable, attesto::OAuthClient)]
#[diesel(table_name = crate::schema::clients, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Client {
    /// The client identifier.
    #[attesto(client_id)]
    pub id: String,
    /// Shown on the admin pages.
    pub name: String,
    /// attesto's keyed hash of the secret (`NULL` for public clients).
    #[attesto(secret_hash)]
    pub secret_hash: Option<String>,
    /// Newline-separated redirect URIs.
    #[attesto(redirect_uris, separator = "\n")]
    pub redirect_uris: String,
    /// Comma-separated grant types.
    #[attesto(grant_types, separator = ",")]
    pub grant_types: String,
    /// The RFC 7591 `token_endpoint_auth_method`.
    #[attesto(auth_method)]
    pub auth_method: String,
    /// Public client (PKCE, no secret).
    #[attesto(public)]
    pub is_public: bool,
    /// Space-separated scopes; `NULL` defers to the server.
    #[attesto(scope, separator = " ")]
    pub scope: Option<String>,
    /// RFC 9449 `dpop_bound_access_tokens`.
    #[attesto(dpop_bound_access_tokens)]
    pub dpop_bound: bool,
}

/// One row of `users`.
#[derive(Debug, Clone, Queryable, Selectable, attesto::Principal)]
#[diesel(table_name = crate::schema::users, check_for_backend(diesel::sqlite::Sqlite))]
#[attesto(sub_prefix = "emp_")]
pub struct User {
    /// The local id: `sub` is `emp_` followed by it.
    #[attesto(subject)]
    pub id: i64,
    /// Login name, released as `preferred_username` (scope `profile`).
    #[attesto(claim = "preferred_username")]
    pub username: String,
    /// Not a claim.
    #[attesto(skip)]
    pub password_sha256: String,
    /// Scope `email`.
    #[attesto(claim)]
    pub email: String,
    /// Scope `email`.
    #[attesto(claim)]
    pub email_verified: bool,
    /// Scope `profile`; omitted when `NULL`.
    #[attesto(claim = "name")]
    pub display_name: Option<String>,
    /// A custom claim, released only with scope `org`.
    #[attesto(claim = "department", scope = "org")]
    pub department: Option<String>,
}
