//! Fixtures shared by the trybuild cases in `tests/ui/` (each case is its own
//! crate and depends on this one), and the runtime tests of generated code.
//!
//! Run the cases with `cargo test -p ui-tests --test ui`; after a deliberate
//! change to a diagnostic, `TRYBUILD=overwrite cargo test -p ui-tests --test ui`
//! and review the `.stderr` diff.

use std::borrow::Cow;

use attesto::host::{Authentication, LoginOutcome, OAuthClient, Principal};

pub use attesto::host::ClientLookup;
pub use attesto::server::AuthorizeContext;

/// The HTTP response type login and consent steps return.
pub type Response = axum::response::Response;

/// A minimal client model.
#[derive(Debug, Clone)]
pub struct Client {
    /// The client id.
    pub id: String,
}

impl OAuthClient for Client {
    fn client_id(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }
}

/// A minimal user model.
#[derive(Debug, Clone)]
pub struct User {
    /// The local id.
    pub id: String,
}

impl Principal for User {
    fn subject_id(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }
}

/// A backend error.
#[derive(Debug, thiserror::Error)]
#[error("database unavailable")]
pub struct DbError;

/// A lookup that finds every client.
///
/// # Errors
/// Never.
pub fn client(id: &str) -> Result<Option<Client>, DbError> {
    Ok(Some(Client { id: id.to_owned() }))
}

/// A lookup that finds every user.
///
/// # Errors
/// Never.
pub fn user(id: &str) -> Result<Option<User>, DbError> {
    Ok(Some(User { id: id.to_owned() }))
}

/// A login step that always says "alice".
#[must_use]
pub fn alice() -> LoginOutcome<Response> {
    LoginOutcome::Authenticated(Authentication::new("alice"))
}
