//! The code `#[authorization_server]` generates, run: the router serves real
//! requests through the host's own methods, the discovery document it
//! publishes is the one `discovery_metadata` returns, and snapshots pin the
//! metadata of several configurations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use attesto::client_auth::{ClientAuthMethod, SecretHasher};
use attesto::host::{InvalidScope, LoginOutcome, OAuthClient, default_authorize_scope};
use attesto::jose::{Algorithm, SigningKey, StaticKeystore};
use attesto::secret::Secret;
use attesto::store::memory::MemoryStores;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt as _;
use ui_tests::{AuthorizeContext, DbError, Response, User, alice, user};

const SERVER_SECRET: &str = "a server secret that is long enough for hmac keys";
const ISSUER: &str = "https://id.example";

/// A confidential machine client.
struct Machine {
    id: String,
    secret_hash: String,
}

impl OAuthClient for Machine {
    fn client_id(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }
    fn token_endpoint_auth_method(&self) -> ClientAuthMethod {
        ClientAuthMethod::ClientSecretBasic
    }
    fn client_secret_hash(&self) -> Option<&str> {
        Some(&self.secret_hash)
    }
    fn grant_types(&self) -> Option<Vec<Cow<'_, str>>> {
        Some(vec![Cow::Borrowed("client_credentials")])
    }
}

/// A host that counts its lookups, to prove the router calls *its* methods.
#[derive(Clone, Default)]
struct Api {
    lookups: Arc<AtomicUsize>,
}

#[attesto::authorization_server(
    prefix = "/auth",
    scopes = ["openid", "api.read", "api.write"],
    grants = [authorization_code, refresh_token, client_credentials],
    access_token_ttl = "2m",
)]
impl Api {
    async fn find_client(&self, id: &str) -> Result<Option<Machine>, DbError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let hasher = SecretHasher::new(SERVER_SECRET.as_bytes()).unwrap();
        Ok((id == "robot").then(|| Machine {
            id: id.to_owned(),
            secret_hash: hasher.hash("s3cret").unwrap().as_str().to_owned(),
        }))
    }

    async fn find_principal(&self, id: &str) -> Result<Option<User>, DbError> {
        user(id)
    }

    async fn login(&self, _ctx: &AuthorizeContext<'_>) -> LoginOutcome<Response> {
        alice()
    }

    /// This host never grants `api.write` (a narrowing policy).
    fn authorize_scope(
        &self,
        client: &Machine,
        requested: &[&str],
        supported: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<String>, InvalidScope> {
        let mut granted = default_authorize_scope(client, requested, supported)?;
        granted.retain(|s| s != "api.write");
        Ok(granted)
    }
}

fn keys() -> Arc<StaticKeystore> {
    Arc::new(
        StaticKeystore::builder()
            .key(SigningKey::generate(Algorithm::ES256).unwrap())
            // ID tokens are RS256 by default (OIDC Discovery §3)
            .key(SigningKey::generate(Algorithm::RS256).unwrap())
            .build()
            .unwrap(),
    )
}

fn router(api: Api) -> axum::Router {
    api.router(
        ISSUER,
        MemoryStores::new(),
        keys(),
        Secret::new(SERVER_SECRET),
    )
    .unwrap()
}

async fn body_json(resp: axum::response::Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn token_request(auth: &str) -> Request<Body> {
    scoped_token_request(auth, "api.read")
}

fn scoped_token_request(auth: &str, scope: &str) -> Request<Body> {
    Request::post("/auth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, auth)
        .body(Body::from(format!(
            "grant_type=client_credentials&scope={scope}"
        )))
        .unwrap()
}

#[tokio::test]
async fn the_hosts_scope_policy_narrows_what_the_token_carries() {
    let app = router(Api::default());
    let resp = app
        .oneshot(scoped_token_request(
            "Basic cm9ib3Q6czNjcmV0",
            "api.read%20api.write",
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_json(resp).await["scope"], "api.read");
}

#[tokio::test]
async fn generated_router_issues_tokens_through_the_hosts_own_lookup() {
    let api = Api::default();
    let app = router(api.clone());
    // robot:s3cret
    let resp = app
        .clone()
        .oneshot(token_request("Basic cm9ib3Q6czNjcmV0"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = body_json(resp).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["expires_in"], 120,
        "access_token_ttl = \"2m\" reached the runtime"
    );
    assert_eq!(body["scope"], "api.read");
    assert!(api.lookups.load(Ordering::SeqCst) >= 1);

    // robot:wrong
    let resp = app
        .oneshot(token_request("Basic cm9ib3Q6d3Jvbmc="))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body_json(resp).await["error"], "invalid_client");
}

#[tokio::test]
async fn served_discovery_document_is_the_generated_metadata() {
    let app = router(Api::default());
    let resp = app
        .oneshot(
            Request::get("/.well-known/oauth-authorization-server")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        body_json(resp).await,
        Api::discovery_metadata(ISSUER).unwrap()
    );
}

#[test]
fn a_bad_issuer_is_the_only_runtime_configuration_error() {
    let err = Api::server_config("http://id.example").unwrap_err();
    assert!(
        matches!(err, attesto::server::ConfigError::Issuer(_)),
        "{err}"
    );
    assert!(Api::server_config("http://127.0.0.1:8080").is_ok());
}

#[test]
fn discovery_metadata_of_a_prefixed_server() {
    insta::assert_json_snapshot!(Api::discovery_metadata(ISSUER).unwrap());
}

/// Machine-to-machine only, DPoP off.
struct M2m;

#[attesto::authorization_server(grants = [client_credentials], scopes = ["api.read"], dpop = false)]
impl M2m {
    async fn find_client(&self, id: &str) -> Result<Option<Machine>, DbError> {
        let _ = id;
        Ok(None)
    }
    async fn find_principal(&self, id: &str) -> Result<Option<User>, DbError> {
        user(id)
    }
}

#[test]
fn discovery_metadata_of_a_machine_to_machine_server() {
    insta::assert_json_snapshot!(M2m::discovery_metadata(ISSUER).unwrap());
}

/// Open registration with default scopes, DPoP nonces, custom paths.
struct Open;

#[attesto::authorization_server(
    paths(token = "/oauth/v2/token"),
    scopes = ["openid", "profile", "email", "offline_access", "documents.*"],
    dpop(nonce = "required", algorithms = [ES256, EdDSA]),
    registration(default_scopes = ["openid"]),
    default_resource = "/api",
)]
impl Open {
    async fn find_client(&self, id: &str) -> Result<Option<Machine>, DbError> {
        let _ = id;
        Ok(None)
    }
    async fn find_principal(&self, id: &str) -> Result<Option<User>, DbError> {
        user(id)
    }
    async fn login(&self, _ctx: &AuthorizeContext<'_>) -> LoginOutcome<Response> {
        alice()
    }
    async fn register_client(
        &self,
        _client: attesto::server::NewClient,
    ) -> Result<(), attesto::server::RegistrationError> {
        Ok(())
    }
}

#[test]
fn discovery_metadata_of_an_open_registration_server_with_dpop_nonces() {
    insta::assert_json_snapshot!(Open::discovery_metadata(ISSUER).unwrap());
    let cfg = Open::server_config(ISSUER).unwrap();
    assert_eq!(cfg.default_resource, "https://id.example/api");
    assert_eq!(cfg.paths.token, "/oauth/v2/token");
}
