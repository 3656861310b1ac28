//! The example end to end over real HTTP on loopback: the derived models are
//! read from the application's own SQLite tables by attesto's server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use attesto::secret::{OsRandom, RandomSource, Secret, sha256_b64url};
use base64::Engine as _;
use reqwest::header::LOCATION;
use serde_json::Value;
use sqlx_model::db::{PASSWORD, REDIRECT_URI, SPA_CLIENT, USER, WEB_CLIENT, WEB_SECRET};

struct App {
    base: String,
    browser: reqwest::Client,
    http: reqwest::Client,
}

async fn spawn() -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let secret = Secret::new(OsRandom.token(32).unwrap());
    let app = sqlx_model::app("sqlite::memory:", &base, secret)
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = |cookies| {
        reqwest::Client::builder()
            .cookie_store(cookies)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    App {
        base,
        browser: client(true),
        http: client(false),
    }
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle).unwrap() + needle.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&amp;", "&")
}

fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Run the authorization request, logging in through the application's
    /// own form when the browser has no session yet; returns the code and
    /// whether the login page was shown.
    async fn authorize(&self, client_id: &str, scope: &str, challenge: &str) -> (String, bool) {
        let mut url = url::Url::parse(&self.url("/oauth/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", scope)
            .append_pair("state", "st")
            .append_pair("nonce", "n0")
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        let mut resp = self.browser.get(url).send().await.unwrap();
        let login_shown = resp.status() == 200;
        if login_shown {
            // The application's login page (no session yet).
            let return_to = hidden(&resp.text().await.unwrap(), "return_to");
            let login = self
                .browser
                .post(self.url("/login"))
                .form(&[
                    ("username", USER),
                    ("password", PASSWORD),
                    ("return_to", &return_to),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(login.status(), 303);
            let back = login.headers()[LOCATION].to_str().unwrap().to_owned();
            resp = self.browser.get(self.url(&back)).send().await.unwrap();
        }
        assert!(resp.status().is_redirection(), "{}", resp.status());
        let to_client = resp.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(to_client.starts_with(REDIRECT_URI), "{to_client}");
        assert_eq!(query(&to_client, "state").as_deref(), Some("st"));
        (query(&to_client, "code").expect("a code"), login_shown)
    }

    async fn userinfo(&self, access_token: &str) -> Value {
        let resp = self
            .http
            .get(self.url("/oauth/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }
}

fn pkce() -> (String, String) {
    let verifier = OsRandom.token(32).unwrap();
    let challenge = sha256_b64url(verifier.as_bytes());
    (verifier, challenge)
}

#[tokio::test]
async fn client_credentials_authenticates_the_derived_client_with_its_stored_secret_hash() {
    let app = spawn().await;
    let ok = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(WEB_CLIENT, Some(WEB_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    let at = claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["client_id"], WEB_CLIENT);
    assert!(at["sub"].as_str().unwrap().starts_with("oc_"));

    let wrong = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(WEB_CLIENT, Some("not-the-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // the public client's grant list (a JSON column) has no client_credentials
    let spa = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", SPA_CLIENT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(spa.status(), 400);
}

#[tokio::test]
async fn code_flow_issues_prefixed_subjects_and_releases_roles_only_with_their_scope() {
    let app = spawn().await;

    // Confidential client, scope `roles` granted.
    let (verifier, challenge) = pkce();
    let (code, login_shown) = app
        .authorize(WEB_CLIENT, "openid email roles", &challenge)
        .await;
    assert!(login_shown, "no session yet: the application's login page");
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(WEB_CLIENT, Some(WEB_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], "usr_1", "the derive's sub_prefix");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["roles"], serde_json::json!(["admin", "auditor"]));
    let info = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["sub"], "usr_1");
    assert_eq!(info["roles"], serde_json::json!(["admin", "auditor"]));
    assert_eq!(info["email_verified"], true);
    assert!(info.get("name").is_none(), "profile was not granted");

    // Public client (PKCE, no secret), without `roles`.
    let (verifier, challenge) = pkce();
    let (code, login_shown) = app
        .authorize(SPA_CLIENT, "openid profile", &challenge)
        .await;
    assert!(!login_shown, "the session from the first login");
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", SPA_CLIENT),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let info = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["sub"], "usr_1");
    assert_eq!(info["name"], "Alice");
    assert_eq!(info["preferred_username"], USER);
    assert!(info.get("roles").is_none(), "roles needs its scope");
    assert!(info.get("email").is_none());
}

#[tokio::test]
async fn unregistered_redirect_uri_is_refused_for_the_derived_client() {
    let app = spawn().await;
    let resp = app
        .browser
        .get(app.url(&format!(
            "/oauth/authorize?response_type=code&client_id={SPA_CLIENT}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallbackx&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&scope=openid"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get(LOCATION).is_none());
}
