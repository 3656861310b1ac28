//! Runs the demo in-process on a loopback port and drives it like a browser.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use attesto::secret::{OsRandom, RandomSource, sha256_b64url};
use attesto_demo::DemoConfig;
use reqwest::header::{HeaderMap, LOCATION};
use serde_json::Value;

pub mod flow;
pub mod interop;
pub mod pg_relay;
pub mod sql_count;

/// The demo user.
pub const USER: &str = "alice";
/// The demo password.
pub const PASSWORD: &str = "wonderland";
/// A redirect URI nothing listens on: the browser never follows it.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// A running demo.
#[derive(Clone)]
pub struct Demo {
    /// The issuer, e.g. `http://127.0.0.1:41234`.
    pub issuer: String,
    /// A browser: cookie jar, no automatic redirects.
    pub browser: reqwest::Client,
    /// A plain HTTP client (no cookies, no redirects).
    pub http: reqwest::Client,
}

/// Start the demo on a loopback port.
pub async fn spawn() -> Demo {
    spawn_with_issuer(None).await
}

/// Start the demo on a loopback port with `issuer` (default `http://<addr>`).
pub async fn spawn_with_issuer(issuer: Option<&str>) -> Demo {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let issuer = issuer.map_or(addr, str::to_owned);
    let app = attesto_demo::app(DemoConfig::ephemeral(issuer.clone()).unwrap()).unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Demo {
        issuer,
        browser: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

impl Demo {
    /// An absolute URL on the demo.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.issuer)
        }
    }

    /// Register a client (RFC 7591); panics unless 201.
    pub async fn register(&self, metadata: Value) -> Value {
        let resp = self
            .http
            .post(self.url("/oauth/register"))
            .json(&metadata)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "registration failed: {body}");
        body
    }

    /// POST a form to the token endpoint with HTTP Basic client authentication.
    pub async fn token(&self, id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url("/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// GET in the browser; returns status, headers, body.
    pub async fn get(&self, url: &str) -> (u16, HeaderMap, String) {
        let resp = self.browser.get(self.url(url)).send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }

    /// POST a form in the browser.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(String, String)],
    ) -> (u16, HeaderMap, String) {
        let resp = self
            .browser
            .post(self.url(url))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }
}

/// The `Location` of a redirect.
pub fn location(headers: &HeaderMap) -> String {
    headers
        .get(LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

/// Undo the demo's HTML escaping.
pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in one tag's text.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// A parsed HTML form: its action and its hidden fields.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The hidden field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The fields with `extra` added (or replaced).
    pub fn with(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .fields
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .cloned()
            .collect();
        out.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        out
    }

    /// The fields without `name`.
    pub fn without(&self, name: &str) -> Vec<(String, String)> {
        self.fields
            .iter()
            .filter(|(k, _)| k != name)
            .cloned()
            .collect()
    }
}

/// The first form of `html`.
pub fn form(html: &str) -> Form {
    let start = html.find("<form").expect("a form");
    let end = html[start..].find("</form>").expect("a closed form") + start;
    let body = &html[start..end];
    let open_end = body.find('>').unwrap();
    let action = attr(&body[..open_end], "action").expect("a form action");
    let mut fields = Vec::new();
    for part in body.split("<input").skip(1) {
        let tag = &part[..part.find('>').unwrap()];
        if attr(tag, "type").as_deref() == Some("hidden") {
            fields.push((attr(tag, "name").unwrap(), attr(tag, "value").unwrap()));
        }
    }
    Form { action, fields }
}

/// PKCE: a fresh verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = OsRandom.token(32).unwrap();
    let challenge = sha256_b64url(verifier.as_bytes());
    (verifier, challenge)
}

/// A random token for state / nonce.
pub fn random() -> String {
    OsRandom.token(16).unwrap()
}

