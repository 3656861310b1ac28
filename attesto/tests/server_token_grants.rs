//! Token endpoint grants over real HTTP: authorization_code, refresh_token,
//! client_credentials, resource indicators, responses and events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_token_support;

use std::sync::Arc;

use attesto::host::EventName;
use attesto::server::GrantType;
use attesto::store::{AuthorizationCodeStore, TokenHash};
use server_token_support::*;

const CC: (&str, &str) = ("grant_type", "client_credentials");

fn at(r: &Reply) -> String {
    r.json()["access_token"].as_str().unwrap().to_owned()
}

fn rt(r: &Reply) -> String {
    r.json()["refresh_token"].as_str().unwrap().to_owned()
}

async fn offline_tokens(s: &TestServer, client: &str) -> Reply {
    let (code, verifier) = s
        .issue_code(CodeSpec::new(client, &["offline_access", "documents.read"]))
        .await;
    let r = s.redeem(client, false, &code, &verifier, &[]).await;
    assert_eq!(r.status, 200, "{r:?}");
    r
}

async fn refresh(s: &TestServer, client: &str, token: &str) -> Reply {
    s.token_basic(
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

#[tokio::test]
async fn every_token_response_is_no_store() {
    // seed-catalog-3a Must-test 56
    let s = start(TestHost::with_clients(standard_clients())).await;
    let ok = s.token_basic("conf", &[CC]).await;
    assert_eq!(ok.status, 200);
    ok.assert_no_store();
    assert_eq!(
        ok.header("content-type").as_deref(),
        Some("application/json")
    );
    for r in [
        s.token_basic("conf", &[("grant_type", "password")]).await,
        s.token_basic(
            "conf",
            &[("grant_type", "authorization_code"), ("code", "nope")],
        )
        .await,
        s.token(&[CC], &[("authorization", &basic("conf", "bad"))])
            .await,
        s.token_basic("conf", &[CC, ("scope", "admin")]).await,
    ] {
        assert!(r.status >= 400, "{r:?}");
        r.assert_no_store();
    }
}

#[tokio::test]
async fn client_credentials_issues_a_bearer_token_without_refresh_token() {
    // seed-catalog-3a Must-test 61; seed-catalog-3b Must-test 40
    let s = start(TestHost::with_clients(standard_clients())).await;
    let r = s
        .token_basic("conf", &[CC, ("scope", "reports.read")])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "reports.read");
    assert!(body.get("refresh_token").is_none());
    assert!(body.get("id_token").is_none());
    let claims = jwt_claims(&at(&r));
    assert_eq!(claims["sub"], "oc_conf");
    assert_eq!(claims["client_id"], "conf");
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["iss"], ISSUER);
    assert!(claims.get("cnf").is_none());
    assert!(claims.get("fid").is_none());
    let issued = s.events_named(EventName::TokenIssued);
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].subject, None);
    assert_eq!(issued[0].grant_type.as_deref(), Some("client_credentials"));
    assert_eq!(issued[0].token_type, Some("Bearer"));
}

#[tokio::test]
async fn client_credentials_by_a_public_client_is_refused() {
    // seed-catalog-2 §35.E Must-test 69
    let s = start(TestHost::with_clients(standard_clients())).await;
    let r = s.token(&[CC, ("client_id", "pub")], &[]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "unauthorized_client"));
    assert!(s.events_named(EventName::TokenIssued).is_empty());
}

#[tokio::test]
async fn scope_outside_the_catalog_is_invalid_scope() {
    // seed-catalog-3a Must-test 63
    let s = start(TestHost::with_clients(standard_clients())).await;
    let r = s
        .token_basic("conf", &[CC, ("scope", "reports.read admin")])
        .await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_scope"));
    let malformed = s.token_basic("conf", &[CC, ("scope", "a  b")]).await;
    assert_eq!(malformed.error(), "invalid_scope");
}

#[tokio::test]
async fn wildcard_catalog_entries_cover_one_level() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let ok = s
        .token_basic("conf", &[CC, ("scope", "documents.read documents.write")])
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.json()["scope"], "documents.read documents.write");
    let deep = s
        .token_basic("conf", &[CC, ("scope", "documents.a.b")])
        .await;
    assert_eq!(deep.error(), "invalid_scope");
}

#[tokio::test]
async fn scope_outside_the_clients_allowed_scopes_is_invalid_scope() {
    // seed-catalog-3a Must-test 62 (the default policy refuses instead of narrowing)
    let mut c = TestClient::confidential("narrow");
    c.allowed_scopes = Some(vec!["reports.read".into()]);
    let s = start(TestHost::with_clients([c])).await;
    assert_eq!(
        s.token_basic("narrow", &[CC, ("scope", "reports.read")])
            .await
            .status,
        200
    );
    let r = s
        .token_basic("narrow", &[CC, ("scope", "reports.read documents.read")])
        .await;
    assert_eq!(r.error(), "invalid_scope");
}

