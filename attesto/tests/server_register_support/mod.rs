//! A test host for the registration endpoint, served over loopback HTTP.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use attesto::host::{
    ClientLookup, ClientRegistry, Event, LoginOutcome, OAuthClient, Principal, PrincipalStore,
    TokenEndpointAuthMethod,
};
use attesto::secret::Secret;
use attesto::server::{
    AuthorizationServer, AuthorizeContext, ClientRegistration, Interaction, NewClient,
    RegistrationError, ResourcePolicy, ServerConfig,
};
use attesto::store::memory::MemoryStores;

/// The server secret the test server is built with (tests re-derive the hasher).
pub const SERVER_SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";

/// What the host's `register_client` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Persist the client.
    Accept,
    /// Refuse it (policy).
    Reject,
    /// Fail (backend down).
    Fail,
}

/// A client the host persisted.
pub struct Client(pub NewClient);

impl OAuthClient for Client {
    fn client_id(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Borrowed(&self.0.client_id)
    }
    fn redirect_uris(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.metadata.redirect_uris.iter().map(String::as_str)
    }
    fn token_endpoint_auth_method(&self) -> TokenEndpointAuthMethod {
        self.0.metadata.token_endpoint_auth_method
    }
    fn client_secret_hash(&self) -> Option<&str> {
        self.0.client_secret_hash.as_ref().map(|h| h.as_str())
    }
    fn registration_access_token_hash(&self) -> Option<&str> {
        Some(self.0.registration_access_token_hash.as_str())
    }
}

/// No principals.
pub struct NoUser;

impl Principal for NoUser {
    fn subject_id(&self) -> std::borrow::Cow<'_, str> {
        "nobody".into()
    }
}

/// The host: records every `register_client` call.
pub struct TestHost {
    pub behaviour: Behaviour,
    pub registered: RwLock<HashMap<String, NewClient>>,
    pub calls: Mutex<usize>,
    /// Whether `unregister_client` deletes (otherwise: the trait default's answer).
    pub deletes: std::sync::atomic::AtomicBool,
    pub unregister_calls: Mutex<Vec<String>>,
}

impl TestHost {
    pub fn new(behaviour: Behaviour) -> Self {
        TestHost {
            behaviour,
            registered: RwLock::new(HashMap::new()),
            calls: Mutex::new(0),
            deletes: std::sync::atomic::AtomicBool::new(true),
            unregister_calls: Mutex::new(Vec::new()),
        }
    }
}

impl ClientRegistry for TestHost {
    type Client = Client;
    type Error = std::convert::Infallible;
    async fn find_client(&self, id: &str) -> Result<ClientLookup<Client>, Self::Error> {
        Ok(match self.registered.read().unwrap().get(id) {
            Some(c) => ClientLookup::Found(Client(c.clone())),
            None => ClientLookup::NotFound,
        })
    }
}

impl PrincipalStore for TestHost {
    type Principal = NoUser;
    type Error = std::convert::Infallible;
    async fn find_principal(&self, _id: &str) -> Result<Option<NoUser>, Self::Error> {
        Ok(None)
    }
}

impl Interaction for TestHost {
    async fn login(&self, _ctx: &AuthorizeContext<'_>) -> LoginOutcome<axum::response::Response> {
        LoginOutcome::InteractionRequired(attesto::host::InteractionRequired::Login)
    }
}

impl ResourcePolicy for TestHost {}
impl attesto::host::ScopePolicy for TestHost {}

impl ClientRegistration for TestHost {
    async fn register_client(&self, client: NewClient) -> Result<(), RegistrationError> {
        *self.calls.lock().unwrap() += 1;
        match self.behaviour {
            Behaviour::Accept => {
                self.registered
                    .write()
                    .unwrap()
                    .insert(client.client_id.clone(), client);
                Ok(())
            }
            Behaviour::Reject => Err(RegistrationError::Rejected {
                description: "the registry is full".into(),
            }),
            Behaviour::Fail => Err(RegistrationError::Unavailable("database down".into())),
        }
    }

    async fn unregister_client(&self, client_id: &str) -> Result<(), RegistrationError> {
        self.unregister_calls
            .lock()
            .unwrap()
            .push(client_id.to_owned());
        if !self.deletes.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(RegistrationError::NotSupported);
        }
        self.registered.write().unwrap().remove(client_id);
        Ok(())
    }
}

/// A host that keeps the fail-closed default.
pub struct DefaultHost;

impl ClientRegistry for DefaultHost {
    type Client = Client;
    type Error = std::convert::Infallible;
    async fn find_client(&self, _id: &str) -> Result<ClientLookup<Client>, Self::Error> {
        Ok(ClientLookup::NotFound)
    }
}
impl PrincipalStore for DefaultHost {
    type Principal = NoUser;
    type Error = std::convert::Infallible;
    async fn find_principal(&self, _id: &str) -> Result<Option<NoUser>, Self::Error> {
        Ok(None)
    }
}
impl Interaction for DefaultHost {
    async fn login(&self, _ctx: &AuthorizeContext<'_>) -> LoginOutcome<axum::response::Response> {
        LoginOutcome::InteractionRequired(attesto::host::InteractionRequired::Login)
    }
}
impl ResourcePolicy for DefaultHost {}
impl attesto::host::ScopePolicy for DefaultHost {}
impl ClientRegistration for DefaultHost {}

/// A running server.
pub struct Running<H> {
    pub base: String,
    pub server: AuthorizationServer<H, MemoryStores>,
    pub events: Arc<Mutex<Vec<Event>>>,
}

impl<H> Running<H> {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
}

/// The default configuration: registration on, a small scope catalog.
pub fn config(registration: bool) -> ServerConfig {
    ServerConfig::builder("https://id.example")
        .scopes(["openid", "profile", "read", "docs.*"])
        .registration(registration)
        .max_body_bytes(8 * 1024)
        .build()
        .unwrap()
}

/// Serve `host` with `cfg` on a loopback port.
pub async fn serve<H: attesto::server::Host>(host: H, cfg: ServerConfig) -> Running<H> {
    let keys = Arc::new(keys::server_keystore());
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = Arc::clone(&events);
    let server = AuthorizationServer::builder(cfg, host, MemoryStores::new(), keys)
        .server_secret(Secret::new(SERVER_SECRET))
        .events(Arc::new(move |e: &Event| {
            sink.lock().unwrap().push(e.clone())
        }))
        .build()
        .unwrap();
    let app: axum::Router = server.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Running {
        base,
        server,
        events,
    }
}

/// POST a JSON body to the registration endpoint.
pub async fn register(
    base: &str,
    body: &str,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    post(base, "application/json", body.as_bytes().to_vec()).await
}

/// POST raw bytes with a content type.
pub async fn post(
    base: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/oauth/register"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

#[path = "../support/keys.rs"]
pub mod keys;
