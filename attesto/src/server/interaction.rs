//! The host's login and consent steps, over HTTP.

use std::future::Future;

use axum::http::request::Parts;
use axum::response::Response;

use super::introspect::IntrospectedToken;
use crate::host::{Authentication, ConsentOutcome, LoginOptions, LoginOutcome};

/// What the host sees of an authorization request while it authenticates
/// the resource owner or asks for consent. Every field has been validated:
/// the client exists, the redirect URI is registered, PKCE is present.
#[derive(Debug)]
#[non_exhaustive]
pub struct AuthorizeContext<'a> {
    /// The incoming request (headers carry the host's session cookie).
    pub parts: &'a Parts,
    /// The client asking.
    pub client_id: &'a str,
    /// The (registered, exactly matched) redirect URI the response goes to.
    pub redirect_uri: &'a str,
    /// The scopes requested (after the scope policy).
    pub scopes: &'a [String],
    /// The resource indicators requested ([RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)), already allowed.
    pub resources: &'a [String],
    /// The `prompt` / `max_age` directives.
    pub options: &'a LoginOptions,
    /// The `login_hint` ([OIDC Core §3.1.2.1](https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest)),
    /// untrusted: a hint for the login form, never an identity.
    pub login_hint: Option<&'a str>,
    /// A same-origin path-and-query that re-enters the authorization
    /// endpoint with this exact request; send the browser back here once
    /// the login or consent step is done.
    pub resume: &'a str,
}

/// The host's resource-owner interaction: login, then consent.
///
/// Return [`LoginOutcome::Respond`] / [`ConsentOutcome::Respond`] to render
/// your own page (the flow re-enters through [`AuthorizeContext::resume`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement attesto's login/consent interaction",
    label = "implement `attesto::server::Interaction` for this type"
)]
pub trait Interaction: Send + Sync + 'static {
    /// Authenticate the resource owner.
    fn login(
        &self,
        ctx: &AuthorizeContext<'_>,
    ) -> impl Future<Output = LoginOutcome<Response>> + Send;

    /// Ask for (or look up) consent. The default grants what was requested.
    fn consent(
        &self,
        ctx: &AuthorizeContext<'_>,
        authentication: &Authentication,
    ) -> impl Future<Output = ConsentOutcome<Response>> + Send {
        let _ = authentication;
        let scopes = ctx.scopes.to_vec();
        async move { ConsentOutcome::Granted(scopes) }
    }
}

/// Which resource indicators ([RFC 8707](https://www.rfc-editor.org/rfc/rfc8707))
/// a client may ask for, and which callers may introspect which tokens
/// ([RFC 7662 §4](https://www.rfc-editor.org/rfc/rfc7662#section-4)).
/// Every method has a default; a host that keeps them writes
/// `impl ResourcePolicy for MyHost {}`.
pub trait ResourcePolicy: Send + Sync + 'static {
    /// Whether `client_id` may obtain tokens for `resource` (an absolute URI).
    /// The default allows only the server's default resource, which is
    /// checked before this is called.
    fn resource_allowed(&self, client_id: &str, resource: &str) -> bool {
        let _ = (client_id, resource);
        false
    }

    /// Whether the authenticated client `caller_client_id` may learn about
    /// `token` at the introspection endpoint. Consulted only for active
    /// tokens; `false` (or a panic) answers `{"active":false}`, exactly as
    /// for an unknown token, so a refused caller learns nothing. The default
    /// lets every authenticated (confidential) client introspect every token.
    fn introspection_allowed(&self, caller_client_id: &str, token: &IntrospectedToken) -> bool {
        let _ = (caller_client_id, token);
        true
    }
}
