//! A test host and a real loopback HTTP server for the token, revocation and
//! introspection endpoint tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use attesto::client_auth::{CLIENT_ASSERTION_TYPE_JWT_BEARER, SecretHasher};
use attesto::clock::{FixedClock, UnixTime};
use attesto::host::{
    ClientKeys, ClientLookup, ClientRegistry, Event, EventName, InvalidScope, LoginOutcome,
    OAuthClient, Principal, PrincipalStore, ScopePolicy, TokenEndpointAuthMethod,
    default_authorize_scope,
};
use attesto::jose::{Algorithm, HeaderParams, Keystore, SigningKey, sign_compact};
use attesto::pkce::CodeVerifier;
use attesto::secret::{OsRandom, Secret};
use attesto::server::{
    AuthorizationServer, AuthorizeContext, Interaction, IntrospectedToken, ResourcePolicy,
    ServerConfig, ServerConfigBuilder,
};
use attesto::store::memory::MemoryStores;
use attesto::store::{AuthorizationCodeRecord, AuthorizationCodeStore, Confirmation, TokenHash};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

pub const NOW: UnixTime = 1_700_000_000;
pub const SERVER_SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";
pub const API: &str = "https://api.example";
pub const OTHER_API: &str = "https://other-api.example";
/// The issuer. The server listens on loopback http, but the issuer (and so
/// every DPoP `htu` and assertion `aud`) is this https identifier.
pub const ISSUER: &str = "https://as.example";
pub const REDIRECT: &str = "https://app.example/cb";
pub const SECRET: &str = "s3cret-value";

#[derive(Debug)]
pub struct TestError;
impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("backend down")
    }
}
impl std::error::Error for TestError {}

#[derive(Debug, Clone)]
pub struct TestClient {
    pub id: String,
    pub method: TokenEndpointAuthMethod,
    pub secret_hash: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub redirect_uris: Vec<String>,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub requires_dpop: bool,
    pub requires_mtls: bool,
    pub allowed_scopes: Option<Vec<String>>,
    pub id_token_alg: Option<Algorithm>,
}

pub fn hasher() -> SecretHasher {
    SecretHasher::new(SERVER_SECRET.as_bytes()).unwrap()
}

impl TestClient {
    /// A confidential client_secret_basic client with every grant.
    pub fn confidential(id: &str) -> Self {
        Self::with_method(id, TokenEndpointAuthMethod::ClientSecretBasic)
    }

    pub fn with_method(id: &str, method: TokenEndpointAuthMethod) -> Self {
        TestClient {
            id: id.into(),
            method,
            secret_hash: Some(hasher().hash(SECRET).unwrap().as_str().to_owned()),
            grant_types: Some(
                ["authorization_code", "refresh_token", "client_credentials"]
                    .map(String::from)
                    .to_vec(),
            ),
            redirect_uris: vec![REDIRECT.into()],
            jwks: None,
            jwks_uri: None,
            requires_dpop: false,
            requires_mtls: false,
            allowed_scopes: None,
            id_token_alg: None,
        }
    }

    pub fn public(id: &str) -> Self {
        let mut c = Self::with_method(id, TokenEndpointAuthMethod::None);
        c.secret_hash = None;
        c
    }

    pub fn grants(mut self, g: &[&str]) -> Self {
        self.grant_types = Some(g.iter().map(|s| (*s).to_owned()).collect());
        self
    }

