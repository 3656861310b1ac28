//! The attesto host over the application's tables: client and
//! principal lookups return the derived models; login is the application's
//! own cookie session. (`#[authorization_server]` generates the `Host` impls.)

use attesto::host::{Authentication, ClientLookup, LoginOutcome};
use attesto::server::AuthorizeContext;
use axum::response::{Html, IntoResponse, Response};

use crate::models::{Client, User};
use crate::{AppState, db};

/// The whole authorization-server configuration of the application: the
/// macro checks it at compile time and generates the `Host` parts and
/// `AppState::server_builder` from these methods.
#[attesto::authorization_server(scopes = ["openid", "profile", "email", "roles"])]
impl AppState {
    async fn find_client(&self, client_id: &str) -> Result<ClientLookup<Client>, sqlx::Error> {
        Ok(match db::client(&self.pool, client_id).await? {
            Some(c) => ClientLookup::Found(c),
            None => ClientLookup::NotFound,
        })
    }

    async fn find_principal(&self, subject_id: &str) -> Result<Option<User>, sqlx::Error> {
        match subject_id.parse::<i64>() {
            Ok(id) => db::user(&self.pool, id).await,
            Err(_) => Ok(None),
        }
    }

    async fn login(&self, ctx: &AuthorizeContext<'_>) -> LoginOutcome<Response> {
        match self.session_user(&ctx.parts.headers) {
            Some(id) => {
                LoginOutcome::Authenticated(Authentication::new(id.to_string()).amr(["pwd"]))
            }
            None if ctx.options.no_interaction => {
                LoginOutcome::InteractionRequired(attesto::host::InteractionRequired::Login)
            }
            None => LoginOutcome::Respond(login_page(ctx.resume).into_response()),
        }
    }
    // consent: the default grants the requested scopes (first-party clients).
}

/// The login form; `return_to` re-enters the authorization request.
pub(crate) fn login_page(return_to: &str) -> Html<String> {
    let return_to = escape(return_to);
    Html(format!(
        "<!doctype html><title>Sign in</title><form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"return_to\" value=\"{return_to}\">\
         <input name=\"username\"> <input name=\"password\" type=\"password\">\
         <button>Sign in</button></form>"
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
