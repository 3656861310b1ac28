//! The authorization endpoint's error disposition: what is a direct error
//! page (never a redirect) and what is redirected, and hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_authz_support;

use std::sync::atomic::Ordering;

use attesto::host::EventName;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use server_authz_support::*;

// seed-catalog-2 Must-test 117
#[tokio::test]
async fn unknown_client_gets_an_error_page_not_a_redirect() {
    let (h, _) = spawn().await;
    let resp = h
        .get_authorize(&Authz::new().set("client_id", "nobody"))
        .await;
    assert_error_page(resp).await;
    let ev = h.events.last(EventName::AuthorizationFailed).unwrap();
    // The untrusted client_id is not recorded as a client.
    assert_eq!(ev.client_id, None);
}

// seed-catalog-2 Must-test 119
#[tokio::test]
async fn revoked_client_gets_an_error_page() {
    let (h, _) = spawn().await;
    let resp = h
        .get_authorize(&Authz::new().set("client_id", "revoked"))
        .await;
    assert_error_page(resp).await;
}

#[tokio::test]
async fn missing_client_id_gets_an_error_page() {
    let (h, _) = spawn().await;
    let resp = h.get_authorize(&Authz::new().without("client_id")).await;
    assert_error_page(resp).await;
}

// seed-catalog-2 Must-test 118, seed-catalog-3a Must-test 17
#[tokio::test]
async fn unregistered_redirect_uri_variants_get_an_error_page() {
    let (h, _) = spawn().await;
    for uri in [
        "https://app.example/cb/",
        "https://app.example/c",
        "https://app.example/cb2",
        "https://app.example/cb?x=1",
        "https://app.example/cb#frag",
        "https://APP.example/cb",
        "http://app.example/cb",
        "https://app.example:443/cb",
        "https://app.example.evil.example/cb",
        "https://evil.example/cb",
        "https://app.example@evil.example/cb",
        "https://evil.example/?https://app.example/cb",
        "https://app.example/cb/../cb",
        "https://app.example/%63b",
        "//evil.example/cb",
        "javascript:alert(1)",
        " https://app.example/cb",
    ] {
        let resp = h
            .get_authorize(&Authz::new().set("redirect_uri", uri))
            .await;
        assert_error_page(resp).await;
    }
}

// The seed's OIDC reading would allow omitting redirect_uri for a client
// with one registered URI; attesto always requires it.
#[tokio::test]
async fn missing_redirect_uri_gets_an_error_page_even_with_one_registered() {
    let (h, _) = spawn().await;
    let resp = h.get_authorize(&Authz::new().without("redirect_uri")).await;
    assert_error_page(resp).await;
}

// seed-catalog-3a Must-test 16
#[tokio::test]
async fn client_without_redirect_uris_is_refused_every_request() {
    let (h, _) = spawn().await;
    let resp = h
        .get_authorize(&Authz::new().set("client_id", "no-uris"))
        .await;
    assert_error_page(resp).await;
}

// seed-catalog-2 Must-test 120
#[tokio::test]
async fn response_type_token_redirects_unsupported_response_type() {
    let (h, _) = spawn().await;
    for rt in ["token", "id_token", "code id_token", "CODE"] {
        let resp = h
            .get_authorize(&Authz::new().set("response_type", rt))
            .await;
        assert_redirect_error(&resp, "unsupported_response_type", ISSUER);
    }
}

#[tokio::test]
async fn missing_response_type_redirects_invalid_request() {
    let (h, _) = spawn().await;
    let resp = h
        .get_authorize(&Authz::new().without("response_type"))
        .await;
    assert_redirect_error(&resp, "invalid_request", ISSUER);
}

// seed-catalog-2 Must-test 121
#[tokio::test]
async fn missing_pkce_challenge_redirects_invalid_request() {
    let (h, _) = spawn().await;
    let resp = h
        .get_authorize(
            &Authz::new()
                .without("code_challenge")
                .without("code_challenge_method"),
        )
        .await;
    assert_redirect_error(&resp, "invalid_request", ISSUER);
    let resp = h
        .get_authorize(&Authz::new().without("code_challenge"))
        .await;
    assert_redirect_error(&resp, "invalid_request", ISSUER);
}