    pub fn secret(mut self, secret: &str) -> Self {
        self.secret_hash = Some(hasher().hash(secret).unwrap().as_str().to_owned());
        self
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
    fn token_endpoint_auth_method(&self) -> TokenEndpointAuthMethod {
        self.method
    }
    fn client_secret_hash(&self) -> Option<&str> {
        self.secret_hash.as_deref()
    }
    fn keys(&self) -> ClientKeys<'_> {
        if let Some(uri) = &self.jwks_uri {
            return ClientKeys::Uri(Cow::Borrowed(uri));
        }
        match &self.jwks {
            Some(v) => ClientKeys::Inline(Cow::Borrowed(v)),
            None => ClientKeys::None,
        }
    }
    fn requires_dpop(&self) -> bool {
        self.requires_dpop
    }
    fn requires_mtls(&self) -> bool {
        self.requires_mtls
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
pub struct TestPrincipal {
    pub id: String,
    pub claims: Map<String, Value>,
}

impl Principal for TestPrincipal {
    fn subject_id(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }
    fn claims(&self) -> Map<String, Value> {
        self.claims.clone()
    }
}

#[derive(Default)]
pub struct TestHost {
    pub clients: Mutex<HashMap<String, TestClient>>,
    pub revoked: Mutex<HashSet<String>>,
    pub principals: Mutex<HashMap<String, TestPrincipal>>,
    pub allowed_resources: Mutex<Vec<(String, String)>>,
    pub down: AtomicBool,
    pub lookups: AtomicUsize,
    /// When set, the scope policy grants only these of the requested scopes.
    pub scope_only: Mutex<Option<Vec<String>>>,
    /// When set, the scope policy adds these to every grant (an attempt to widen).
    pub scope_extra: Mutex<Vec<String>>,
    /// Callers the introspection policy refuses.
    pub introspection_denied: Mutex<Vec<String>>,
    /// The introspection policy panics.
    pub introspection_panics: AtomicBool,
    /// How often the introspection policy was consulted.
    pub introspection_calls: AtomicUsize,
    /// The tokens the introspection policy saw.
    pub introspected: Mutex<Vec<IntrospectedToken>>,
}

impl TestHost {
    pub fn with_clients(clients: impl IntoIterator<Item = TestClient>) -> Self {
        let host = TestHost::default();
        for c in clients {
            host.clients.lock().unwrap().insert(c.id.clone(), c);
        }
        let claims = json!({
            "email": "alice@example.com",
            "email_verified": true,
            "name": "Alice",
            "sub": "evil",
        });
        host.principals.lock().unwrap().insert(
            "alice".into(),
            TestPrincipal {
                id: "alice".into(),
                claims: claims.as_object().unwrap().clone(),
            },
        );
        host
    }
}

impl ClientRegistry for TestHost {
    type Client = TestClient;
    type Error = TestError;
    async fn find_client(&self, id: &str) -> Result<ClientLookup<TestClient>, TestError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(TestError);
        }
        if self.revoked.lock().unwrap().contains(id) {
            return Ok(ClientLookup::Revoked);
        }
        Ok(match self.clients.lock().unwrap().get(id) {
            Some(c) => ClientLookup::Found(c.clone()),
            None => ClientLookup::NotFound,
        })
    }
}

impl PrincipalStore for TestHost {
    type Principal = TestPrincipal;
    type Error = TestError;
    async fn find_principal(&self, id: &str) -> Result<Option<TestPrincipal>, TestError> {
        Ok(self.principals.lock().unwrap().get(id).cloned())
    }
}

impl Interaction for TestHost {
    async fn login(&self, _ctx: &AuthorizeContext<'_>) -> LoginOutcome<axum::response::Response> {
        LoginOutcome::InteractionRequired(attesto::host::InteractionRequired::Login)
    }
}

impl ResourcePolicy for TestHost {
    fn resource_allowed(&self, client_id: &str, resource: &str) -> bool {
        self.allowed_resources
            .lock()
            .unwrap()
            .iter()
            .any(|(c, r)| c == client_id && r == resource)
    }

    fn introspection_allowed(&self, caller_client_id: &str, token: &IntrospectedToken) -> bool {
        self.introspection_calls.fetch_add(1, Ordering::SeqCst);
        self.introspected.lock().unwrap().push(token.clone());
        if self.introspection_panics.load(Ordering::SeqCst) {
            panic!("introspection policy failure");
        }
        !self
            .introspection_denied
            .lock()
            .unwrap()
            .iter()
            .any(|c| c == caller_client_id)
    }
}

