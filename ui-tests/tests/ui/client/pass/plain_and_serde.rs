//! Plain and serde models, a generic one, and every mapping with every
//! conversion form.
#![deny(missing_docs, warnings)]

use std::borrow::Cow;

use attesto::host::TokenEndpointAuthMethod;

/// A client stored as JSON.
#[derive(serde::Deserialize, attesto::OAuthClient)]
pub struct JsonClient {
    #[attesto(client_id)]
    client_id: Box<str>,
    #[attesto(client_secret_hash)]
    hash: Option<Box<str>>,
    #[attesto(redirect_uris)]
    redirect_uris: Vec<String>,
    #[attesto(grant_types)]
    grant_types: Option<Vec<String>>,
    #[attesto(response_types)]
    response_types: serde_json::Value,
    #[attesto(token_endpoint_auth_method)]
    method: TokenEndpointAuthMethod,
    #[attesto(jwks)]
    jwks: Option<serde_json::Value>,
    #[attesto(scope, separator = ",")]
    scope: String,
    #[attesto(requires_mtls)]
    mtls: bool,
    #[attesto(tls_client_auth_subject_dn)]
    dn: Option<String>,
    #[attesto(backchannel_logout_uri)]
    bc: Option<String>,
    #[attesto(backchannel_logout_session_required)]
    bc_sid: Option<bool>,
}

/// The host's own method enum.
#[derive(Clone, Copy)]
pub enum Method {
    /// HTTP Basic.
    Basic,
}

impl From<Method> for TokenEndpointAuthMethod {
    fn from(_: Method) -> Self {
        TokenEndpointAuthMethod::ClientSecretBasic
    }
}

fn id(v: &u128) -> Cow<'_, str> {
    Cow::Owned(format!("{v:x}"))
}

/// A generic static client.
#[derive(attesto::OAuthClient)]
pub struct Static<T: Send + Sync> {
    #[attesto(client_id, with = id)]
    id: u128,
    #[attesto(auth_method, into)]
    method: Method,
    #[attesto(redirect_uris)]
    uris: &'static [&'static str],
    extra: T,
}

fn assert_client<C: attesto::host::OAuthClient>() {}

fn main() {
    assert_client::<JsonClient>();
    assert_client::<Static<()>>();
}
