//! Test host, server harness and helpers for the authorization endpoint,
//! userinfo and resource-guard tests. Every test drives a real server over
//! loopback HTTP.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use attesto::clock::{Clock, FixedClock, UnixTime};
use attesto::host::{
    Authentication, ClientLookup, ClientRegistry, ConsentOutcome, Event, EventName, EventSink,
    InteractionRequired, InvalidScope, LoginOptions, LoginOutcome, OAuthClient, Principal,
    PrincipalStore, ScopePolicy, TokenEndpointAuthMethod, default_authorize_scope,
};
use attesto::jose::{Algorithm, HeaderParams, Keystore, SigningKey, sign_compact};
use attesto::server::config::{CLIENT_KIND, USER_KIND};
use attesto::server::{
    AuthorizationServer, AuthorizeContext, Interaction, ResourcePolicy, ServerConfig,
    ServerConfigBuilder,
};
use attesto::store::Stores;
use attesto::store::memory::MemoryStores;
use attesto::token::{AccessTokenIssuer, AccessTokenRequest};
use axum::Router;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The fixed test time.
pub const NOW: UnixTime = 1_700_000_000;
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const REDIRECT: &str = "https://app.example/cb";
pub const API: &str = "https://api.example";
/// The issuer: the server's canonical URL (the tests reach it over loopback,
/// as a proxy would; every advertised URL and DPoP `htu` derives from it).
pub const ISSUER: &str = "https://id.example";

#[derive(Debug, thiserror::Error)]
#[error("test backend is down")]
pub struct Down;

#[derive(Debug, Clone)]
pub struct TestClient {
    pub id: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Option<Vec<String>>,
    pub allowed_scopes: Option<Vec<String>>,
    pub response_types: Vec<String>,
    pub id_token_alg: Option<Algorithm>,
}

impl TestClient {
    pub fn new(id: &str) -> Self {
        TestClient {
            id: id.into(),
            redirect_uris: vec![REDIRECT.into()],
            grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
            allowed_scopes: None,
            response_types: vec!["code".into()],
            id_token_alg: None,
        }
    }
}

impl OAuthClient for TestClient {
    fn client_id(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Borrowed(&self.id)
    }
    fn redirect_uris(&self) -> impl Iterator<Item = &str> + '_ {
        self.redirect_uris.iter().map(String::as_str)
    }
    fn grant_types(&self) -> Option<Vec<Cow<'_, str>>> {
        self.grant_types
            .as_ref()
            .map(|g| g.iter().map(|s| Cow::Borrowed(s.as_str())).collect())
    }
    fn response_types(&self) -> Vec<Cow<'_, str>> {
        self.response_types
            .iter()
            .map(|s| Cow::Borrowed(s.as_str()))
            .collect()
    }
    fn token_endpoint_auth_method(&self) -> TokenEndpointAuthMethod {
        TokenEndpointAuthMethod::None
    }
    fn allowed_scopes(&self) -> Option<Vec<Cow<'_, str>>> {
        self.allowed_scopes
            .as_ref()
            .map(|g| g.iter().map(|s| Cow::Borrowed(s.as_str())).collect())
    }
    fn id_token_signed_response_alg(&self) -> Option<Algorithm> {
        self.id_token_alg
    }
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub claims: Map<String, Value>,
}

impl Principal for TestUser {
    fn subject_id(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }
    fn claims(&self) -> Map<String, Value> {
        self.claims.clone()
    }
}

/// What the host's login step does.
#[derive(Debug, Clone)]
pub enum Login {
    As(Authentication),
    /// Render a host page (200, `x-host-page: login`).
    Page,
    Interaction(InteractionRequired),
}

/// What the host's consent step does.
#[derive(Debug, Clone)]
pub enum Consent {
    All,
    Only(Vec<String>),
    Page,
    Deny,
}

/// What the host's scope policy does.
#[derive(Debug, Clone)]
pub enum ScopeMode {
    /// The library default.
    Default,
    /// Grant only these (of the requested), dropping the rest.
    Only(Vec<String>),
    /// Grant the request plus these (an attempt to widen).
    Add(Vec<String>),
    /// Refuse: `invalid_scope`.
    Refuse,
}

/// What the host saw of one authorization request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub resources: Vec<String>,
    pub options: LoginOptions,
    pub resume: String,
    pub login_hint: Option<String>,
    pub stage: &'static str,
}

pub struct HostState {
    pub login: Mutex<Login>,
    pub consent: Mutex<Consent>,
    pub seen: Mutex<Vec<Seen>>,
    pub clients_down: AtomicBool,
    pub principals_down: AtomicBool,
    pub principal_lookups: AtomicUsize,
    pub scope_mode: Mutex<ScopeMode>,
    /// What the scope policy was asked: (client, requested).
    pub scope_calls: Mutex<Vec<(String, Vec<String>)>>,
}