impl ScopePolicy for TestHost {
    fn authorize_scope(
        &self,
        client: &TestClient,
        requested: &[&str],
        supported: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<String>, InvalidScope> {
        let mut granted = default_authorize_scope(client, requested, supported)?;
        if let Some(only) = self.scope_only.lock().unwrap().as_ref() {
            granted.retain(|g| only.contains(g));
        }
        granted.extend(self.scope_extra.lock().unwrap().iter().cloned());
        Ok(granted)
    }
}

// No dynamic registration here: the fail-closed default.
impl attesto::server::ClientRegistration for TestHost {}

/// A running server on loopback.
pub struct TestServer {
    pub base: String,
    pub server: AuthorizationServer<TestHost, MemoryStores>,
    pub stores: MemoryStores,
    pub clock: Arc<FixedClock>,
    pub events: Arc<Mutex<Vec<Event>>>,
    pub keys: Arc<dyn Keystore>,
    pub http: reqwest::Client,
}

pub fn default_config(issuer: &str) -> ServerConfigBuilder {
    ServerConfig::builder(issuer)
        .scopes([
            "openid",
            "profile",
            "email",
            "offline_access",
            "documents.*",
            "reports.read",
        ])
        .default_resource(API)
}

pub async fn start(host: TestHost) -> TestServer {
    start_with(host, |b| b).await
}

pub async fn start_with(
    host: TestHost,
    configure: impl FnOnce(ServerConfigBuilder) -> ServerConfigBuilder,
) -> TestServer {
    start_with_keys(host, configure, keys::server_keystore()).await
}

/// [`start_with`] over another keystore.
pub async fn start_with_keys(
    host: TestHost,
    configure: impl FnOnce(ServerConfigBuilder) -> ServerConfigBuilder,
    keystore: impl Keystore,
) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let cfg = configure(default_config(ISSUER)).build().unwrap();
    let stores = MemoryStores::new();
    let clock = Arc::new(FixedClock::new(NOW));
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink_events = Arc::clone(&events);
    let keys: Arc<dyn Keystore> = Arc::new(keystore);
    let server = AuthorizationServer::builder(cfg, host, stores.clone(), keys.clone())
        .server_secret(Secret::new(SERVER_SECRET))
        .clock(clock.clone())
        .events(Arc::new(move |e: &Event| {
            sink_events.lock().unwrap().push(e.clone())
        }))
        .build()
        .unwrap();
    let router: axum::Router = server.router();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestServer {
        base,
        server,
        stores,
        clock,
        events,
        keys,
        http,
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text))
    }
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
    /// Asserts `Cache-Control: no-store` and `Pragma: no-cache`.
    pub fn assert_no_store(&self) {
        assert_eq!(
            self.header("cache-control").as_deref(),
            Some("no-store"),
            "{self:?}"
        );
        assert_eq!(
            self.header("pragma").as_deref(),
            Some("no-cache"),
            "{self:?}"
        );
    }
}

pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn basic(id: &str, secret: &str) -> String {
    let raw = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The canonical token-endpoint URL (the DPoP `htu`).
    pub fn token_url(&self) -> String {
        format!("{ISSUER}/oauth/token")
    }

    pub fn now(&self) -> UnixTime {
        use attesto::clock::Clock;
        self.clock.now()
    }

    /// POST a raw body with headers.
    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.post(self.url(path)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        Reply {
            status,
            headers,
            text,
        }
    }

    /// POST a form with extra headers.
    pub async fn post_form(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.post_raw(path, form_body(pairs), &all).await
    }

    /// POST to the token endpoint.
    pub async fn token(&self, pairs: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
        self.post_form("/oauth/token", pairs, headers).await
    }

    /// POST to the token endpoint as `client` with Basic and the default secret.
    pub async fn token_basic(&self, client: &str, pairs: &[(&str, &str)]) -> Reply {
        let auth = basic(client, SECRET);
        self.token(pairs, &[("authorization", &auth)]).await
    }

    pub async fn revoke(&self, pairs: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
        self.post_form("/oauth/revoke", pairs, headers).await
    }

    pub async fn introspect(&self, pairs: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
        self.post_form("/oauth/introspect", pairs, headers).await
    }

    /// Introspect `token` as the confidential client `caller`.
    pub async fn introspect_as(&self, caller: &str, token: &str) -> Value {
        let auth = basic(caller, SECRET);
        let r = self
            .introspect(&[("token", token)], &[("authorization", &auth)])
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        r.json()
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    pub fn events_named(&self, name: EventName) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|e| e.name == name)
            .collect()
    }

    pub fn clear_events(&self) {
        self.events.lock().unwrap().clear();
    }

    /// Store a code as the authorization endpoint would, returning the raw
    /// code and the PKCE verifier.
    pub async fn issue_code(&self, spec: CodeSpec) -> (String, String) {
        let code = OsRandom_token();
        let verifier = CodeVerifier::generate(&OsRandom).unwrap();
        let now = self.now();
        let record = AuthorizationCodeRecord {
            code_hash: TokenHash::of(&code),
            client_id: spec.client_id.clone(),
            redirect_uri: spec.redirect_uri.clone(),
            scope: spec.scope.iter().map(|s| (*s).to_owned()).collect(),
            code_challenge: spec.pkce.then(|| verifier.challenge().as_str().to_owned()),
            nonce: spec.nonce.clone(),
            subject: "alice".into(),
            auth_time: Some(now - 30),
            acr: Some("urn:acr:pwd".into()),
            amr: vec!["pwd".into()],
            sid: Some("sid-1".into()),
            resource: spec.resource.iter().map(|s| (*s).to_owned()).collect(),
            confirmation: match &spec.dpop_jkt {
                Some(j) => Confirmation::dpop(j.clone()),
                None => Confirmation::none(),
            },
            claims: None,
            issued_at: now,
            expires_at: now + 60,
        };
        self.stores
            .authorization_codes
            .insert(record)
            .await
            .unwrap();
        (code, verifier.expose().to_owned())
    }

    /// Redeem a code as `client` (Basic for confidential clients, client_id
    /// for public ones).
    pub async fn redeem(
        &self,
        client: &str,
        public: bool,
        code: &str,
        verifier: &str,
        extra_headers: &[(&str, &str)],
    ) -> Reply {
        let auth = basic(client, SECRET);
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", REDIRECT),
        ];
        let mut headers: Vec<(&str, &str)> = extra_headers.to_vec();
        if public {
            pairs.push(("client_id", client));
        } else {
            headers.push(("authorization", &auth));
        }
        self.token(&pairs, &headers).await
    }

    /// A DPoP proof for the token endpoint.
    pub fn proof(&self, key: &SigningKey, nonce: Option<&str>) -> String {
        dpop_proof(key, "POST", &self.token_url(), self.now(), nonce)
    }

    /// A private_key_jwt assertion for `client`.
    pub fn assertion(&self, key: &SigningKey, client: &str, aud: &str, lifetime: i64) -> String {
        let now = self.now();
        let claims = json!({
            "iss": client, "sub": client, "aud": aud, "jti": unique("jti"),
            "iat": now, "exp": now + lifetime,
        });
        sign_compact(
            key,
            &HeaderParams::typ("JWT"),
            claims.to_string().as_bytes(),
        )
        .unwrap()
    }
}