#[tokio::test]
async fn missing_grant_type_is_invalid_request_and_unknown_is_unsupported() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let r = s.token_basic("conf", &[("scope", "reports.read")]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_request"));
    let r = s.token_basic("conf", &[("grant_type", "password")]).await;
    assert_eq!(
        (r.status, r.error().as_str()),
        (400, "unsupported_grant_type")
    );
}

#[tokio::test]
async fn disabled_grant_is_unsupported_grant_type() {
    // seed-catalog-3a Must-test 9
    let s = start_with(TestHost::with_clients(standard_clients()), |b| {
        b.grants([GrantType::ClientCredentials])
    })
    .await;
    let r = refresh(&s, "conf", "whatever").await;
    assert_eq!(
        (r.status, r.error().as_str()),
        (400, "unsupported_grant_type")
    );
    assert_eq!(s.token_basic("conf", &[CC]).await.status, 200);
}

#[tokio::test]
async fn code_redemption_issues_an_id_token_with_nonce_at_hash_and_auth_time() {
    // seed-catalog-2 §35.E Must-test 74
    let s = start(TestHost::with_clients(standard_clients())).await;
    let mut spec = CodeSpec::new("conf", &["openid", "email"]);
    spec.nonce = Some("n-0S6_WzA2Mj".into());
    let (code, verifier) = s.issue_code(spec).await;
    let r = s.redeem("conf", false, &code, &verifier, &[]).await;
    assert_eq!(r.status, 200, "{r:?}");
    let body = r.json();
    assert_eq!(body["scope"], "openid email");
    assert!(body.get("refresh_token").is_none(), "no offline_access");
    let id = body["id_token"].as_str().unwrap();
    let claims = jwt_claims(id);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(
        claims["sub"], "usr_alice",
        "the host's `sub` claim never wins"
    );
    assert_eq!(claims["aud"], "conf");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["auth_time"], NOW - 30);
    assert_eq!(claims["acr"], "urn:acr:pwd");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["sid"], "sid-1");
    assert_eq!(claims["email"], "alice@example.com");
    assert!(claims.get("name").is_none(), "profile was not granted");
    let access = at(&r);
    let digest = attesto::secret::sha256(access.as_bytes());
    let expected = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &digest[..16],
    );
    assert_eq!(claims["at_hash"], expected);
    let at_claims = jwt_claims(&access);
    assert_eq!(at_claims["sub"], "usr_alice");
    assert_eq!(at_claims["auth_time"], NOW - 30);
}

#[tokio::test]
async fn code_without_code_verifier_is_invalid_grant() {
    // seed-catalog-3a Must-test 57
    let s = start(TestHost::with_clients(standard_clients())).await;
    let (code, _verifier) = s
        .issue_code(CodeSpec::new("conf", &["documents.read"]))
        .await;
    let r = s
        .token_basic(
            "conf",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_grant"));
}

#[tokio::test]
async fn wrong_code_verifier_is_invalid_grant_and_spends_the_code() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let (code, verifier) = s
        .issue_code(CodeSpec::new("conf", &["documents.read"]))
        .await;
    let wrong = "x".repeat(43);
    let r = s.redeem("conf", false, &code, &wrong, &[]).await;
    assert_eq!(r.error(), "invalid_grant");
    let again = s.redeem("conf", false, &code, &verifier, &[]).await;
    assert_eq!(
        again.error(),
        "invalid_grant",
        "a captured code gets no second try"
    );
}

#[tokio::test]
async fn code_issued_to_another_client_is_invalid_grant() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let (code, verifier) = s
        .issue_code(CodeSpec::new("conf", &["documents.read"]))
        .await;
    let r = s.redeem("other", false, &code, &verifier, &[]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_grant"));
}