// seed-catalog-2 Must-test 121
#[tokio::test]
async fn plain_pkce_redirects_invalid_request() {
    let (h, _) = spawn().await;
    for req in [
        Authz::new().set("code_challenge_method", "plain"),
        Authz::new().without("code_challenge_method"),
        Authz::new().set("code_challenge_method", "s256"),
        Authz::new().set("code_challenge", "too-short"),
    ] {
        let resp = h.get_authorize(&req).await;
        assert_redirect_error(&resp, "invalid_request", ISSUER);
    }
}

// seed-catalog-3a Must-test 63
#[tokio::test]
async fn unknown_scope_redirects_invalid_scope() {
    let (h, _) = spawn().await;
    for scope in ["openid admin", "documents", "documents.a.b", "bad\"scope"] {
        let resp = h.get_authorize(&Authz::new().set("scope", scope)).await;
        assert_redirect_error(&resp, "invalid_scope", ISSUER);
    }
}

#[tokio::test]
async fn missing_scope_redirects_invalid_scope() {
    let (h, _) = spawn().await;
    let resp = h.get_authorize(&Authz::new().without("scope")).await;
    assert_redirect_error(&resp, "invalid_scope", ISSUER);
}

#[tokio::test]
async fn catalog_wildcard_admits_its_scopes() {
    let (h, _) = spawn().await;
    let resp = h
        .get_authorize(&Authz::new().set("scope", "openid documents.read documents.write"))
        .await;
    assert!(location(&resp).1.contains_key("code"));
}

#[tokio::test]
async fn client_scope_restriction_redirects_invalid_scope() {
    let (h, _) = spawn().await;
    let limited = Authz::new().set("client_id", "limited");
    let resp = h
        .get_authorize(&limited.clone().set("scope", "openid email"))
        .await;
    assert_redirect_error(&resp, "invalid_scope", ISSUER);
    // The client's `documents.*` covers documents.read.
    let resp = h
        .get_authorize(&limited.set("scope", "openid documents.read"))
        .await;
    assert!(location(&resp).1.contains_key("code"));
}

// seed-catalog-3a Must-test 18
#[tokio::test]
async fn client_without_the_code_grant_redirects_unauthorized_client() {
    let (h, _) = spawn().await;
    let resp = h
        .get_authorize(&Authz::new().set("client_id", "machine"))
        .await;
    assert_redirect_error(&resp, "unauthorized_client", ISSUER);
    // Nothing was asked of the resource owner.
    assert!(h.server.host().seen().is_empty());
}

#[tokio::test]
async fn disallowed_or_malformed_resource_redirects_invalid_target() {
    let (h, _) = spawn().await;
    for r in [
        "https://evil.example",
        "https://files.example#x",
        "relative/path",
        "https://files.example/",
    ] {
        let resp = h.get_authorize(&Authz::new().add("resource", r)).await;
        assert_redirect_error(&resp, "invalid_target", ISSUER);
    }
    // One bad among good ones is still refused.
    let resp = h
        .get_authorize(
            &Authz::new()
                .add("resource", API)
                .add("resource", "https://evil.example"),
        )
        .await;
    assert_redirect_error(&resp, "invalid_target", ISSUER);
}

#[tokio::test]
async fn default_and_host_allowed_resources_are_accepted() {
    let (h, _) = spawn().await;
    let resp = h
        .get_authorize(
            &Authz::new()
                .add("resource", API)
                .add("resource", "https://files.example"),
        )
        .await;
    assert!(location(&resp).1.contains_key("code"));
}

#[tokio::test]
async fn prompt_none_combined_with_other_values_is_invalid_request() {
    let (h, _) = spawn().await;
    for p in ["none login", "consent none", "bogus", "login  consent"] {
        let resp = h.get_authorize(&Authz::new().set("prompt", p)).await;
        assert_redirect_error(&resp, "invalid_request", ISSUER);
    }
}

