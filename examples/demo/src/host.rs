//! The demo's host: a client registry fed by dynamic registration (in memory or in the database),
//! one resource owner, browser sessions, and the login / consent steps.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::clients::{ClientBackend, ClientDbError, Inserted};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use attesto::host::{
    Authentication, ClientKeys, ClientLookup, ConsentOutcome, InteractionRequired, LoginOutcome,
    OAuthClient, Principal, TokenEndpointAuthMethod,
};
use attesto::jose::Algorithm;
use attesto::secret::{RandomSource, Secret, ct_eq, sha256, sha256_b64url};
use attesto::server::{AuthorizeContext, NewClient, RegistrationError};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::pages;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "attesto_demo_session";
/// Idle lifetime of a browser session, in seconds.
pub const SESSION_TTL: i64 = 3600;
/// Most browser sessions kept at once (the oldest is evicted beyond).
pub const MAX_SESSIONS: usize = 10_000;
/// Most clients the registry accepts.
pub const MAX_CLIENTS: usize = 10_000;
/// How long a fresh login (or consent decision) satisfies `prompt=login`
/// (or `prompt=consent`) for the exact request it was made for, in seconds.
const FRESH_WINDOW: i64 = 300;

/// Seconds since the epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// One registered client. Cheap to clone.
#[derive(Clone)]
pub struct DemoClient(Arc<ClientRecord>);

/// A registered client as the demo keeps it (in memory, or as JSON in the
/// `demo_clients` table; the secret hash has its own column).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct ClientRecord {
    client_id: String,
    redirect_uris: Vec<String>,
    grants: Vec<String>,
    response_types: Vec<String>,
    auth_method: TokenEndpointAuthMethod,
    #[serde(skip)]
    secret_hash: Option<String>,
    jwks: Option<Value>,
    dpop: bool,
    scopes: Vec<String>,
    client_name: Option<String>,
    /// `id_token_signed_response_alg` (absent in records of older demos).
    #[serde(default)]
    id_token_alg: Option<Algorithm>,
    /// The keyed hash of the RFC 7592 registration access token (absent in
    /// records of older demos: such clients cannot be deleted).
    #[serde(default)]
    registration_token_hash: Option<String>,
}

impl DemoClient {
    fn new(client: &NewClient) -> Self {
        let md = &client.metadata;
        DemoClient(Arc::new(ClientRecord {
            client_id: client.client_id.clone(),
            redirect_uris: md.redirect_uris.clone(),
            grants: md
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            response_types: md.response_types.clone(),
            auth_method: md.token_endpoint_auth_method,
            secret_hash: client
                .client_secret_hash
                .as_ref()
                .map(|h| h.as_str().to_owned()),
            jwks: md
                .jwks
                .as_ref()
                .and_then(|set| serde_json::to_value(set).ok()),
            dpop: md.dpop_bound_access_tokens,
            scopes: md.scope.as_strs().map(str::to_owned).collect(),
            client_name: md.client_name.clone(),
            id_token_alg: md.id_token_signed_response_alg,
            registration_token_hash: Some(
                client.registration_access_token_hash.as_str().to_owned(),
            ),
        }))
    }

    /// A client read back from storage.
    pub(crate) fn from_record(mut record: ClientRecord, secret_hash: Option<String>) -> Self {
        record.secret_hash = secret_hash;
        DemoClient(Arc::new(record))
    }

    pub(crate) fn record(&self) -> &ClientRecord {
        &self.0
    }

    pub(crate) fn client_id_str(&self) -> &str {
        &self.0.client_id
    }

    pub(crate) fn secret_hash_str(&self) -> Option<&str> {
        self.0.secret_hash.as_deref()
    }

    /// The name shown on the consent page: `client_name`, or the id.
    #[must_use]
    pub fn display_name(&self) -> &str {
        self.0.client_name.as_deref().unwrap_or(&self.0.client_id)
    }
}

impl OAuthClient for DemoClient {
    fn client_id(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Borrowed(&self.0.client_id)
    }

    fn id_token_signed_response_alg(&self) -> Option<Algorithm> {
        self.0.id_token_alg
    }