#[allow(non_snake_case)]
fn OsRandom_token() -> String {
    use attesto::secret::RandomSource;
    OsRandom.token(32).unwrap()
}

/// What a code record holds.
#[derive(Debug, Clone)]
pub struct CodeSpec {
    pub client_id: String,
    pub scope: Vec<&'static str>,
    pub redirect_uri: Option<String>,
    pub pkce: bool,
    pub nonce: Option<String>,
    pub resource: Vec<&'static str>,
    pub dpop_jkt: Option<String>,
}

impl CodeSpec {
    pub fn new(client_id: &str, scope: &[&'static str]) -> Self {
        CodeSpec {
            client_id: client_id.into(),
            scope: scope.to_vec(),
            redirect_uri: Some(REDIRECT.into()),
            pkce: true,
            nonce: None,
            resource: Vec::new(),
            dpop_jkt: None,
        }
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", COUNTER.fetch_add(1, Ordering::SeqCst))
}

pub fn dpop_proof(
    key: &SigningKey,
    htm: &str,
    htu: &str,
    iat: UnixTime,
    nonce: Option<&str>,
) -> String {
    let mut claims = json!({"jti": unique("dpop"), "htm": htm, "htu": htu, "iat": iat});
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    let mut header = HeaderParams::typ("dpop+jwt");
    header.jwk = Some(key.public_jwk());
    header.omit_kid = true;
    sign_compact(key, &header, claims.to_string().as_bytes()).unwrap()
}

pub fn es256() -> SigningKey {
    SigningKey::generate(Algorithm::ES256).unwrap()
}

/// The JWK Set `{"keys":[<public jwk>]}` of `key`.
pub fn jwks_of(key: &SigningKey) -> Value {
    json!({"keys": [serde_json::to_value(key.public_jwk()).unwrap()]})
}

/// The (unverified) claims of a compact JWS.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The (unverified) header of a compact JWS.
pub fn jwt_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

pub fn client_assertion_pairs(assertion: &str) -> [(&'static str, &str); 2] {
    [
        ("client_assertion_type", CLIENT_ASSERTION_TYPE_JWT_BEARER),
        ("client_assertion", assertion),
    ]
}

/// The standard clients: `conf` (Basic), `post` (client_secret_post),
/// `pub` (public), `other` (a second confidential client).
pub fn standard_clients() -> Vec<TestClient> {
    vec![
        TestClient::confidential("conf"),
        TestClient::with_method("post", TokenEndpointAuthMethod::ClientSecretPost),
        TestClient::public("pub"),
        TestClient::confidential("other"),
    ]
}

#[path = "../support/keys.rs"]
pub mod keys;