#[tokio::test]
async fn redirect_uri_must_repeat_the_authorization_request() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let (code, verifier) = s
        .issue_code(CodeSpec::new("conf", &["documents.read"]))
        .await;
    let r = s
        .token_basic(
            "conf",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
                ("redirect_uri", "https://app.example/cb/"),
            ],
        )
        .await;
    assert_eq!(r.error(), "invalid_grant");
    let (code, verifier) = s
        .issue_code(CodeSpec::new("conf", &["documents.read"]))
        .await;
    let missing = s
        .token_basic(
            "conf",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(missing.error(), "invalid_grant");
    let mut spec = CodeSpec::new("conf", &["documents.read"]);
    spec.redirect_uri = None;
    let (code, verifier) = s.issue_code(spec).await;
    let omitted = s
        .token_basic(
            "conf",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(
        omitted.status, 200,
        "not sent at /authorize, not needed here"
    );
}

#[tokio::test]
async fn public_client_code_without_pkce_cannot_be_redeemed() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let mut spec = CodeSpec::new("pub", &["documents.read"]);
    spec.pkce = false;
    let (code, _) = s.issue_code(spec).await;
    let r = s
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", "pub"),
                ("redirect_uri", REDIRECT),
            ],
            &[],
        )
        .await;
    assert_eq!(r.error(), "invalid_grant");
}

#[tokio::test]
async fn replayed_code_is_refused_and_revokes_what_the_first_redemption_issued() {
    // seed-catalog-2 §35.E Must-test 73
    let s = start(TestHost::with_clients(standard_clients())).await;
    let (code, verifier) = s
        .issue_code(CodeSpec::new("conf", &["offline_access", "documents.read"]))
        .await;
    let first = s.redeem("conf", false, &code, &verifier, &[]).await;
    assert_eq!(first.status, 200);
    let (access, refresh_token) = (at(&first), rt(&first));
    assert_eq!(s.introspect_as("other", &access).await["active"], true);
    let replay = s.redeem("conf", false, &code, &verifier, &[]).await;
    assert_eq!(
        (replay.status, replay.error().as_str()),
        (400, "invalid_grant")
    );
    let r = refresh(&s, "conf", &refresh_token).await;
    assert_eq!(r.error(), "invalid_grant", "the family is revoked");
    assert_eq!(
        s.introspect_as("other", &access).await,
        serde_json::json!({"active": false}),
        "the first access token is revoked too"
    );
}

#[tokio::test]
async fn refresh_token_is_delivered_only_through_the_offline_access_gate() {
    // seed-catalog-2 §35.E Must-test 75; seed-catalog-3b Must-test 41
    let s = start(TestHost::with_clients([
        TestClient::confidential("conf"),
        TestClient::confidential("no-refresh").grants(&["authorization_code"]),
    ]))
    .await;
    let r = offline_tokens(&s, "conf").await;
    assert!(r.json()["refresh_token"].is_string());
    assert_eq!(s.events_named(EventName::RefreshIssued).len(), 1);
    assert!(s.events_named(EventName::RefreshRotated).is_empty());
    let (code, verifier) = s
        .issue_code(CodeSpec::new("conf", &["documents.read"]))
        .await;
    let without = s.redeem("conf", false, &code, &verifier, &[]).await;
    assert!(without.json().get("refresh_token").is_none());
    let unregistered = offline_tokens(&s, "no-refresh").await;
    assert!(unregistered.json().get("refresh_token").is_none());
    assert_eq!(s.events_named(EventName::RefreshIssued).len(), 1);
}

