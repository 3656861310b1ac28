//! The authorization endpoint over HTTP: successful flows, the host's login
//! and consent steps, and the code record handed to the token endpoint.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_authz_support;

use std::sync::Arc;

use attesto::host::{Authentication, EventName, InteractionRequired};
use attesto::store::{AuthorizationCodeStore, Confirmation, TokenHash};
use server_authz_support::*;

async fn code_of(resp: &reqwest::Response) -> String {
    let (_, q) = location(resp);
    q.get("code").cloned().expect("a code")
}

// seed-catalog-2 Must-test 122
#[tokio::test]
async fn successful_request_redirects_with_code_state_and_iss() {
    let (h, _) = spawn().await;
    let resp = h.get_authorize(&Authz::new()).await;
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let (url, q) = location(&resp);
    assert_eq!(url.origin().ascii_serialization(), "https://app.example");
    assert_eq!(url.path(), "/cb");
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], ISSUER);
    assert!(!q.contains_key("error"));
    // 32 random bytes, base64url without padding.
    assert_eq!(q["code"].len(), 43);
    assert!(
        q["code"]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
}

// seed-catalog-2 Must-test 122
#[tokio::test]
async fn request_without_state_gets_no_state_back() {
    let (h, _) = spawn().await;
    let resp = h.get_authorize(&Authz::new().without("state")).await;
    let (_, q) = location(&resp);
    assert!(q.contains_key("code"));
    assert!(!q.contains_key("state"));
    assert_eq!(q["iss"], ISSUER);
}

#[tokio::test]
async fn state_is_echoed_verbatim() {
    let (h, _) = spawn().await;
    let state = "a b+c/d=é&x=<y>";
    let resp = h.get_authorize(&Authz::new().set("state", state)).await;
    let (_, q) = location(&resp);
    assert_eq!(q["state"], state);
}

#[tokio::test]
async fn registered_redirect_uri_query_is_kept() {
    let (h, _) = spawn().await;
    let resp = h
        .get_authorize(
            &Authz::new()
                .set("client_id", "two-uris")
                .set("redirect_uri", "https://app.example/other?x=1"),
        )
        .await;
    let (url, q) = location(&resp);
    assert_eq!(url.path(), "/other");
    assert_eq!(q["x"], "1");
    assert!(q.contains_key("code"));
}

// seed-catalog-2 Must-test 131
#[tokio::test]
async fn post_form_request_behaves_like_get() {
    let (h, _) = spawn().await;
    let resp = h.post_authorize(&Authz::new()).await;
    // 303 so the browser follows with GET.
    assert_eq!(resp.status(), 303);
    let (url, q) = location(&resp);
    assert_eq!(url.path(), "/cb");
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], ISSUER);
    assert_eq!(q["code"].len(), 43);

    // An error is redirected the same way.
    let resp = h
        .post_authorize(&Authz::new().set("response_type", "token"))
        .await;
    assert_eq!(resp.status(), 303);
    let (_, q) = location(&resp);
    assert_eq!(q["error"], "unsupported_response_type");
}

