//! The authorization endpoint's code record against the token endpoint:
//! the record carries what the token endpoint needs, end to end.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_authz_support;

use attesto::host::Authentication;
use serde_json::Value;
use server_authz_support::*;

async fn code(h: &Harness<TestHost>, req: &Authz) -> String {
    let resp = h.get_authorize(req).await;
    location(&resp).1.get("code").cloned().expect("a code")
}

async fn exchange(h: &Harness<TestHost>, code: &str, dpop: Option<String>) -> reqwest::Response {
    let mut r = h
        .http
        .post(h.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", REDIRECT)
                .append_pair("client_id", "app")
                .append_pair("code_verifier", VERIFIER)
                .finish(),
        );
    if let Some(p) = dpop {
        r = r.header("dpop", p);
    }
    r.send().await.unwrap()
}

// seed-catalog-2 Must-test 128 (acr, amr, auth_time, nonce, sid)
#[tokio::test]
async fn issued_code_redeems_for_tokens_that_open_userinfo() {
    let (h, host) = spawn().await;
    host.set_login(Login::As(
        Authentication::new("alice")
            .auth_time(NOW - 5)
            .acr("urn:x:loa2")
            .amr(["pwd"])
            .sid("sess-42"),
    ));
    let c = code(&h, &Authz::new().set("nonce", "n-123")).await;
    let resp = exchange(&h, &c, None).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let at = body["access_token"].as_str().unwrap();
    let id_token = body["id_token"]
        .as_str()
        .expect("openid scope gives an ID token");
    let payload: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            id_token.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["sub"], "usr_alice");
    assert_eq!(payload["nonce"], "n-123");
    assert_eq!(payload["auth_time"], NOW - 5);
    assert_eq!(payload["acr"], "urn:x:loa2");
    assert_eq!(payload["amr"], serde_json::json!(["pwd"]));
    assert_eq!(payload["sid"], "sess-42");
    assert_eq!(payload["aud"], "app");

    let info: Value = h
        .http
        .get(h.url("/oauth/userinfo"))
        .header("authorization", format!("Bearer {at}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], "usr_alice");
    assert_eq!(info["email"], "alice@example.com");

    // The code is single use.
    assert_eq!(exchange(&h, &c, None).await.status(), 400);
}

#[tokio::test]
async fn dpop_jkt_bound_code_needs_a_proof_of_that_key() {
    let (h, _) = spawn().await;
    let key = dpop_key();
    let c = code(&h, &Authz::new().set("dpop_jkt", &jkt(&key))).await;
    let htu = format!("{ISSUER}/oauth/token");
    // Another key's proof is refused.
    let other = dpop_key();
    let resp = exchange(&h, &c, Some(dpop_proof(&other, "POST", &htu, None, NOW))).await;
    assert_eq!(resp.status(), 400);
    let c = code(&h, &Authz::new().set("dpop_jkt", &jkt(&key))).await;
    let resp = exchange(&h, &c, Some(dpop_proof(&key, "POST", &htu, None, NOW))).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    // And the DPoP-bound token opens the guard only with a proof.
    let at = body["access_token"].as_str().unwrap();
    let resp = h
        .http
        .get(h.url("/oauth/userinfo"))
        .header("authorization", format!("DPoP {at}"))
        .header(
            "dpop",
            dpop_proof(
                &key,
                "GET",
                &format!("{ISSUER}/oauth/userinfo"),
                Some(at),
                NOW,
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn code_bound_to_a_resource_yields_a_token_for_it() {
    let (h, _) = spawn().await;
    let c = code(
        &h,
        &Authz::new()
            .set("scope", "documents.read")
            .add("resource", "https://files.example"),
    )
    .await;
    let resp = exchange(&h, &c, None).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let at = body["access_token"].as_str().unwrap();
    let payload: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            at.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["aud"], "https://files.example");
    assert_eq!(payload["sub"], "usr_alice");
}