#[tokio::test]
async fn refresh_rotates_the_token_and_keeps_the_grant() {
    // seed-catalog-3b Must-test 41
    let s = start(TestHost::with_clients(standard_clients())).await;
    let first = offline_tokens(&s, "conf").await;
    let r = refresh(&s, "conf", &rt(&first)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let body = r.json();
    assert_ne!(body["refresh_token"], first.json()["refresh_token"]);
    assert_eq!(body["scope"], "offline_access documents.read");
    assert!(body.get("id_token").is_none());
    let claims = jwt_claims(&at(&r));
    assert_eq!(claims["sub"], "usr_alice");
    assert_eq!(claims["auth_time"], NOW - 30, "replayed, never re-stamped");
    assert_eq!(claims["fid"], jwt_claims(&at(&first))["fid"]);
    assert_eq!(s.events_named(EventName::RefreshRotated).len(), 1);
    r.assert_no_store();
}

#[tokio::test]
async fn grace_window_retry_returns_the_same_successor() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let first = offline_tokens(&s, "conf").await;
    let a = refresh(&s, "conf", &rt(&first)).await;
    s.clock.advance(3);
    let b = refresh(&s, "conf", &rt(&first)).await;
    assert_eq!((a.status, b.status), (200, 200), "{b:?}");
    assert_eq!(rt(&a), rt(&b), "the same successor, unsealed");
    let next = refresh(&s, "conf", &rt(&b)).await;
    assert_eq!(next.status, 200, "the successor is usable");
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_family() {
    // seed-catalog-3a Must-test 58; seed-catalog-3b Must-test 41
    let s = start(TestHost::with_clients(standard_clients())).await;
    let first = offline_tokens(&s, "conf").await;
    let successor = refresh(&s, "conf", &rt(&first)).await;
    assert_eq!(successor.status, 200);
    s.clock.advance(11);
    let reuse = refresh(&s, "conf", &rt(&first)).await;
    assert_eq!(
        (reuse.status, reuse.error().as_str()),
        (400, "invalid_grant")
    );
    assert_eq!(s.events_named(EventName::RefreshReuseDetected).len(), 1);
    let after = refresh(&s, "conf", &rt(&successor)).await;
    assert_eq!(
        after.error(),
        "invalid_grant",
        "the successor died with its family"
    );
    assert_eq!(
        s.introspect_as("other", &at(&successor)).await,
        serde_json::json!({"active": false})
    );
}

#[tokio::test]
async fn strict_mode_treats_any_second_presentation_as_reuse() {
    let s = start_with(TestHost::with_clients(standard_clients()), |b| {
        b.refresh_grace(std::time::Duration::ZERO)
    })
    .await;
    let first = offline_tokens(&s, "conf").await;
    let successor = refresh(&s, "conf", &rt(&first)).await;
    assert_eq!(
        refresh(&s, "conf", &rt(&first)).await.error(),
        "invalid_grant"
    );
    assert_eq!(
        refresh(&s, "conf", &rt(&successor)).await.error(),
        "invalid_grant"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_token_share_one_successor() {
    let s = Arc::new(start(TestHost::with_clients(standard_clients())).await);
    let first = offline_tokens(&s, "conf").await;
    let token = rt(&first);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = Arc::clone(&s);
        let token = token.clone();
        tasks.push(tokio::spawn(
            async move { refresh(&s, "conf", &token).await },
        ));
    }
    let mut successors = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{r:?}");
        successors.push(rt(&r));
    }
    successors.dedup();
    assert_eq!(successors.len(), 1, "one successor for all: {successors:?}");
}

#[tokio::test]
async fn refresh_token_of_another_client_is_refused_and_not_burned() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let first = offline_tokens(&s, "conf").await;
    let stolen = refresh(&s, "other", &rt(&first)).await;
    assert_eq!(stolen.error(), "invalid_grant");
    assert_eq!(refresh(&s, "conf", &rt(&first)).await.status, 200);
}

#[tokio::test]
async fn refresh_scope_may_only_narrow() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let first = offline_tokens(&s, "conf").await;
    let wider = s
        .token_basic(
            "conf",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt(&first)),
                ("scope", "documents.read reports.read"),
            ],
        )
        .await;
    assert_eq!(wider.error(), "invalid_scope");
    let narrower = s
        .token_basic(
            "conf",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt(&first)),
                ("scope", "documents.read"),
            ],
        )
        .await;
    assert_eq!(narrower.status, 200, "{narrower:?}");
    assert_eq!(narrower.json()["scope"], "documents.read");
    // the successor keeps the whole grant (RFC 6749 §6)
    let again = refresh(&s, "conf", &rt(&narrower)).await;
    assert_eq!(again.json()["scope"], "offline_access documents.read");
}

#[tokio::test]
async fn unknown_or_garbage_refresh_token_is_invalid_grant() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    for t in ["nope", "a.b.c", &"z".repeat(4000)] {
        let r = refresh(&s, "conf", t).await;
        assert_eq!((r.status, r.error().as_str()), (400, "invalid_grant"));
    }
    let missing = s
        .token_basic("conf", &[("grant_type", "refresh_token")])
        .await;
    assert_eq!(missing.error(), "invalid_request");
}

#[tokio::test]
async fn multiple_resources_become_the_audience() {
    let host = TestHost::with_clients(standard_clients());
    host.allowed_resources
        .lock()
        .unwrap()
        .push(("conf".into(), OTHER_API.into()));
    let s = start(host).await;
    let r = s
        .token_basic("conf", &[CC, ("resource", API), ("resource", OTHER_API)])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        jwt_claims(&at(&r))["aud"],
        serde_json::json!([API, OTHER_API])
    );
    let single = s.token_basic("conf", &[CC, ("resource", OTHER_API)]).await;
    assert_eq!(jwt_claims(&at(&single))["aud"], OTHER_API);
}

#[tokio::test]
async fn malformed_or_disallowed_resource_is_invalid_target() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    for bad in [
        "relative/path",
        "https://api.example/#frag",
        "not a uri",
        OTHER_API,
    ] {
        let r = s.token_basic("conf", &[CC, ("resource", bad)]).await;
        assert_eq!(
            (r.status, r.error().as_str()),
            (400, "invalid_target"),
            "{bad}"
        );
    }
    assert!(
        s.token_basic("other", &[CC, ("resource", API)])
            .await
            .status
            == 200
    );
}

