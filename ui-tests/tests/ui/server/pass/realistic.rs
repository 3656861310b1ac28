//! A realistic configuration: custom prefix and paths, a wildcard scope
//! catalog, open registration with default scopes, DPoP with required nonces,
//! duration strings, and every optional callback — some under other names
//! through `#[attesto(...)]`, one synchronous, one returning `impl Future`, one
//! answering with `ClientLookup`; on a generic host type.
#![deny(missing_docs, warnings)]

use std::future::Future;
use std::marker::PhantomData;

use attesto::host::{
    Authentication, ConsentOutcome, InvalidScope, LoginOutcome, default_authorize_scope,
};
use attesto::server::{IntrospectedToken, NewClient, RegistrationError};
use ui_tests::*;

/// The host, generic over its database handle.
pub struct App<Db> {
    db: PhantomData<Db>,
}

#[attesto::authorization_server(
    prefix = "/auth",
    paths(token = "/auth/v2/token", introspect = "/auth/v2/introspect"),
    scopes = ["openid", "profile", "email", "offline_access", "documents.*"],
    grants = [authorization_code, refresh_token, client_credentials],
    dpop(nonce = "required", algorithms = [ES256, EdDSA]),
    registration(default_scopes = ["openid", "documents.read"]),
    access_token_ttl = "5m",
    refresh_token_ttl = "30d",
    refresh_grace = 10,
    code_ttl = 60,
    default_resource = "/api",
)]
impl<Db: Send + Sync + 'static> App<Db> {
    /// Not a callback: an ordinary method stays as written.
    pub fn new() -> Self {
        App { db: PhantomData }
    }

    #[attesto(find_client)]
    fn lookup_client(&self, id: &str) -> Result<ClientLookup<Client>, DbError> {
        Ok(match client(id)? {
            Some(c) => ClientLookup::Found(c),
            None => ClientLookup::NotFound,
        })
    }

    fn find_principal(&self, id: &str) -> impl Future<Output = Result<Option<User>, DbError>> + Send {
        std::future::ready(user(id))
    }

    async fn login(&self, _ctx: &AuthorizeContext<'_>) -> LoginOutcome<Response> {
        alice()
    }

    #[attesto(consent)]
    async fn ask(&self, ctx: &AuthorizeContext<'_>, _who: &Authentication) -> ConsentOutcome<Response> {
        ConsentOutcome::Granted(ctx.scopes.to_vec())
    }

    fn resource_allowed(&self, _client_id: &str, resource: &str) -> bool {
        resource == "https://api.example"
    }

    async fn register_client(&self, _client: NewClient) -> Result<(), RegistrationError> {
        Ok(())
    }

    fn authorize_scope(
        &self,
        client: &Client,
        requested: &[&str],
        supported: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<String>, InvalidScope> {
        default_authorize_scope(client, requested, supported)
    }

    #[attesto(introspection_allowed)]
    fn may_introspect(&self, caller_client_id: &str, token: &IntrospectedToken) -> bool {
        token.client_id.as_deref() == Some(caller_client_id)
    }
}

fn main() {
    let md = App::<()>::discovery_metadata("https://id.example").unwrap();
    assert_eq!(md["token_endpoint"], "https://id.example/auth/v2/token");
    assert_eq!(md["introspection_endpoint"], "https://id.example/auth/v2/introspect");
    assert_eq!(md["revocation_endpoint"], "https://id.example/auth/revoke");
    assert_eq!(md["registration_endpoint"], "https://id.example/auth/register");
    let cfg = App::<()>::server_config("https://id.example").unwrap();
    assert_eq!(cfg.default_resource, "https://id.example/api");
    assert_eq!(cfg.access_token_ttl.as_secs(), 300);
    assert_eq!(cfg.registration_default_scopes, ["openid", "documents.read"]);
    let _ = App::<()>::new();
}
