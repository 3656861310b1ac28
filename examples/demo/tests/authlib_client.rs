//! A real OAuth client library from another ecosystem (Python authlib)
//! drives the demo: discovery, registration, code + PKCE through the HTML
//! login and consent forms, ID token validation, userinfo, the API, refresh,
//! revocation and introspection (`interop/client_authlib.py`).
//!
//! Skips loudly when the Python peer is not installed (`interop/setup.sh`),
//! fails instead under `ATTESTO_REQUIRE_INTEROP=1` (CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_completes_the_whole_oidc_flow_against_the_demo() {
    let demo = support::spawn().await;
    let Some(out) = support::interop::run_peer(
        "client_authlib.py",
        &[&demo.issuer, support::USER, support::PASSWORD],
    )
    .await
    else {
        return;
    };
    let report: Value = serde_json::from_str(out.trim()).expect("the peer prints one JSON object");
    assert_eq!(report["ok"], true, "{report}");
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for step in [
        "discovery",
        "registration",
        "login form",
        "consent form",
        "authorization response",
        "token",
        "id_token",
        "userinfo",
        "api",
        "refresh",
        "revoke",
        "introspect",
    ] {
        assert!(
            steps.contains(&step),
            "authlib did not reach {step}: {report}"
        );
    }
    assert!(report["sub"].as_str().unwrap().ends_with(support::USER));
    if let Some(findings) = report["metadata_findings"].as_array()
        && !findings.is_empty()
    {
        eprintln!("authlib's metadata validators report: {findings:?}");
    }
}