#[tokio::test]
async fn malformed_max_age_is_invalid_request() {
    let (h, _) = spawn().await;
    for m in ["-1", "1.5", "+5", "abc", "99999999999999999999", " 5"] {
        let resp = h.get_authorize(&Authz::new().set("max_age", m)).await;
        assert_redirect_error(&resp, "invalid_request", ISSUER);
    }
    let resp = h.get_authorize(&Authz::new().set("max_age", "0")).await;
    // max_age=0 forces re-authentication; the test host's session is 10 s old.
    assert_redirect_error(&resp, "login_required", ISSUER);
}

#[tokio::test]
async fn request_objects_are_not_supported() {
    let (h, _) = spawn().await;
    let resp = h
        .get_authorize(&Authz::new().set("request", "eyJhbGciOiJub25lIn0.e30."))
        .await;
    assert_redirect_error(&resp, "request_not_supported", ISSUER);
    let resp = h
        .get_authorize(&Authz::new().set("request_uri", "urn:ietf:params:oauth:request_uri:x"))
        .await;
    assert_redirect_error(&resp, "request_uri_not_supported", ISSUER);
    let resp = h
        .get_authorize(&Authz::new().set("registration", "{}"))
        .await;
    assert_redirect_error(&resp, "registration_not_supported", ISSUER);
}

#[tokio::test]
async fn unsupported_response_mode_is_invalid_request() {
    let (h, _) = spawn().await;
    for m in ["fragment", "form_post", "jwt"] {
        let resp = h.get_authorize(&Authz::new().set("response_mode", m)).await;
        assert_redirect_error(&resp, "invalid_request", ISSUER);
    }
    let resp = h
        .get_authorize(&Authz::new().set("response_mode", "query"))
        .await;
    assert!(location(&resp).1.contains_key("code"));
}

#[tokio::test]
async fn oversized_nonce_is_invalid_request() {
    let (h, _) = spawn().await;
    let resp = h
        .get_authorize(&Authz::new().set("nonce", &"n".repeat(513)))
        .await;
    assert_redirect_error(&resp, "invalid_request", ISSUER);
}

#[tokio::test]
async fn malformed_dpop_jkt_is_invalid_request() {
    let (h, _) = spawn().await;
    for j in ["short", &"A".repeat(44), &format!("{}=", "A".repeat(42))] {
        let resp = h.get_authorize(&Authz::new().set("dpop_jkt", j)).await;
        assert_redirect_error(&resp, "invalid_request", ISSUER);
    }
}

#[tokio::test]
async fn redirected_error_emits_authorization_failed() {
    let (h, _) = spawn().await;
    h.get_authorize(&Authz::new().set("response_type", "token"))
        .await;
    let ev = h.events.last(EventName::AuthorizationFailed).unwrap();
    assert_eq!(ev.client_id.as_deref(), Some("app"));
    assert_eq!(ev.result, Some("unsupported_response_type"));
}

#[tokio::test]
async fn duplicated_parameters_get_an_error_page() {
    let (h, _) = spawn().await;
    for dup in [
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "code_challenge",
    ] {
        let q = format!("{}&{dup}=again", Authz::new().query());
        let resp = h.get_authorize_raw(&q).await;
        let page = assert_error_page(resp).await;
        assert!(page.contains(dup), "{page}");
    }
    // Even an empty duplicate.
    let q = format!("{}&state=", Authz::new().query());
    assert_error_page(h.get_authorize_raw(&q).await).await;
}

#[tokio::test]
async fn invalid_utf8_or_control_characters_get_an_error_page() {
    let (h, _) = spawn().await;
    for bad in [
        "state=%FF%FE",
        "state=a%00b",
        "state=a%0D%0ALocation:%20x",
        "state=%E2%82",
    ] {
        let q = format!("{}&{bad}", Authz::new().without("state").query());
        assert_error_page(h.get_authorize_raw(&q).await).await;
    }
    assert_error_page(h.get_authorize_raw("client_id=app&state=%zz").await).await;
}

