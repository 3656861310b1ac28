//! The hand-written attesto `Host` over the application's Diesel tables: client and
//! principal lookups return the derived models; login is the application's
//! own cookie session. (`#[authorization_server]` will generate this block.)

use attesto::host::{Authentication, ClientLookup, ClientRegistry, LoginOutcome, PrincipalStore};
use attesto::server::{AuthorizeContext, ClientRegistration, Interaction, ResourcePolicy};
use axum::response::{Html, IntoResponse, Response};

use crate::AppState;
use crate::db::DbError;
use crate::models::{Client, User};

impl ClientRegistry for AppState {
    type Client = Client;
    type Error = DbError;

    async fn find_client(&self, client_id: &str) -> Result<ClientLookup<Client>, DbError> {
        Ok(match self.db.client(client_id).await? {
            Some(c) => ClientLookup::Found(c),
            None => ClientLookup::NotFound,
        })
    }
}

impl PrincipalStore for AppState {
    type Principal = User;
    type Error = DbError;

    async fn find_principal(&self, subject_id: &str) -> Result<Option<User>, DbError> {
        match subject_id.parse::<i64>() {
            Ok(id) => self.db.user(id).await,
            Err(_) => Ok(None),
        }
    }
}

impl Interaction for AppState {
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

impl ResourcePolicy for AppState {}
impl ClientRegistration for AppState {}

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