#[tokio::test]
async fn issued_code_record_carries_every_request_fact() {
    let (h, host) = spawn().await;
    host.set_login(Login::As(
        Authentication::new("alice")
            .auth_time(NOW - 30)
            .acr("urn:mace:incommon:iap:silver")
            .amr(["pwd", "otp"]),
    ));
    let key = dpop_key();
    let thumb = jkt(&key);
    let resp = h
        .get_authorize(
            &Authz::new()
                .set("scope", "openid email documents.read")
                .set("nonce", "n-0S6_WzA2Mj")
                .set("dpop_jkt", &thumb)
                .add("resource", API)
                .add("resource", "https://files.example"),
        )
        .await;
    let code = code_of(&resp).await;
    let record = h
        .stores
        .authorization_codes
        .get(TokenHash::of(&code), NOW)
        .await
        .unwrap()
        .expect("the code is stored under its hash");
    assert_eq!(record.code_hash, TokenHash::of(&code));
    assert_eq!(record.client_id, "app");
    assert_eq!(record.redirect_uri.as_deref(), Some(REDIRECT));
    assert_eq!(record.scope, vec!["openid", "email", "documents.read"]);
    assert_eq!(record.code_challenge.as_deref(), Some(CHALLENGE));
    assert_eq!(record.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
    // The host's local id; the token endpoint applies the user kind's prefix.
    assert_eq!(record.subject, "alice");
    assert_eq!(record.auth_time, Some(NOW - 30));
    assert_eq!(record.acr.as_deref(), Some("urn:mace:incommon:iap:silver"));
    assert_eq!(record.amr, vec!["pwd", "otp"]);
    assert_eq!(record.resource, vec![API, "https://files.example"]);
    assert_eq!(record.confirmation, Confirmation::dpop(thumb));
    assert_eq!(record.claims, None);
    assert_eq!(record.issued_at, NOW);
    assert_eq!(
        record.expires_at,
        NOW + i64::try_from(h.server.config().code_ttl.as_secs()).unwrap()
    );
    // The raw code is never stored, and the code dies at its expiry.
    assert!(
        h.stores
            .authorization_codes
            .get(TokenHash::of(&code), record.expires_at)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn code_without_dpop_jkt_is_unbound() {
    let (h, _) = spawn().await;
    let code = code_of(&h.get_authorize(&Authz::new()).await).await;
    let record = h
        .stores
        .authorization_codes
        .get(TokenHash::of(&code), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.confirmation, Confirmation::none());
    assert!(record.resource.is_empty());
    assert_eq!(record.nonce, None);
}

#[tokio::test]
async fn two_requests_get_two_different_codes() {
    let (h, _) = spawn().await;
    let a = code_of(&h.get_authorize(&Authz::new()).await).await;
    let b = code_of(&h.get_authorize(&Authz::new()).await).await;
    assert_ne!(a, b);
}

// seed-catalog-2 Must-test 123, seed-catalog-3a Must-test 27
#[tokio::test]
async fn prompt_none_without_session_redirects_login_required() {
    let (h, host) = spawn().await;
    host.set_login(Login::Interaction(InteractionRequired::Login));
    let resp = h.get_authorize(&Authz::new().set("prompt", "none")).await;
    assert_redirect_error(&resp, "login_required", ISSUER);
}

// seed-catalog-2 Must-test 123
#[tokio::test]
async fn prompt_none_discards_host_login_page_and_redirects_login_required() {
    let (h, host) = spawn().await;
    host.set_login(Login::Page);
    let resp = h.get_authorize(&Authz::new().set("prompt", "none")).await;
    assert_redirect_error(&resp, "login_required", ISSUER);
    assert!(resp.headers().get("x-host-page").is_none());
}

// seed-catalog-2 Must-test 124
#[tokio::test]
async fn prompt_none_with_consent_page_redirects_consent_required() {
    let (h, host) = spawn().await;
    host.set_consent(Consent::Page);
    let resp = h.get_authorize(&Authz::new().set("prompt", "none")).await;
    assert_redirect_error(&resp, "consent_required", ISSUER);
}

// seed-catalog-2 Must-test 125, seed-catalog-3a Must-test 29
#[tokio::test]
async fn login_options_reflect_prompt_and_max_age() {
    let (h, _host) = spawn().await;
    let host = h.server.host().clone();
    h.get_authorize(&Authz::new().set("prompt", "login").set("max_age", "60"))
        .await;
    let seen = host.seen();
    let login = seen.iter().find(|s| s.stage == "login").unwrap();
    assert!(login.options.force_reauthentication);
    assert!(!login.options.no_interaction);
    assert_eq!(login.options.max_age, Some(60));

    h.get_authorize(&Authz::new().set("prompt", "none")).await;
    let seen = host.seen();
    let last = seen.iter().rev().find(|s| s.stage == "login").unwrap();
    assert!(last.options.no_interaction);
    assert!(!last.options.force_reauthentication);

    h.get_authorize(&Authz::new().set("prompt", "consent select_account"))
        .await;
    let seen = host.seen();
    let last = seen.iter().rev().find(|s| s.stage == "login").unwrap();
    assert!(last.options.force_consent);
    assert!(last.options.select_account);
    assert_eq!(last.options.max_age, None);
}

#[tokio::test]
async fn host_sees_the_validated_request() {
    let (h, host) = spawn().await;
    h.get_authorize(
        &Authz::new()
            .set("scope", "openid documents.read")
            .set("login_hint", "alice@example.com")
            .add("resource", "https://files.example"),
    )
    .await;
    let seen = host.seen();
    let login = seen.iter().find(|s| s.stage == "login").unwrap();
    assert_eq!(login.client_id, "app");
    assert_eq!(login.redirect_uri, REDIRECT);
    assert_eq!(login.scopes, vec!["openid", "documents.read"]);
    assert_eq!(login.resources, vec!["https://files.example"]);
    assert_eq!(login.login_hint.as_deref(), Some("alice@example.com"));
    assert!(seen.iter().any(|s| s.stage == "consent"));
}

// seed-catalog-3a Must-test 28
#[tokio::test]
async fn host_login_page_is_returned_as_is() {
    let (h, host) = spawn().await;
    host.set_login(Login::Page);
    let resp = h.get_authorize(&Authz::new()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-host-page"], "login");
    assert!(resp.headers().get("location").is_none());
    assert_eq!(resp.text().await.unwrap(), "<p>host login page</p>");
    // No code was issued.
    assert!(!h.events.names().contains(&EventName::CodeIssued));
}

// seed-catalog-3a Must-test 28
#[tokio::test]
async fn host_consent_page_is_returned_as_is() {
    let (h, host) = spawn().await;
    host.set_consent(Consent::Page);
    let resp = h.get_authorize(&Authz::new()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-host-page"], "consent");
    assert_eq!(resp.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn resume_reenters_the_same_request_after_login() {
    let (h, host) = spawn().await;
    host.set_login(Login::Page);
    let req = Authz::new().set("nonce", "n1");
    let first = h.get_authorize(&req).await;
    assert_eq!(first.status(), 200);
    let resume = host.seen().last().unwrap().resume.clone();
    assert!(resume.starts_with(&h.server.config().paths.authorize));

    // The user logs in; the browser comes back to `resume`.
    host.set_login(Login::As(Authentication::new("alice").auth_time(NOW)));
    let back = h.http.get(h.url(&resume)).send().await.unwrap();
    let code = code_of(&back).await;
    let record = h
        .stores
        .authorization_codes
        .get(TokenHash::of(&code), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.nonce.as_deref(), Some("n1"));
    assert_eq!(location(&back).1["state"], "st-123");
}

#[tokio::test]
async fn post_resume_is_an_equivalent_get_query() {
    let (h, host) = spawn().await;
    host.set_login(Login::Page);
    h.post_authorize(&Authz::new().add("resource", "https://files.example"))
        .await;
    let resume = host.seen().last().unwrap().resume.clone();
    host.set_login(Login::As(Authentication::new("alice")));
    let back = h.http.get(h.url(&resume)).send().await.unwrap();
    let code = code_of(&back).await;
    let record = h
        .stores
        .authorization_codes
        .get(TokenHash::of(&code), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.resource, vec!["https://files.example"]);
    assert_eq!(record.code_challenge.as_deref(), Some(CHALLENGE));
}

// seed-catalog-2 Must-test 126, seed-catalog-3a Must-test 26
#[tokio::test]
async fn consent_denied_redirects_access_denied_and_emits_authorization_denied() {
    let (h, host) = spawn().await;
    host.set_consent(Consent::Deny);
    let resp = h.get_authorize(&Authz::new()).await;
    assert_redirect_error(&resp, "access_denied", ISSUER);
    let ev = h.events.last(EventName::AuthorizationDenied).unwrap();
    assert_eq!(ev.client_id.as_deref(), Some("app"));
    assert_eq!(ev.subject.as_deref(), Some("usr_alice"));
    assert_eq!(ev.result, Some("access_denied"));
    assert!(!h.events.names().contains(&EventName::CodeIssued));
}

#[tokio::test]
async fn consent_may_narrow_but_never_widen_the_scope() {
    let (h, host) = spawn().await;
    host.set_consent(Consent::Only(vec!["openid".into(), "profile".into()]));
    let code = code_of(&h.get_authorize(&Authz::new()).await).await;
    let record = h
        .stores
        .authorization_codes
        .get(TokenHash::of(&code), NOW)
        .await
        .unwrap()
        .unwrap();
    // `email` was not consented, `profile` was not requested.
    assert_eq!(record.scope, vec!["openid"]);
}

#[tokio::test]
async fn consent_to_nothing_is_access_denied() {
    let (h, host) = spawn().await;
    host.set_consent(Consent::Only(vec!["reports.read".into()]));
    let resp = h.get_authorize(&Authz::new()).await;
    assert_redirect_error(&resp, "access_denied", ISSUER);
}

// seed-catalog-2 Must-test 127, seed-catalog-3a Must-test 25
#[tokio::test]
async fn without_a_consent_step_the_code_is_issued_after_login() {
    let host = LoginOnlyHost(TestHost::new());
    let h = spawn_with(Options::new(host.clone())).await;
    let resp = h.get_authorize(&Authz::new()).await;
    let code = code_of(&resp).await;
    let record = h
        .stores
        .authorization_codes
        .get(TokenHash::of(&code), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.scope, vec!["openid", "email"]);
    assert!(host.0.seen().iter().all(|s| s.stage == "login"));
}

// seed-catalog-2 Must-test 129
#[tokio::test]
async fn interaction_required_from_host_is_redirected() {
    let (h, host) = spawn().await;
    for (kind, code) in [
        (InteractionRequired::Interaction, "interaction_required"),
        (InteractionRequired::Consent, "consent_required"),
        (InteractionRequired::Login, "login_required"),
        (
            InteractionRequired::AccountSelection,
            "account_selection_required",
        ),
    ] {
        host.set_login(Login::Interaction(kind));
        let resp = h.get_authorize(&Authz::new()).await;
        assert_redirect_error(&resp, code, ISSUER);
    }
}

#[tokio::test]
async fn authentication_older_than_max_age_is_refused_with_login_required() {
    let (h, host) = spawn().await;
    host.set_login(Login::As(Authentication::new("alice").auth_time(NOW - 120)));
    let resp = h.get_authorize(&Authz::new().set("max_age", "60")).await;
    assert_redirect_error(&resp, "login_required", ISSUER);
    // Fresh enough passes, and the auth_time is carried for the ID token.
    host.set_login(Login::As(Authentication::new("alice").auth_time(NOW - 59)));
    let resp = h.get_authorize(&Authz::new().set("max_age", "60")).await;
    let code = code_of(&resp).await;
    let record = h
        .stores
        .authorization_codes
        .get(TokenHash::of(&code), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.auth_time, Some(NOW - 59));
}

#[tokio::test]
async fn max_age_without_auth_time_is_refused() {
    let (h, host) = spawn().await;
    host.set_login(Login::As(Authentication::new("alice")));
    let resp = h.get_authorize(&Authz::new().set("max_age", "600")).await;
    assert_redirect_error(&resp, "server_error", ISSUER);
}

#[tokio::test]
async fn host_subject_id_that_breaks_the_principal_kind_is_refused() {
    let (h, host) = spawn().await;
    host.set_login(Login::As(Authentication::new("")));
    let resp = h.get_authorize(&Authz::new()).await;
    assert_redirect_error(&resp, "server_error", ISSUER);
}

// seed-catalog-3a Events
#[tokio::test]
async fn code_issued_event_names_client_subject_and_scope() {
    let (h, _) = spawn().await;
    h.get_authorize(&Authz::new()).await;
    let ev = h.events.last(EventName::CodeIssued).unwrap();
    assert_eq!(ev.client_id.as_deref(), Some("app"));
    assert_eq!(ev.subject.as_deref(), Some("usr_alice"));
    assert_eq!(ev.scope.as_deref(), Some("openid email"));
    assert_eq!(ev.grant_type.as_deref(), Some("authorization_code"));
    // Never the code itself.
    let code = code_of(&h.get_authorize(&Authz::new()).await).await;
    let all = format!("{:?}", h.events.0.lock().unwrap());
    assert!(!all.contains(&code));
}

// seed-catalog-3a Must-test 30
#[tokio::test]
async fn panicking_event_sink_does_not_break_the_flow() {
    let mut opts = Options::new(TestHost::new());
    opts.sink = Some(Arc::new(Panicking));
    let h = spawn_with(opts).await;
    let resp = h.get_authorize(&Authz::new()).await;
    assert_eq!(resp.status(), 302);
    assert!(location(&resp).1.contains_key("code"));
}

#[tokio::test]
async fn authorize_endpoint_is_not_mounted_without_the_code_grant() {
    let mut opts = Options::new(TestHost::new());
    opts.config = Box::new(|b| b.grants([attesto::server::GrantType::ClientCredentials]));
    let h = spawn_with(opts).await;
    let resp = h.get_authorize(&Authz::new()).await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn prefix_moves_the_authorize_endpoint() {
    let mut opts = Options::new(TestHost::new());
    opts.config = Box::new(|b| b.prefix("/auth/v1"));
    let h = spawn_with(opts).await;
    let resp = h
        .http
        .get(h.url(&format!("/auth/v1/authorize?{}", Authz::new().query())))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let resp = h
        .http
        .get(h.url(&format!("/oauth/authorize?{}", Authz::new().query())))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}