    fn registration_access_token_hash(&self) -> Option<&str> {
        self.0.registration_token_hash.as_deref()
    }

    fn redirect_uris(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.redirect_uris.iter().map(String::as_str)
    }

    fn grant_types(&self) -> Option<Vec<Cow<'_, str>>> {
        Some(
            self.0
                .grants
                .iter()
                .map(|g| Cow::Borrowed(g.as_str()))
                .collect(),
        )
    }

    fn response_types(&self) -> Vec<Cow<'_, str>> {
        self.0
            .response_types
            .iter()
            .map(|r| Cow::Borrowed(r.as_str()))
            .collect()
    }

    fn token_endpoint_auth_method(&self) -> TokenEndpointAuthMethod {
        self.0.auth_method
    }

    fn client_secret_hash(&self) -> Option<&str> {
        self.0.secret_hash.as_deref()
    }

    fn keys(&self) -> ClientKeys<'_> {
        match &self.0.jwks {
            Some(v) => ClientKeys::Inline(Cow::Borrowed(v)),
            None => ClientKeys::None,
        }
    }

    fn requires_dpop(&self) -> bool {
        self.0.dpop
    }

    fn allowed_scopes(&self) -> Option<Vec<Cow<'_, str>>> {
        Some(
            self.0
                .scopes
                .iter()
                .map(|s| Cow::Borrowed(s.as_str()))
                .collect(),
        )
    }
}

/// The demo's single resource owner.
#[derive(Debug, Clone)]
pub struct DemoUser {
    id: String,
}

impl Principal for DemoUser {
    fn subject_id(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }

    fn claims(&self) -> Map<String, Value> {
        let mut name = self.id.clone();
        if let Some(first) = name.get(..1) {
            let upper = first.to_uppercase();
            name.replace_range(..1, &upper);
        }
        match json!({
            "name": name,
            "preferred_username": self.id,
            "email": format!("{}@example.com", self.id),
            "email_verified": true,
        }) {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

/// A browser session (server side; the cookie holds only a random id).
pub(crate) struct Session {
    /// Per-session CSRF token, sent in a hidden field of every form.
    pub(crate) csrf: Secret,
    /// The session's public identifier (the ID token `sid`): random, and
    /// unrelated to the cookie value, which never leaves the browser.
    pub(crate) sid: String,
    /// The logged-in user, if any.
    pub(crate) user: Option<String>,
    /// When the user logged in.
    pub(crate) auth_time: i64,
    /// The request a fresh login was made for (satisfies `prompt=login` /
    /// `max_age` once the browser re-enters with exactly that request).
    pub(crate) fresh_login: Option<(String, i64)>,
    /// Remembered consents: `client_id` + sorted scopes.
    pub(crate) consents: HashSet<String>,
    /// The consent page last shown: (resume path, consent key).
    pub(crate) pending_consent: Option<(String, String)>,
    /// A consent decision for exactly this request: (resume path, approved?, when).
    pub(crate) decision: Option<(String, bool, i64)>,
    last_seen: i64,
}

/// State shared by the host and the demo's own routes.
pub(crate) struct Shared {
    pub(crate) secure_cookies: bool,
    pub(crate) authorize_path: String,
    pub(crate) api_me: String,
    user: String,
    password: Secret,
    rng: Arc<dyn RandomSource>,
    clients: ClientBackend,
    sessions: Mutex<HashMap<String, Session>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a session half-written in
    // a way that matters here; keep serving.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(
        secure_cookies: bool,
        authorize_path: String,
        api_me: String,
        user: String,
        password: Secret,
        rng: Arc<dyn RandomSource>,
        clients: ClientBackend,
    ) -> Self {
        Shared {
            secure_cookies,
            authorize_path,
            api_me,
            user,
            password,
            rng,
            clients,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// The demo user's name.
    pub(crate) fn user(&self) -> &str {
        &self.user
    }

    /// Whether `username`/`password` are the demo user's, compared in
    /// constant time (through digests, so lengths do not leak either).
    pub(crate) fn check_password(&self, username: &str, password: &str) -> bool {
        let u = ct_eq(&sha256(username.as_bytes()), &sha256(self.user.as_bytes()));
        let p = ct_eq(
            &sha256(password.as_bytes()),
            &sha256(self.password.expose().as_bytes()),
        );
        u & p
    }

    pub(crate) async fn client(
        &self,
        client_id: &str,
    ) -> Result<Option<DemoClient>, ClientDbError> {
        self.clients.get(client_id).await
    }

    /// The session id in the request's cookies, if any.
    pub(crate) fn session_id(headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, value)| value.to_owned())
    }

    /// Run `f` on the request's live session, if it has one.
    pub(crate) fn with_session<R>(
        &self,
        headers: &HeaderMap,
        f: impl FnOnce(&mut Session) -> R,
    ) -> Option<R> {
        let id = Self::session_id(headers)?;
        let now = now();
        let mut sessions = lock(&self.sessions);
        let key = sha256_b64url(id.as_bytes());
        let session = sessions.get_mut(&key)?;
        if now - session.last_seen > SESSION_TTL {
            sessions.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some(f(session))
    }

    /// Create a session; returns its id (for the cookie).
    pub(crate) fn create_session(&self, init: impl FnOnce(&mut Session)) -> Option<String> {
        let id = self.rng.token(32).ok()?;
        let csrf = Secret::new(self.rng.token(32).ok()?);
        let sid = self.rng.token(16).ok()?;
        let now = now();
        let mut session = Session {
            csrf,
            sid,
            user: None,
            auth_time: 0,
            fresh_login: None,
            consents: HashSet::new(),
            pending_consent: None,
            decision: None,
            last_seen: now,
        };
        init(&mut session);
        let mut sessions = lock(&self.sessions);
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, s| now - s.last_seen <= SESSION_TTL);
        }
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(sha256_b64url(id.as_bytes()), session);
        Some(id)
    }

    /// Replace the request's session by a fresh one (after login, against
    /// session fixation), keeping remembered consents of the same user.
    pub(crate) fn rotate_session(
        &self,
        headers: &HeaderMap,
        init: impl FnOnce(&mut Session),
    ) -> Option<String> {
        let old = Self::session_id(headers)
            .and_then(|id| lock(&self.sessions).remove(&sha256_b64url(id.as_bytes())));
        self.create_session(|s| {
            init(s);
            if let Some(old) = old
                && old.user == s.user
            {
                s.consents = old.consents;
            }
        })
    }

    /// The `Set-Cookie` value for session `id`.
    pub(crate) fn session_cookie(&self, id: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!(
            "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_TTL}{secure}"
        )
    }
}

/// The consent memory key: the client and its (sorted) scopes.
pub(crate) fn consent_key(client_id: &str, scopes: &[String]) -> String {
    let mut sorted: Vec<&str> = scopes.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    format!("{client_id} {}", sorted.join(" "))
}

/// The demo host. Cheap to clone (its state is shared behind an `Arc`).
#[derive(Clone)]
pub struct DemoHost {
    pub(crate) shared: Arc<Shared>,
}

/// The demo's whole authorization-server configuration: one annotated impl
/// block. The macro checks it at compile time and generates the Host-part
/// impls, `DemoHost::server_config`, `DemoHost::discovery_metadata` and
/// `DemoHost::router` (see [`crate::server_config`]).
#[attesto::authorization_server(
    scopes = ["openid", "profile", "email", "offline_access", "api.read", "api.write"],
    registration,
    default_resource = "/api/me",
    // ID tokens: RS256 by default (OIDC Discovery §3); a client may
    // register `id_token_signed_response_alg: ES256` instead.
    id_token_signing_alg = RS256,
    id_token_extra_algs = [ES256],
)]
impl DemoHost {
    async fn find_client(
        &self,
        client_id: &str,
    ) -> Result<ClientLookup<DemoClient>, ClientDbError> {
        Ok(match self.shared.client(client_id).await? {
            Some(c) => ClientLookup::Found(c),
            None => ClientLookup::NotFound,
        })
    }

    async fn register_client(&self, client: NewClient) -> Result<(), RegistrationError> {
        match self.shared.clients.insert(DemoClient::new(&client)).await {
            Ok(Inserted::Yes) => Ok(()),
            Ok(Inserted::Full) => Err(RegistrationError::Rejected {
                description: "the demo's client registry is full".into(),
            }),
            Err(e) => Err(RegistrationError::Unavailable(Box::new(e))),
        }
    }