#[derive(Clone)]
pub struct TestHost {
    pub clients: Arc<HashMap<String, TestClient>>,
    pub revoked: Arc<Vec<String>>,
    pub users: Arc<HashMap<String, TestUser>>,
    pub resources: Arc<Vec<String>>,
    pub state: Arc<HostState>,
}

pub fn alice_claims() -> Map<String, Value> {
    json!({
        "name": "Alice Liddell",
        "email": "alice@example.com",
        "email_verified": true,
        "phone_number": "+1 555 0100",
        "phone_number_verified": false,
        "address": {"country": "UK", "locality": "Oxford"},
        "sub": "spoofed",
    })
    .as_object()
    .unwrap()
    .clone()
}

impl TestHost {
    pub fn new() -> Self {
        let mut clients = HashMap::new();
        for c in [
            TestClient::new("app"),
            {
                let mut c = TestClient::new("limited");
                c.allowed_scopes = Some(vec!["openid".into(), "documents.*".into()]);
                c
            },
            {
                let mut c = TestClient::new("machine");
                c.grant_types = Some(vec!["client_credentials".into()]);
                c
            },
            {
                let mut c = TestClient::new("no-uris");
                c.redirect_uris = Vec::new();
                c
            },
            {
                let mut c = TestClient::new("two-uris");
                c.redirect_uris = vec![REDIRECT.into(), "https://app.example/other?x=1".into()];
                c
            },
        ] {
            clients.insert(c.id.clone(), c);
        }
        let mut users = HashMap::new();
        users.insert(
            "alice".to_owned(),
            TestUser {
                id: "alice".into(),
                claims: alice_claims(),
            },
        );
        TestHost {
            clients: Arc::new(clients),
            revoked: Arc::new(vec!["revoked".into()]),
            users: Arc::new(users),
            resources: Arc::new(vec!["https://files.example".into()]),
            state: Arc::new(HostState {
                login: Mutex::new(Login::As(Authentication::new("alice").auth_time(NOW - 10))),
                consent: Mutex::new(Consent::All),
                seen: Mutex::new(Vec::new()),
                clients_down: AtomicBool::new(false),
                principals_down: AtomicBool::new(false),
                principal_lookups: AtomicUsize::new(0),
                scope_mode: Mutex::new(ScopeMode::Default),
                scope_calls: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn set_login(&self, l: Login) {
        *self.state.login.lock().unwrap() = l;
    }
    pub fn set_scope_mode(&self, m: ScopeMode) {
        *self.state.scope_mode.lock().unwrap() = m;
    }
    pub fn scope_calls(&self) -> Vec<(String, Vec<String>)> {
        self.state.scope_calls.lock().unwrap().clone()
    }
    pub fn set_consent(&self, c: Consent) {
        *self.state.consent.lock().unwrap() = c;
    }
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    fn record(&self, ctx: &AuthorizeContext<'_>, stage: &'static str) {
        self.state.seen.lock().unwrap().push(Seen {
            client_id: ctx.client_id.into(),
            redirect_uri: ctx.redirect_uri.into(),
            scopes: ctx.scopes.to_vec(),
            resources: ctx.resources.to_vec(),
            options: ctx.options.clone(),
            resume: ctx.resume.into(),
            login_hint: ctx.login_hint.map(str::to_owned),
            stage,
        });
    }
}

fn host_page(which: &str) -> Response {
    (
        axum::http::StatusCode::OK,
        [("x-host-page", which.to_owned())],
        format!("<p>host {which} page</p>"),
    )
        .into_response()
}

impl ClientRegistry for TestHost {
    type Client = TestClient;
    type Error = Down;
    async fn find_client(&self, id: &str) -> Result<ClientLookup<TestClient>, Down> {
        if self.state.clients_down.load(Ordering::SeqCst) {
            return Err(Down);
        }
        if self.revoked.iter().any(|r| r == id) {
            return Ok(ClientLookup::Revoked);
        }
        Ok(match self.clients.get(id) {
            Some(c) => ClientLookup::Found(c.clone()),
            None => ClientLookup::NotFound,
        })
    }
}

impl ScopePolicy for TestHost {
    fn authorize_scope(
        &self,
        client: &TestClient,
        requested: &[&str],
        supported: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<String>, InvalidScope> {
        self.state.scope_calls.lock().unwrap().push((
            client.id.clone(),
            requested.iter().map(|s| (*s).to_owned()).collect(),
        ));
        let mode = self.state.scope_mode.lock().unwrap().clone();
        match mode {
            ScopeMode::Default => default_authorize_scope(client, requested, supported),
            ScopeMode::Only(keep) => Ok(requested
                .iter()
                .filter(|r| keep.iter().any(|k| k == *r))
                .map(|s| (*s).to_owned())
                .collect()),
            ScopeMode::Add(extra) => Ok(requested
                .iter()
                .map(|s| (*s).to_owned())
                .chain(extra)
                .collect()),
            ScopeMode::Refuse => Err(InvalidScope),
        }
    }
}

impl PrincipalStore for TestHost {
    type Principal = TestUser;
    type Error = Down;
    async fn find_principal(&self, id: &str) -> Result<Option<TestUser>, Down> {
        self.state.principal_lookups.fetch_add(1, Ordering::SeqCst);
        if self.state.principals_down.load(Ordering::SeqCst) {
            return Err(Down);
        }
        Ok(self.users.get(id).cloned())
    }
}

impl ResourcePolicy for TestHost {
    fn resource_allowed(&self, _client_id: &str, resource: &str) -> bool {
        self.resources.iter().any(|r| r == resource)
    }
}

impl Interaction for TestHost {
    async fn login(&self, ctx: &AuthorizeContext<'_>) -> LoginOutcome<Response> {
        self.record(ctx, "login");
        let mode = self.state.login.lock().unwrap().clone();
        match mode {
            Login::As(a) => LoginOutcome::Authenticated(a),
            Login::Page => LoginOutcome::Respond(host_page("login")),
            Login::Interaction(k) => LoginOutcome::InteractionRequired(k),
        }
    }

    async fn consent(
        &self,
        ctx: &AuthorizeContext<'_>,
        _authentication: &Authentication,
    ) -> ConsentOutcome<Response> {
        self.record(ctx, "consent");
        let mode = self.state.consent.lock().unwrap().clone();
        match mode {
            Consent::All => ConsentOutcome::Granted(ctx.scopes.to_vec()),
            Consent::Only(s) => ConsentOutcome::Granted(s),
            Consent::Page => ConsentOutcome::Respond(host_page("consent")),
            Consent::Deny => ConsentOutcome::Denied,
        }
    }
}

/// A host that implements only `login`: consent is the trait default.
#[derive(Clone)]
pub struct LoginOnlyHost(pub TestHost);

impl ClientRegistry for LoginOnlyHost {
    type Client = TestClient;
    type Error = Down;
    async fn find_client(&self, id: &str) -> Result<ClientLookup<TestClient>, Down> {
        self.0.find_client(id).await
    }
}

impl PrincipalStore for LoginOnlyHost {
    type Principal = TestUser;
    type Error = Down;
    async fn find_principal(&self, id: &str) -> Result<Option<TestUser>, Down> {
        self.0.find_principal(id).await
    }
}

impl ResourcePolicy for LoginOnlyHost {}
impl ScopePolicy for LoginOnlyHost {}

// No dynamic registration in these hosts: the fail-closed default.
impl attesto::server::ClientRegistration for LoginOnlyHost {}
impl attesto::server::ClientRegistration for TestHost {}

impl Interaction for LoginOnlyHost {
    async fn login(&self, ctx: &AuthorizeContext<'_>) -> LoginOutcome<Response> {
        self.0.login(ctx).await
    }
}

/// Records every event.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Event>>);

impl EventSink for Recorder {
    fn on_event(&self, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Recorder {
    pub fn names(&self) -> Vec<EventName> {
        self.0.lock().unwrap().iter().map(|e| e.name).collect()
    }
    pub fn last(&self, name: EventName) -> Option<Event> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|e| e.name == name)
            .cloned()
    }
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// A sink that panics on every event.
pub struct Panicking;

impl EventSink for Panicking {
    fn on_event(&self, _event: &Event) {
        panic!("sink exploded");
    }
}

/// A running server.
pub struct Harness<H: attesto::server::Host, S: Stores = MemoryStores> {
    pub base: String,
    pub addr: SocketAddr,
    pub server: AuthorizationServer<H, S>,
    pub stores: S,
    pub clock: Arc<FixedClock>,
    pub events: Arc<Recorder>,
    pub keys: Arc<dyn Keystore>,
    pub http: reqwest::Client,
}

/// What host routes are built from.
pub struct RouteCtx<'a, H, S: Stores = MemoryStores> {
    pub server: &'a AuthorizationServer<H, S>,
    pub keys: Arc<dyn Keystore>,
    pub clock: Arc<FixedClock>,
}

pub type RoutesFn<H, S = MemoryStores> = Box<dyn FnOnce(RouteCtx<'_, H, S>) -> Router>;

pub struct Options<H, S: Stores = MemoryStores> {
    pub host: H,
    pub config: Box<dyn FnOnce(ServerConfigBuilder) -> ServerConfigBuilder>,
    pub routes: RoutesFn<H, S>,
    pub sink: Option<Arc<dyn EventSink>>,
}

impl<H: attesto::server::Host, S: Stores> Options<H, S> {
    pub fn new(host: H) -> Self {
        Options {
            host,
            config: Box::new(|b| b),
            routes: Box::new(|_| Router::new()),
            sink: None,
        }
    }
}

pub async fn spawn() -> (Harness<TestHost>, TestHost) {
    let host = TestHost::new();
    (spawn_with(Options::new(host.clone())).await, host)
}

pub async fn spawn_with<H: attesto::server::Host + Clone>(opts: Options<H>) -> Harness<H> {
    spawn_with_stores(opts, MemoryStores::new()).await
}

pub async fn spawn_with_stores<H: attesto::server::Host + Clone, S: Stores + Clone>(
    opts: Options<H, S>,
    stores: S,
) -> Harness<H, S> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://127.0.0.1:{}", addr.port());
    let builder = ServerConfig::builder(ISSUER)
        .scopes([
            "openid",
            "profile",
            "email",
            "address",
            "phone",
            "documents.*",
            "reports.read",
        ])
        .default_resource(API);
    let cfg = (opts.config)(builder).build().unwrap();
    let keys: Arc<dyn Keystore> = Arc::new(keys::server_keystore());
    let clock = Arc::new(FixedClock::new(NOW));
    let events = Arc::new(Recorder::default());
    let sink: Arc<dyn EventSink> = opts.sink.unwrap_or_else(|| events.clone());
    let server = AuthorizationServer::builder(cfg, opts.host, stores.clone(), Arc::clone(&keys))
        .clock(clock.clone() as Arc<dyn Clock>)
        .events(sink)
        .build()
        .unwrap();
    let routes = (opts.routes)(RouteCtx {
        server: &server,
        keys: Arc::clone(&keys),
        clock: Arc::clone(&clock),
    });
    let app: Router = server.router::<()>().merge(routes);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Harness {
        base,
        addr,
        server,
        stores,
        clock,
        events,
        keys,
        http,
    }
}

impl<H: attesto::server::Host, S: Stores> Harness<H, S> {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An access token as the server would mint it.
    pub fn token(&self, sub: &str, scope: &str) -> String {
        self.token_with(sub, scope, None, API)
    }

    pub fn token_with(&self, sub: &str, scope: &str, jkt: Option<&str>, aud: &str) -> String {
        let cfg = self.server.config();
        let issuer = AccessTokenIssuer::builder(cfg.issuer.clone(), Arc::clone(&self.keys))
            .audience(aud)
            .principal_kinds([USER_KIND, CLIENT_KIND])
            .clock(self.clock.clone() as Arc<dyn Clock>)
            .build()
            .unwrap();
        let subject = USER_KIND.subject(sub).unwrap();
        let mut req = AccessTokenRequest::new(&subject, "app")
            .scope(scope.split(' ').filter(|s| !s.is_empty()))
            .ttl(300);
        if let Some(j) = jkt {
            req = req.dpop_jkt(j);
        }
        issuer.mint(req).unwrap().access_token.expose().to_owned()
    }

    /// Mint `req` with the server's keys and `aud`.
    pub fn mint(&self, req: AccessTokenRequest, aud: &str) -> String {
        let cfg = self.server.config();
        let issuer = AccessTokenIssuer::builder(cfg.issuer.clone(), Arc::clone(&self.keys))
            .audience(aud)
            .principal_kinds([USER_KIND, CLIENT_KIND])
            .clock(self.clock.clone() as Arc<dyn Clock>)
            .build()
            .unwrap();
        issuer.mint(req).unwrap().access_token.expose().to_owned()
    }

    /// A client-kind token (client_credentials shape).
    pub fn client_token(&self, client: &str, scope: &str) -> String {
        let cfg = self.server.config();
        let issuer = AccessTokenIssuer::builder(cfg.issuer.clone(), Arc::clone(&self.keys))
            .audience(API)
            .principal_kinds([USER_KIND, CLIENT_KIND])
            .clock(self.clock.clone() as Arc<dyn Clock>)
            .build()
            .unwrap();
        let subject = CLIENT_KIND.subject(client).unwrap();
        let req = AccessTokenRequest::new(&subject, client)
            .scope(scope.split(' ').filter(|s| !s.is_empty()));
        issuer.mint(req).unwrap().access_token.expose().to_owned()
    }
}

/// A DPoP proof for `method` `htu` at `iat`, with `ath` for `token`.
pub fn dpop_proof(
    key: &SigningKey,
    method: &str,
    htu: &str,
    token: Option<&str>,
    iat: i64,
) -> String {
    dpop_proof_nonce(key, method, htu, token, iat, None)
}

/// As [`dpop_proof`], with a server `nonce` claim.
pub fn dpop_proof_nonce(
    key: &SigningKey,
    method: &str,
    htu: &str,
    token: Option<&str>,
    iat: i64,
    nonce: Option<&str>,
) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let mut claims = json!({
        "jti": format!("jti-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)),
        "htm": method,
        "htu": htu,
        "iat": iat,
    });
    if let Some(t) = token {
        claims["ath"] = Value::String(attesto::secret::sha256_b64url(t.as_bytes()));
    }
    if let Some(n) = nonce {
        claims["nonce"] = Value::String(n.to_owned());
    }
    let mut header = HeaderParams::typ("dpop+jwt");
    header.jwk = Some(key.public_jwk());
    header.omit_kid = true;
    sign_compact(key, &header, claims.to_string().as_bytes()).unwrap()
}

pub fn dpop_key() -> SigningKey {
    SigningKey::generate(Algorithm::ES256).unwrap()
}

pub fn jkt(key: &SigningKey) -> String {
    key.verifying_key().thumbprint().to_owned()
}

/// An authorization request as ordered pairs.
#[derive(Debug, Clone)]
pub struct Authz(pub Vec<(String, String)>);

impl Authz {
    pub fn new() -> Self {
        Authz(
            [
                ("response_type", "code"),
                ("client_id", "app"),
                ("redirect_uri", REDIRECT),
                ("scope", "openid email"),
                ("state", "st-123"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        )
    }

    pub fn set(mut self, k: &str, v: &str) -> Self {
        match self.0.iter_mut().find(|(n, _)| n == k) {
            Some(p) => p.1 = v.to_owned(),
            None => self.0.push((k.to_owned(), v.to_owned())),
        }
        self
    }

    pub fn add(mut self, k: &str, v: &str) -> Self {
        self.0.push((k.to_owned(), v.to_owned()));
        self
    }

    pub fn without(mut self, k: &str) -> Self {
        self.0.retain(|(n, _)| n != k);
        self
    }

    pub fn query(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            s.append_pair(k, v);
        }
        s.finish()
    }
}

impl<H: attesto::server::Host, S: Stores> Harness<H, S> {
    pub async fn get_authorize(&self, req: &Authz) -> reqwest::Response {
        self.get_authorize_raw(&req.query()).await
    }

    pub async fn get_authorize_raw(&self, query: &str) -> reqwest::Response {
        let path = &self.server.config().paths.authorize;
        self.http
            .get(format!("{}{path}?{query}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_authorize(&self, req: &Authz) -> reqwest::Response {
        let path = &self.server.config().paths.authorize;
        self.http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(req.query())
            .send()
            .await
            .unwrap()
    }
}

/// The `Location` of a redirect, parsed, with its query as a map.
pub fn location(resp: &reqwest::Response) -> (url::Url, HashMap<String, String>) {
    let loc = resp
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location header, status {}", resp.status()))
        .to_str()
        .unwrap();
    let url = url::Url::parse(loc).unwrap();
    let q = url.query_pairs().into_owned().collect();
    (url, q)
}

/// Assert a redirect to [`REDIRECT`] carrying `error`, `state` and `iss`.
pub fn assert_redirect_error(resp: &reqwest::Response, error: &str, issuer: &str) {
    assert!(
        resp.status().is_redirection(),
        "expected a redirect, got {}",
        resp.status()
    );
    let (url, q) = location(resp);
    assert_eq!(
        format!("{}{}", url.origin().ascii_serialization(), url.path()),
        REDIRECT
    );
    assert_eq!(q.get("error").map(String::as_str), Some(error), "{q:?}");
    assert_eq!(q.get("state").map(String::as_str), Some("st-123"));
    assert_eq!(q.get("iss").map(String::as_str), Some(issuer));
    assert!(!q.contains_key("code"));
    assert_eq!(resp.headers()["cache-control"], "no-store");
}

/// Assert the direct error page: 400 HTML, no redirect.
pub async fn assert_error_page(resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
    resp.text().await.unwrap()
}

/// The `WWW-Authenticate` values of a response.
pub fn challenges(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[path = "../support/keys.rs"]
pub mod keys;