/// An authorization request URL (path and query).
pub fn authorize_url(
    client_id: &str,
    scope: &str,
    state: &str,
    nonce: &str,
    challenge: &str,
) -> String {
    let mut url = url::Url::parse("http://x/oauth/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    format!("{}?{}", url.path(), url.query().unwrap())
}

/// The query parameters of a URL.
pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Whether `location` is the client's redirect URI.
pub fn is_client_redirect(location: &str) -> bool {
    location.starts_with(REDIRECT_URI)
}

/// Follow same-origin redirects in the browser until a page (2xx/4xx) or
/// a redirect to the client. Returns the final status, headers and body.
pub async fn follow(
    demo: &Demo,
    mut status: u16,
    mut headers: HeaderMap,
    mut body: String,
) -> (u16, HeaderMap, String) {
    for _ in 0..10 {
        if !(300..400).contains(&status) {
            return (status, headers, body);
        }
        let loc = location(&headers);
        if is_client_redirect(&loc) {
            return (status, headers, body);
        }
        (status, headers, body) = demo.get(&loc).await;
    }
    panic!("redirect loop");
}

/// Log in on a login page: returns what came after following redirects.
pub async fn login(
    demo: &Demo,
    login_page: &str,
    user: &str,
    password: &str,
) -> (u16, HeaderMap, String) {
    let f = form(login_page);
    assert_eq!(f.action, "/login");
    let (s, h, b) = demo
        .post_form(
            &f.action,
            &f.with(&[("username", user), ("password", password)]),
        )
        .await;
    follow(demo, s, h, b).await
}

/// Decide on a consent page: returns what came after following redirects.
pub async fn decide(demo: &Demo, consent_page: &str, decision: &str) -> (u16, HeaderMap, String) {
    let f = form(consent_page);
    assert_eq!(f.action, "/consent");
    let (s, h, b) = demo
        .post_form(&f.action, &f.with(&[("decision", decision)]))
        .await;
    follow(demo, s, h, b).await
}

/// The PostgreSQL test database, from `ATTESTO_TEST_POSTGRES_URL`. Without
/// it the test prints a loud `*** SKIPPED: ` line and returns `None`, or
/// fails when `ATTESTO_REQUIRE_POSTGRES=1`.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("ATTESTO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("ATTESTO_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "{test}: ATTESTO_REQUIRE_POSTGRES=1 but ATTESTO_TEST_POSTGRES_URL is not set"
            );
            // Straight to stderr, past the test harness's output capture.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("*** SKIPPED: {test}: set ATTESTO_TEST_POSTGRES_URL to run it\n")
                    .as_bytes(),
            );
            None
        }
    }
}

/// A fresh table prefix, so tests share one database but no state.
pub fn fresh_prefix() -> attesto_sqlx::TablePrefix {
    let tag: String = OsRandom
        .token(12)
        .unwrap()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(12)
        .collect();
    attesto_sqlx::TablePrefix::new(format!("t{tag}_")).unwrap()
}

/// A browser and a plain client for a demo node at `base` (its address).
pub fn clients_for(base: String) -> Demo {
    Demo {
        issuer: base,
        browser: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

/// Serve `config` over the database at `url` on `listener`.
pub async fn serve_node(
    config: DemoConfig,
    url: &str,
    listener: tokio::net::TcpListener,
) -> attesto_demo::Demo {
    let demo = attesto_demo::connect(config, url).await.unwrap();
    let router = demo.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    demo
}

/// Register a confidential web client (code + refresh) and return its id and secret.
pub async fn register_code_client(demo: &Demo, scope: &str) -> (String, String) {
    let reg = demo
        .register(serde_json::json!({
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": scope,
            "client_name": "Cluster app",
        }))
        .await;
    (
        reg["client_id"].as_str().unwrap().to_owned(),
        reg["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// Run the browser flow on `demo` (login, consent) and return the code and
/// the PKCE verifier.
pub async fn browser_code(demo: &Demo, client_id: &str, scope: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let state = random();
    let (s, h, b) = demo
        .get(&authorize_url(
            client_id,
            scope,
            &state,
            &random(),
            &challenge,
        ))
        .await;
    let (s, h, b) = follow(demo, s, h, b).await;
    // A browser that is logged in already and consented before goes
    // straight back to the client.
    let headers = if (300..400).contains(&s) {
        h
    } else {
        assert_eq!(s, 200, "expected the login page: {b}");
        let (s, h2, b) = login(demo, &b, USER, PASSWORD).await;
        if s == 200 {
            let (_, h3, _) = decide(demo, &b, "approve").await;
            h3
        } else {
            h2
        }
    };
    let loc = location(&headers);
    assert!(is_client_redirect(&loc), "{loc}");
    let q = query(&loc);
    assert_eq!(q.get("state"), Some(&state));
    (q["code"].clone(), verifier)
}