    async fn unregister_client(&self, client_id: &str) -> Result<(), RegistrationError> {
        self.shared
            .clients
            .remove(client_id)
            .await
            .map_err(|e| RegistrationError::Unavailable(Box::new(e)))
    }

    async fn find_principal(
        &self,
        subject_id: &str,
    ) -> Result<Option<DemoUser>, std::convert::Infallible> {
        Ok((subject_id == self.shared.user).then(|| DemoUser {
            id: subject_id.to_owned(),
        }))
    }

    fn resource_allowed(&self, _client_id: &str, resource: &str) -> bool {
        resource == self.shared.api_me
    }

    async fn login(&self, ctx: &AuthorizeContext<'_>) -> LoginOutcome<Response> {
        let now = now();
        let opts = ctx.options;
        let known =
            self.shared
                .with_session(&ctx.parts.headers, |s| {
                    let user = s.user.clone()?;
                    let fresh = s.fresh_login.as_ref().is_some_and(|(resume, at)| {
                        resume == ctx.resume && now - at <= FRESH_WINDOW
                    });
                    let within_max_age = opts.max_age.is_none_or(|max| {
                        now.saturating_sub(s.auth_time) <= i64::try_from(max).unwrap_or(i64::MAX)
                    });
                    (fresh || (!opts.force_reauthentication && within_max_age)).then_some((
                        user,
                        s.auth_time,
                        s.sid.clone(),
                    ))
                })
                .flatten();
        if let Some((user, auth_time, sid)) = known {
            return LoginOutcome::Authenticated(
                Authentication::new(user)
                    .auth_time(auth_time)
                    .amr(["pwd"])
                    .sid(sid),
            );
        }
        if opts.no_interaction {
            return LoginOutcome::InteractionRequired(InteractionRequired::Login);
        }
        let client_name = self
            .shared
            .client(ctx.client_id)
            .await
            .ok()
            .flatten()
            .map(|c| c.display_name().to_owned());
        LoginOutcome::Respond(pages::login_page(
            &self.shared,
            &ctx.parts.headers,
            ctx.resume,
            client_name.as_deref(),
            ctx.login_hint,
            None,
        ))
    }

    async fn consent(
        &self,
        ctx: &AuthorizeContext<'_>,
        authentication: &Authentication,
    ) -> ConsentOutcome<Response> {
        let now = now();
        let key = consent_key(ctx.client_id, ctx.scopes);
        let decided = self
            .shared
            .with_session(&ctx.parts.headers, |s| {
                if s.user.as_deref() != Some(authentication.subject_id.as_str()) {
                    return None;
                }
                if let Some((resume, approved, at)) = s.decision.take()
                    && resume == ctx.resume
                    && now - at <= FRESH_WINDOW
                {
                    return Some(approved);
                }
                (!ctx.options.force_consent && s.consents.contains(&key)).then_some(true)
            })
            .flatten();
        match decided {
            Some(true) => return ConsentOutcome::Granted(ctx.scopes.to_vec()),
            Some(false) => return ConsentOutcome::Denied,
            None => {}
        }
        // Under `prompt=none` attesto turns a consent page into
        // `consent_required`; the page is never shown.
        let client_name = self
            .shared
            .client(ctx.client_id)
            .await
            .ok()
            .flatten()
            .map_or_else(|| ctx.client_id.to_owned(), |c| c.display_name().to_owned());
        let page = self.shared.with_session(&ctx.parts.headers, |s| {
            s.pending_consent = Some((ctx.resume.to_owned(), key.clone()));
            s.csrf.clone()
        });
        match page {
            Some(csrf) => ConsentOutcome::Respond(pages::consent_page(
                &csrf,
                ctx.resume,
                &client_name,
                ctx.scopes,
                &authentication.subject_id,
            )),
            // The session vanished between login and consent: log in again.
            None => ConsentOutcome::Respond(pages::login_page(
                &self.shared,
                &ctx.parts.headers,
                ctx.resume,
                Some(&client_name),
                None,
                None,
            )),
        }
    }
}
