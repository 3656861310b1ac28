//! The demo end to end, driven as a browser would: dynamic registration,
//! the authorization endpoint, the HTML login and consent pages (with their
//! CSRF tokens and session cookie), the token endpoint with PKCE, the ID
//! token, the protected API, refresh, revocation and introspection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use attesto::jose::{Algorithm, AlgorithmSet, JwkSet};
use attesto::token::{IdTokenExpectations, IdTokenVerifier, TrustedKeys};
use serde_json::{Value, json};
use support::*;

const SCOPE: &str = "openid profile email offline_access api.read";

async fn register_web_client(demo: &Demo, name: &str) -> (String, String) {
    let reg = demo
        .register(json!({
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": SCOPE,
            "client_name": name,
        }))
        .await;
    (
        reg["client_id"].as_str().unwrap().to_owned(),
        reg["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// Start an authorization request; returns the login page.
async fn start(demo: &Demo, client_id: &str, challenge: &str, state: &str, nonce: &str) -> String {
    let (status, headers, body) = demo
        .get(&authorize_url(client_id, SCOPE, state, nonce, challenge))
        .await;
    let (status, _, body) = follow(demo, status, headers, body).await;
    assert_eq!(status, 200, "expected the login page: {body}");
    assert!(body.contains("name=\"username\""), "{body}");
    assert!(body.contains("name=\"password\""), "{body}");
    body
}

async fn verify_id_token(demo: &Demo, client_id: &str, id_token: &str, nonce: &str) -> Value {
    let discovery: Value = demo
        .http
        .get(demo.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], demo.issuer);
    let jwks = demo
        .http
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let set = JwkSet::from_json(&jwks).unwrap();
    // The JWKS publishes the ES256 access-token key and the RS256 ID-token
    // key; ID tokens are RS256 (OIDC Discovery §3).
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256"])
    );
    let published: Vec<&str> = set
        .keys
        .iter()
        .filter_map(|k| k.alg())
        .map(|a| a.as_str())
        .collect();
    assert!(
        published.contains(&"ES256") && published.contains(&"RS256"),
        "{published:?}"
    );
    let keys = TrustedKeys::from_jwk_set(&set, AlgorithmSet::new(&[Algorithm::RS256])).unwrap();
    let verifier = IdTokenVerifier::builder(demo.issuer.clone(), client_id, keys)
        .build()
        .unwrap();
    let claims = verifier
        .verify(id_token, &IdTokenExpectations::default().nonce(nonce))
        .expect("the ID token verifies against the published JWKS");
    assert_eq!(claims.iss, demo.issuer);
    assert_eq!(claims.nonce.as_deref(), Some(nonce));
    assert!(claims.auth_time.is_some(), "auth_time from the login");
    assert_eq!(claims.amr.as_deref(), Some(&["pwd".to_owned()][..]));
    json!({ "sub": claims.sub, "auth_time": claims.auth_time, "sid": claims.sid })
}

#[tokio::test]
async fn browser_flow_registers_logs_in_consents_and_uses_every_token() {
    let demo = spawn().await;
    let (client_id, secret) = register_web_client(&demo, "E2E app").await;
    let (verifier, challenge) = pkce();
    let (state, nonce) = (random(), random());

    // authorize → login page (sets the session cookie)
    let page = start(&demo, &client_id, &challenge, &state, &nonce).await;
    assert!(page.contains("E2E app"), "the login page names the client");

    // login → consent page listing the client and the scopes
    let (status, _, consent) = login(&demo, &page, USER, PASSWORD).await;
    assert_eq!(status, 200, "{consent}");
    assert!(consent.contains("E2E app"), "{consent}");
    for scope in SCOPE.split(' ') {
        assert!(consent.contains(scope), "consent lists {scope}: {consent}");
    }

    // approve → redirect to the client with code, state and iss (RFC 9207)
    let (status, headers, _) = decide(&demo, &consent, "approve").await;
    assert!((300..400).contains(&status), "{status}");
    let cb = location(&headers);
    assert!(is_client_redirect(&cb), "{cb}");
    let q = query(&cb);
    assert_eq!(q["state"], state);
    assert_eq!(q["iss"], demo.issuer);
    let code = q["code"].clone();

    // code + PKCE → tokens
    let (status, tokens) = demo
        .token(
            &client_id,
            &secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let id_token = tokens["id_token"].as_str().unwrap();

    // the ID token verifies: signature (JWKS from discovery), iss, aud, exp, nonce
    let id = verify_id_token(&demo, &client_id, id_token, &nonce).await;
    assert!(id["sub"].as_str().unwrap().ends_with(USER), "{id}");
    // the session id in the ID token is not the session cookie
    let sid = id["sid"]
        .as_str()
        .expect("the ID token carries the session id");
    assert_eq!(sid.len(), 22);

    // the protected API echoes the token's claims
    let me = demo
        .http
        .get(demo.url("/api/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["sub"], id["sub"]);
    assert_eq!(me["client_id"], client_id);
    assert_eq!(me["aud"], demo.url("/api/me"));
    let unauth = demo.http.get(demo.url("/api/me")).send().await.unwrap();
    assert_eq!(unauth.status().as_u16(), 401);
    assert!(unauth.headers().contains_key("www-authenticate"));

    // userinfo
    let info: Value = demo
        .http
        .get(demo.url("/oauth/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], id["sub"]);
    assert_eq!(info["email"], "alice@example.com");

    // refresh (rotation)
    let (status, refreshed) = demo
        .token(
            &client_id,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 200, "{refreshed}");
    let rotated = refreshed["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, refresh);
    assert!(refreshed["access_token"].is_string());

    // revoke the current refresh token
    let resp = demo
        .http
        .post(demo.url("/oauth/revoke"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("token", rotated.as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // introspection now says inactive, and the token no longer refreshes
    let intro: Value = demo
        .http
        .post(demo.url("/oauth/introspect"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", rotated.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(intro, json!({ "active": false }));
    let (status, dead) = demo
        .token(
            &client_id,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &rotated)],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(dead["error"], "invalid_grant");

    // the code was single use
    let (status, replay) = demo
        .token(
            &client_id,
            &secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(replay["error"], "invalid_grant");
}

/// Log in, approve, redeem: returns (client_id, secret, code, verifier, tokens).
async fn full_authorization(demo: &Demo) -> (String, String, String, String, Value) {
    let (client_id, secret) = register_web_client(demo, "App").await;
    let (verifier, challenge) = pkce();
    let page = start(demo, &client_id, &challenge, "s", "n").await;
    let (_, _, consent) = login(demo, &page, USER, PASSWORD).await;
    let (_, headers, _) = decide(demo, &consent, "approve").await;
    let code = query(&location(&headers))["code"].clone();
    let (status, tokens) = demo
        .token(
            &client_id,
            &secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    (client_id, secret, code, verifier, tokens)
}

#[tokio::test]
async fn replayed_code_is_refused_and_revokes_the_refresh_token_it_issued() {
    let demo = spawn().await;
    let (client_id, secret, code, verifier, tokens) = full_authorization(&demo).await;
    let (status, replay) = demo
        .token(
            &client_id,
            &secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(replay["error"], "invalid_grant");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, dead) = demo
        .token(
            &client_id,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_eq!(status, 400, "{dead}");
    assert_eq!(dead["error"], "invalid_grant");
}

#[tokio::test]
async fn code_redemption_without_the_pkce_verifier_fails() {
    let demo = spawn().await;
    let (client_id, secret) = register_web_client(&demo, "App").await;
    let (_, challenge) = pkce();
    let page = start(&demo, &client_id, &challenge, "s", "n").await;
    let (_, _, consent) = login(&demo, &page, USER, PASSWORD).await;
    let (_, headers, _) = decide(&demo, &consent, "approve").await;
    let code = query(&location(&headers))["code"].clone();
    let (wrong, _) = pkce();
    for form in [
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ],
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", wrong.as_str()),
        ],
    ] {
        let (status, err) = demo.token(&client_id, &secret, &form).await;
        assert_eq!(status, 400, "{err}");
        assert!(
            matches!(
                err["error"].as_str(),
                Some("invalid_grant" | "invalid_request")
            ),
            "{err}"
        );
    }
}

#[tokio::test]
async fn api_me_refuses_missing_malformed_and_foreign_tokens() {
    let demo = spawn().await;
    let (_, _, _, _, tokens) = full_authorization(&demo).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    for auth in [
        None,
        Some("Bearer not-a-jwt".to_owned()),
        // an ID token is not an access token (typ, aud)
        Some(format!("Bearer {id_token}")),
        Some("Basic YTpi".to_owned()),
    ] {
        let mut req = demo.http.get(demo.url("/api/me"));
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{auth:?}");
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.contains("resource_metadata="), "{challenge}");
    }
}

#[tokio::test]
async fn remembered_consent_lets_the_second_authorization_through() {
    let demo = spawn().await;
    let (client_id, _) = register_web_client(&demo, "Twice").await;
    let (_, challenge) = pkce();
    let page = start(&demo, &client_id, &challenge, "s1", "n1").await;
    let (_, _, consent) = login(&demo, &page, USER, PASSWORD).await;
    let (_, headers, _) = decide(&demo, &consent, "approve").await;
    assert!(query(&location(&headers)).contains_key("code"));

    // same session, same client, same scopes: straight to the client
    let (_, challenge) = pkce();
    let (status, headers, body) = demo
        .get(&authorize_url(&client_id, SCOPE, "s2", "n2", &challenge))
        .await;
    let (status, headers, body) = follow(&demo, status, headers, body).await;
    assert!((300..400).contains(&status), "{status}: {body}");
    let q = query(&location(&headers));
    assert_eq!(q["state"], "s2");
    assert!(q.contains_key("code"));
}

#[tokio::test]
async fn wrong_password_rerenders_the_login_page_with_an_error() {
    let demo = spawn().await;
    let (client_id, _) = register_web_client(&demo, "App").await;
    let (_, challenge) = pkce();
    let page = start(&demo, &client_id, &challenge, "s", "n").await;
    let (status, headers, body) = login(&demo, &page, USER, "not-the-password").await;
    assert_eq!(status, 200);
    assert!(headers.get("location").is_none());
    assert!(body.contains("Invalid username or password."), "{body}");
    assert!(body.contains("name=\"password\""));
    // the wrong user with the right password fails the same way
    let (_, _, body) = login(&demo, &page, "mallory", PASSWORD).await;
    assert!(body.contains("Invalid username or password."), "{body}");
    // and the right credentials still work afterwards (same CSRF token)
    let (status, _, consent) = login(&demo, &body, USER, PASSWORD).await;
    assert_eq!(status, 200);
    assert!(consent.contains("action=\"/consent\""), "{consent}");
}

#[tokio::test]
async fn login_without_or_with_a_wrong_csrf_token_is_forbidden() {
    let demo = spawn().await;
    let (client_id, _) = register_web_client(&demo, "App").await;
    let (_, challenge) = pkce();
    let page = start(&demo, &client_id, &challenge, "s", "n").await;
    let f = form(&page);
    let mut missing = f.without("csrf");
    missing.push(("username".into(), USER.into()));
    missing.push(("password".into(), PASSWORD.into()));
    let (status, headers, _) = demo.post_form("/login", &missing).await;
    assert_eq!(status, 403);
    assert!(headers.get("location").is_none());
    let wrong = f.with(&[("csrf", "AAAA"), ("username", USER), ("password", PASSWORD)]);
    let (status, _, _) = demo.post_form("/login", &wrong).await;
    assert_eq!(status, 403);
    // a POST without any session cookie (another site's form) is forbidden too
    let fields = f.with(&[("username", USER), ("password", PASSWORD)]);
    let resp = demo
        .http
        .post(demo.url("/login"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
}

#[tokio::test]
async fn consent_without_csrf_is_forbidden() {
    let demo = spawn().await;
    let (client_id, _) = register_web_client(&demo, "App").await;
    let (_, challenge) = pkce();
    let page = start(&demo, &client_id, &challenge, "s", "n").await;
    let (_, _, consent) = login(&demo, &page, USER, PASSWORD).await;
    let f = form(&consent);
    let mut fields = f.without("csrf");
    fields.push(("decision".into(), "approve".into()));
    let (status, headers, _) = demo.post_form("/consent", &fields).await;
    assert_eq!(status, 403);
    assert!(headers.get("location").is_none());
}

#[tokio::test]
async fn consent_deny_redirects_with_access_denied() {
    let demo = spawn().await;
    let (client_id, _) = register_web_client(&demo, "App").await;
    let (_, challenge) = pkce();
    let page = start(&demo, &client_id, &challenge, "deny-state", "n").await;
    let (_, _, consent) = login(&demo, &page, USER, PASSWORD).await;
    let (status, headers, _) = decide(&demo, &consent, "deny").await;
    assert!((300..400).contains(&status));
    let cb = location(&headers);
    assert!(is_client_redirect(&cb), "{cb}");
    let q = query(&cb);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "deny-state");
    assert_eq!(q["iss"], demo.issuer);
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn return_to_outside_the_authorization_endpoint_is_never_followed() {
    let demo = spawn().await;
    let (client_id, _) = register_web_client(&demo, "App").await;
    let (_, challenge) = pkce();
    let page = start(&demo, &client_id, &challenge, "s", "n").await;
    let f = form(&page);
    assert!(
        f.field("return_to")
            .unwrap()
            .starts_with("/oauth/authorize?")
    );
    for evil in [
        "https://evil.example/",
        "//evil.example/oauth/authorize?x",
        "/oauth/authorizex",
        "/oauth/authorize/../../evil",
        "/login",
        "/oauth/authorize?x#frag",
        "/oauth/authorize?\\evil",
    ] {
        let fields = f.with(&[
            ("return_to", evil),
            ("username", USER),
            ("password", PASSWORD),
        ]);
        let (status, headers, _) = demo.post_form("/login", &fields).await;
        assert!(headers.get("location").is_none(), "{evil} was followed");
        assert_eq!(status, 400, "{evil}");
    }
}

#[tokio::test]
async fn session_cookie_is_httponly_and_samesite_lax_and_pages_escape_client_names() {
    let demo = spawn().await;
    let (client_id, _) = register_web_client(&demo, "<script>alert('x')</script>").await;
    let (_, challenge) = pkce();
    let resp = demo
        .http
        .get(demo.url(&authorize_url(&client_id, SCOPE, "s", "n", &challenge)))
        .send()
        .await
        .unwrap();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .expect("the login page starts a session")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("attesto_demo_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain-http issuer: no Secure flag"
    );
    let id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("attesto_demo_session=");
    assert_eq!(id.len(), 43, "32 random bytes");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(resp.headers().contains_key("content-security-policy"));
    let body = resp.text().await.unwrap();
    assert!(!body.contains("<script>"), "{body}");
    assert!(
        body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "{body}"
    );
}

#[tokio::test]
async fn client_credentials_token_from_the_readme_reaches_the_api() {
    let demo = spawn().await;
    let reg = demo
        .register(json!({"grant_types": ["client_credentials"], "scope": "api.read"}))
        .await;
    let (id, secret) = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    let (status, tokens) = demo
        .token(
            id,
            secret,
            &[("grant_type", "client_credentials"), ("scope", "api.read")],
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    let me: Value = demo
        .http
        .get(demo.url("/api/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["client_id"], id);
    assert_eq!(me["scope"], "api.read");
    // a wrong secret is refused
    let (status, err) = demo
        .token(id, "wrong", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_client");
}

#[tokio::test]
async fn index_page_and_discovery_are_served() {
    let demo = spawn().await;
    let (status, _, body) = demo.get("/").await;
    assert_eq!(status, 200);
    assert!(body.contains(&demo.issuer));
    let md: Value = demo
        .http
        .get(demo.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(md["registration_endpoint"], demo.url("/oauth/register"));
    let pr: Value = demo
        .http
        .get(demo.url("/.well-known/oauth-protected-resource"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pr["resource"], demo.url("/api/me"));
}

#[test]
fn database_urls_are_printed_without_their_password() {
    assert_eq!(attesto_demo::describe_database_url("memory:"), "memory");
    assert_eq!(
        attesto_demo::describe_database_url("postgres://user:hunter2@db.internal:5432/x"),
        "postgres://db.internal"
    );
    let sqlite = attesto_demo::describe_database_url(attesto_demo::DEFAULT_DATABASE_URL);
    assert!(sqlite.starts_with("sqlite"), "{sqlite}");
    let bad = attesto_demo::describe_database_url("not a url:hunter2@x");
    assert!(!bad.contains("hunter2"), "{bad}");
}

#[tokio::test]
async fn memory_is_accepted_and_unknown_database_schemes_are_refused_without_echoing_the_url() {
    let config = attesto_demo::DemoConfig::ephemeral("http://127.0.0.1:1").unwrap();
    let err = attesto_demo::connect(config, "mysql://user:hunter2@db/x")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("mysql"), "{text}");
    assert!(
        !text.contains("hunter2"),
        "the password never reaches the message"
    );
    let config = attesto_demo::DemoConfig::ephemeral("http://127.0.0.1:1").unwrap();
    let memory = attesto_demo::connect(config, "memory:").await.unwrap();
    assert_eq!(memory.storage, "memory");
    memory.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_sqlite_database_keeps_registered_clients_across_restarts() {
    let dir = std::env::temp_dir().join(format!("attesto-demo-sqlite-{}", support::random()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("demo.db").display());
    let key_file = dir.join("key.json");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let start = |listener: tokio::net::TcpListener| {
        let (key, _) = attesto_demo::keyfile::load_or_generate_key(&key_file).unwrap();
        let secret = attesto_demo::keyfile::load_or_generate_secret(
            &attesto_demo::keyfile::secret_path(&key_file),
        )
        .unwrap();
        let (id_key, _) = attesto_demo::keyfile::load_or_generate_id_token_key(
            &attesto_demo::keyfile::id_token_key_path(&key_file),
        )
        .unwrap();
        let config =
            attesto_demo::DemoConfig::new(issuer.clone(), key, secret).with_id_token_key(id_key);
        let url = url.clone();
        async move {
            let demo = attesto_demo::connect(config, &url).await.unwrap();
            assert_eq!(demo.storage, "sqlite");
            let router = demo.router.clone();
            let task = tokio::spawn(async move { axum::serve(listener, router).await });
            (demo, task)
        }
    };
    let (demo, task) = start(listener).await;
    let http = reqwest::Client::new();
    let reg: serde_json::Value = http
        .post(format!("{issuer}/oauth/register"))
        .json(&serde_json::json!({"grant_types": ["client_credentials"], "scope": "api.read"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = reg["client_id"].as_str().unwrap().to_owned();
    let sec = reg["client_secret"].as_str().unwrap().to_owned();
    let reg_token = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reg_uri = reg["registration_client_uri"].as_str().unwrap().to_owned();
    assert_eq!(reg_uri, format!("{issuer}/oauth/register/{id}"));
    task.abort();
    let _ = task.await;
    demo.shutdown().await.unwrap();
    // Restart on the same address and file: the client is still registered.
    let listener = tokio::net::TcpListener::bind(issuer.trim_start_matches("http://"))
        .await
        .unwrap();
    let (demo, task) = start(listener).await;
    let resp = http
        .post(format!("{issuer}/oauth/token"))
        .basic_auth(&id, Some(&sec))
        .form(&[("grant_type", "client_credentials"), ("scope", "api.read")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    // RFC 7592: the registration access token (kept as a hash in the
    // database across the restart) deletes the client, and only it.
    let resp = http
        .delete(&reg_uri)
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http
        .delete(&reg_uri)
        .bearer_auth(&reg_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = http
        .post(format!("{issuer}/oauth/token"))
        .basic_auth(&id, Some(&sec))
        .form(&[("grant_type", "client_credentials"), ("scope", "api.read")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "a deleted client cannot authenticate");
    task.abort();
    let _ = task.await;
    demo.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_client_that_registers_es256_id_tokens_gets_them() {
    let demo = spawn().await;
    let reg = demo
        .register(json!({
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code"],
            "scope": "openid",
            "id_token_signed_response_alg": "ES256",
        }))
        .await;
    assert_eq!(reg["id_token_signed_response_alg"], "ES256");
    let (id, secret) = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    let (code, verifier) = browser_code(&demo, id, "openid").await;
    let (status, tokens) = demo
        .token(
            id,
            secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    let jws = attesto::jose::UnverifiedJws::parse(id_token, 16 * 1024).unwrap();
    assert_eq!(jws.header().alg, Algorithm::ES256);
    // An algorithm the demo does not offer is refused at registration.
    let resp = demo
        .http
        .post(demo.url("/oauth/register"))
        .json(&json!({
            "redirect_uris": [REDIRECT_URI],
            "id_token_signed_response_alg": "PS512",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
}

#[tokio::test]
async fn prompt_none_without_a_session_redirects_with_login_required() {
    let demo = spawn().await;
    let (client_id, _) = register_web_client(&demo, "App").await;
    let (_, challenge) = pkce();
    let url = format!(
        "{}&prompt=none",
        authorize_url(&client_id, SCOPE, "quiet", "n", &challenge)
    );
    let (status, headers, body) = demo.get(&url).await;
    assert!((300..400).contains(&status), "{status}: {body}");
    let q = query(&location(&headers));
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], "quiet");
    assert_eq!(q["iss"], demo.issuer);
}

#[tokio::test]
async fn prompt_login_asks_again_even_with_a_session() {
    let demo = spawn().await;
    let (client_id, _) = register_web_client(&demo, "App").await;
    let (_, challenge) = pkce();
    let page = start(&demo, &client_id, &challenge, "s1", "n1").await;
    let (_, _, consent) = login(&demo, &page, USER, PASSWORD).await;
    let (_, headers, _) = decide(&demo, &consent, "approve").await;
    assert!(query(&location(&headers)).contains_key("code"));

    let (_, challenge) = pkce();
    let url = format!(
        "{}&prompt=login",
        authorize_url(&client_id, SCOPE, "s2", "n2", &challenge)
    );
    let (status, headers, body) = demo.get(&url).await;
    let (status, _, body) = follow(&demo, status, headers, body).await;
    assert_eq!(status, 200, "the login page again: {body}");
    assert!(body.contains("action=\"/login\""), "{body}");
    // after signing in again, the remembered consent lets it through
    let (status, headers, body) = login(&demo, &body, USER, PASSWORD).await;
    assert!((300..400).contains(&status), "{status}: {body}");
    let q = query(&location(&headers));
    assert_eq!(q["state"], "s2");
    assert!(q.contains_key("code"));
}

#[tokio::test]
async fn prompt_consent_asks_again_after_a_remembered_consent() {
    let demo = spawn().await;
    let (client_id, _) = register_web_client(&demo, "App").await;
    let (_, challenge) = pkce();
    let page = start(&demo, &client_id, &challenge, "s1", "n1").await;
    let (_, _, consent) = login(&demo, &page, USER, PASSWORD).await;
    decide(&demo, &consent, "approve").await;

    let (_, challenge) = pkce();
    let url = format!(
        "{}&prompt=consent",
        authorize_url(&client_id, SCOPE, "s2", "n2", &challenge)
    );
    let (status, headers, body) = demo.get(&url).await;
    let (status, _, body) = follow(&demo, status, headers, body).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("action=\"/consent\""), "{body}");
    let (status, headers, _) = decide(&demo, &body, "approve").await;
    assert!((300..400).contains(&status));
    assert_eq!(query(&location(&headers))["state"], "s2");
}

#[tokio::test]
async fn session_cookie_is_secure_when_the_issuer_is_https() {
    let demo = spawn_with_issuer(Some("https://id.example")).await;
    let (client_id, _) = register_web_client(&demo, "App").await;
    let (_, challenge) = pkce();
    let resp = demo
        .http
        .get(demo.url(&authorize_url(&client_id, SCOPE, "s", "n", &challenge)))
        .send()
        .await
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
}

#[tokio::test]
async fn login_hint_prefills_the_username_escaped() {
    let demo = spawn().await;
    let (client_id, _) = register_web_client(&demo, "App").await;
    let (_, challenge) = pkce();
    let url = format!(
        "{}&login_hint=%22%3E%3Cb%3Ebob",
        authorize_url(&client_id, SCOPE, "s", "n", &challenge)
    );
    let (status, headers, body) = demo.get(&url).await;
    let (status, _, body) = follow(&demo, status, headers, body).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("value=\"&quot;&gt;&lt;b&gt;bob\""), "{body}");
    assert!(!body.contains("<b>bob"));
}