#[tokio::test]
async fn oversized_parameters_get_an_error_page() {
    let (h, _) = spawn().await;
    let req = Authz::new().set("state", &"s".repeat(9 * 1024));
    assert_error_page(h.get_authorize(&req).await).await;
    let mut many = Authz::new();
    for i in 0..70 {
        many = many.add(&format!("p{i}"), "x");
    }
    assert_error_page(h.get_authorize(&many).await).await;
}

#[tokio::test]
async fn markup_in_inputs_is_escaped_on_the_error_page() {
    let (h, _) = spawn().await;
    let q = format!(
        "{}&%3Cscript%3Ealert(1)%3C%2Fscript%3E=1&%3Cscript%3Ealert(1)%3C%2Fscript%3E=2",
        Authz::new().query()
    );
    let resp = h.get_authorize_raw(&q).await;
    assert_eq!(
        resp.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let page = assert_error_page(resp).await;
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");

    // An attacker-chosen client_id is never echoed at all.
    let resp = h
        .get_authorize(&Authz::new().set("client_id", "<img src=x onerror=alert(1)>"))
        .await;
    let page = assert_error_page(resp).await;
    assert!(
        !page.contains("<img") && !page.contains("onerror"),
        "{page}"
    );
}

#[tokio::test]
async fn post_with_wrong_content_type_gets_an_error_page() {
    let (h, _) = spawn().await;
    let path = &h.server.config().paths.authorize;
    for ct in ["application/json", "text/plain", "multipart/form-data"] {
        let resp = h
            .http
            .post(h.url(path))
            .header("content-type", ct)
            .body(Authz::new().query())
            .send()
            .await
            .unwrap();
        assert_error_page(resp).await;
    }
    let resp = h
        .http
        .post(h.url(path))
        .body(Authz::new().query())
        .send()
        .await
        .unwrap();
    assert_error_page(resp).await;
    // The charset parameter is fine.
    let resp = h
        .http
        .post(h.url(path))
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body(Authz::new().query())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn oversized_post_body_is_refused_without_redirect() {
    let (h, _) = spawn().await;
    let path = &h.server.config().paths.authorize;
    let body = format!("{}&pad={}", Authz::new().query(), "x".repeat(70 * 1024));
    let resp = h
        .http
        .post(h.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
    assert!(resp.headers().get("location").is_none());
}

#[tokio::test]
async fn empty_request_gets_an_error_page() {
    let (h, _) = spawn().await;
    assert_error_page(h.get_authorize_raw("").await).await;
    let path = &h.server.config().paths.authorize;
    let resp = h
        .http
        .post(h.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_error_page(resp).await;
}

#[tokio::test]
async fn client_registry_failure_is_503_json_not_a_redirect() {
    let (h, host) = spawn().await;
    host.state.clients_down.store(true, Ordering::SeqCst);
    let resp = h.get_authorize(&Authz::new()).await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get("location").is_none());
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn unsupported_method_is_405() {
    let (h, _) = spawn().await;
    let path = &h.server.config().paths.authorize;
    let resp = h.http.delete(h.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 405);
}

#[tokio::test]
async fn arbitrary_queries_never_cause_a_server_error() {
    let (h, _) = spawn().await;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let base = Authz::new().query();
    let strategy = proptest::collection::vec(
        prop_oneof![
            Just("&".to_owned()),
            Just("=".to_owned()),
            Just("%".to_owned()),
            Just("%FF".to_owned()),
            Just("+".to_owned()),
            Just("resource=".to_owned()),
            Just("client_id=app".to_owned()),
            Just("redirect_uri=https%3A%2F%2Fapp.example%2Fcb".to_owned()),
            "[a-z_]{1,8}",
            "[A-Za-z0-9%]{0,6}",
        ],
        0..24,
    );
    let cases: Vec<String> = (0..48)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current().concat())
        .collect();
    for tail in cases {
        for q in [tail.clone(), format!("{base}&{tail}")] {
            let resp = h.get_authorize_raw(&q).await;
            let status = resp.status();
            assert!(
                status.is_client_error() || status.is_redirection(),
                "query {q:?} gave {status}"
            );
            if status.is_redirection() {
                let (url, _) = location(&resp);
                assert_eq!(url.host_str(), Some("app.example"), "{q:?}");
            }
        }
    }
}