#[tokio::test]
async fn code_and_refresh_resources_only_narrow() {
    let host = TestHost::with_clients(standard_clients());
    host.allowed_resources
        .lock()
        .unwrap()
        .push(("conf".into(), OTHER_API.into()));
    let s = start(host).await;
    let mut spec = CodeSpec::new("conf", &["offline_access", "documents.read"]);
    spec.resource = vec![API, OTHER_API];
    let (code, verifier) = s.issue_code(spec).await;
    let auth = basic("conf", SECRET);
    let r = s
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
                ("redirect_uri", REDIRECT),
                ("resource", OTHER_API),
            ],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(jwt_claims(&at(&r))["aud"], OTHER_API);
    let refreshed = refresh(&s, "conf", &rt(&r)).await;
    assert_eq!(
        jwt_claims(&at(&refreshed))["aud"],
        serde_json::json!([API, OTHER_API])
    );
    let (code, verifier) = s
        .issue_code(CodeSpec::new("conf", &["documents.read"]))
        .await;
    let wider = s
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
                ("redirect_uri", REDIRECT),
                ("resource", OTHER_API),
            ],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(
        wider.error(),
        "invalid_target",
        "the code was granted the default resource only"
    );
}

#[tokio::test]
async fn a_panicking_event_sink_does_not_change_the_response() {
    // seed-catalog-3a Must-test 30; seed-catalog-3b Must-test 37
    use attesto::host::Event;
    use attesto::secret::Secret;
    use attesto::server::AuthorizationServer;
    use attesto::store::memory::MemoryStores;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let cfg = default_config(ISSUER).build().unwrap();
    let server = AuthorizationServer::builder(
        cfg,
        TestHost::with_clients(standard_clients()),
        MemoryStores::new(),
        Arc::new(server_token_support::keys::server_keystore()),
    )
    .server_secret(Secret::new(SERVER_SECRET))
    .events(Arc::new(|_: &Event| panic!("sink failure")))
    .build()
    .unwrap();
    let router: axum::Router = server.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let resp = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .header("authorization", basic("conf", SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let (code, verifier) = s
        .issue_code(CodeSpec::new("conf", &["documents.read"]))
        .await;
    s.clock.advance(61);
    let r = s.redeem("conf", false, &code, &verifier, &[]).await;
    assert_eq!(r.error(), "invalid_grant");
    assert!(
        s.stores
            .authorization_codes
            .get(TokenHash::of(&code), s.now())
            .await
            .unwrap()
            .is_none()
    );
}

/// A keystore whose signing keys can be switched off (a KMS outage).
struct FlakyKeys {
    inner: attesto::jose::StaticKeystore,
    down: std::sync::atomic::AtomicBool,
}

impl attesto::jose::Keystore for FlakyKeys {
    fn signing_key(&self, alg: attesto::jose::Algorithm) -> Option<Arc<attesto::jose::SigningKey>> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        self.inner.signing_key(alg)
    }
    fn default_signing_key(&self) -> Option<Arc<attesto::jose::SigningKey>> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        self.inner.default_signing_key()
    }
    fn verifying_key(
        &self,
        kid: Option<&str>,
        alg: attesto::jose::Algorithm,
    ) -> Option<Arc<attesto::jose::VerifyingKey>> {
        self.inner.verifying_key(kid, alg)
    }
    fn jwks(&self) -> Arc<attesto::jose::JwksDocument> {
        self.inner.jwks()
    }
}

#[tokio::test]
async fn signing_failure_is_a_generic_invalid_request() {
    // seed-catalog-2 §35.E Must-test 71 (the code is spent by the atomic
    // redeem before minting; see the report)
    use attesto::secret::Secret;
    use attesto::server::AuthorizationServer;
    use attesto::store::memory::MemoryStores;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let keys = Arc::new(FlakyKeys {
        inner: server_token_support::keys::server_keystore(),
        down: std::sync::atomic::AtomicBool::new(false),
    });
    let server = AuthorizationServer::builder(
        default_config(ISSUER).build().unwrap(),
        TestHost::with_clients(standard_clients()),
        MemoryStores::new(),
        keys.clone(),
    )
    .server_secret(Secret::new(SERVER_SECRET))
    .build()
    .unwrap();
    let router: axum::Router = server.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    keys.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let resp = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .header("authorization", basic("conf", SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_request", "error_description": "the token could not be issued"})
    );
}
