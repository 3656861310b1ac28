//! The end-to-end driver shared by the model examples' tests
//! (`examples/sqlx-model`, `examples/diesel-model`): a browser with a cookie
//! jar and a plain HTTP client against the example served on loopback, the
//! application's own login form, PKCE, and the checks every example must
//! pass whatever its models look like. Each example includes it with
//! `#[path = "../../support/e2e.rs"] #[macro_use] mod e2e;` and keeps its own
//! model-specific assertions (subject prefix, custom claims) in its test file.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::future::Future;

use attesto::secret::{OsRandom, RandomSource, Secret, sha256_b64url};
use base64::Engine as _;
use reqwest::header::LOCATION;
use serde_json::Value;

/// The clients, user and redirect URI an example seeds its database with.
pub struct Fixture {
    /// A confidential client with a stored secret hash and `client_credentials`.
    pub web_client: &'static str,
    /// Its secret.
    pub web_secret: &'static str,
    /// A public client (PKCE only) without `client_credentials`.
    pub spa_client: &'static str,
    /// The redirect URI both clients registered.
    pub redirect_uri: &'static str,
    /// The seeded user's login name.
    pub user: &'static str,
    /// Their password.
    pub password: &'static str,
}

/// The [`Fixture`] of an example whose seed module (`fixture!(sqlx_model::db)`)
/// defines `WEB_CLIENT`, `WEB_SECRET`, `SPA_CLIENT`, `REDIRECT_URI`, `USER`
/// and `PASSWORD`.
macro_rules! fixture {
    ($($db:ident)::+) => {
        e2e::Fixture {
            web_client: $($db)::+::WEB_CLIENT,
            web_secret: $($db)::+::WEB_SECRET,
            spa_client: $($db)::+::SPA_CLIENT,
            redirect_uri: $($db)::+::REDIRECT_URI,
            user: $($db)::+::USER,
            password: $($db)::+::PASSWORD,
        }
    };
}

/// The example, served on loopback.
pub struct App {
    pub base: String,
    /// Follows no redirects, keeps cookies (the login session).
    pub browser: reqwest::Client,
    /// Follows no redirects, keeps no cookies (back-channel calls).
    pub http: reqwest::Client,
    pub fixture: Fixture,
}

/// Serve the router `build` makes for the issuer URL and server secret it is given.
pub async fn spawn<F, Fut>(fixture: Fixture, build: F) -> App
where
    F: FnOnce(String, Secret) -> Fut,
    Fut: Future<Output = axum::Router>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let secret = Secret::new(OsRandom.token(32).unwrap());
    let app = build(base.clone(), secret).await;
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
        fixture,
    }
}

/// The (unverified) claims of a JWT.
pub fn claims(jwt: &str) -> Value {
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

/// A fresh PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = OsRandom.token(32).unwrap();
    let challenge = sha256_b64url(verifier.as_bytes());
    (verifier, challenge)
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Run the authorization request, logging in through the application's
    /// own form when the browser has no session yet; returns the code and
    /// whether the login page was shown.
    pub async fn authorize(&self, client_id: &str, scope: &str, challenge: &str) -> (String, bool) {
        let f = &self.fixture;
        let mut url = url::Url::parse(&self.url("/oauth/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", f.redirect_uri)
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
                    ("username", f.user),
                    ("password", f.password),
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
        assert!(to_client.starts_with(f.redirect_uri), "{to_client}");
        assert_eq!(query(&to_client, "state").as_deref(), Some("st"));
        (query(&to_client, "code").expect("a code"), login_shown)
    }

    /// Redeem `code`: with HTTP Basic when `secret` is given, else as a
    /// public client. Returns the token response.
    pub async fn redeem(
        &self,
        client_id: &str,
        secret: Option<&str>,
        code: &str,
        verifier: &str,
    ) -> Value {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.fixture.redirect_uri),
            ("code_verifier", verifier),
        ];
        let mut req = self.http.post(self.url("/oauth/token"));
        match secret {
            Some(s) => req = req.basic_auth(client_id, Some(s)),
            None => form.push(("client_id", client_id)),
        }
        let resp = req.form(&form).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    pub async fn userinfo(&self, access_token: &str) -> Value {
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

/// `client_credentials`: the confidential client authenticates with the
/// secret whose hash its row stores, a wrong secret is `401`, and the public
/// client (whose stored grant list lacks the grant) is refused.
pub async fn client_credentials_authenticates_with_the_stored_secret_hash(app: &App) {
    let f = &app.fixture;
    let ok = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(f.web_client, Some(f.web_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    let at = claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["client_id"], f.web_client);
    assert!(at["sub"].as_str().unwrap().starts_with("oc_"));

    let wrong = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(f.web_client, Some("not-the-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let spa = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", f.spa_client),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(spa.status(), 400);
}

/// A redirect URI the client did not register gets an error page, never a
/// redirect.
pub async fn unregistered_redirect_uri_is_refused(app: &App) {
    let spa = app.fixture.spa_client;
    let resp = app
        .browser
        .get(app.url(&format!(
            "/oauth/authorize?response_type=code&client_id={spa}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallbackx&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&scope=openid"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get(LOCATION).is_none());
}
