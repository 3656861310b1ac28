//! The example end to end over real HTTP on loopback: the derived models are
//! read from the application's own SQLite tables by attesto's server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../../support/e2e.rs"]
#[macro_use]
mod e2e;

use diesel_model::db::{SPA_CLIENT, USER, WEB_CLIENT, WEB_SECRET};
use e2e::{App, claims, pkce};

async fn spawn() -> App {
    e2e::spawn(fixture!(diesel_model::db), |base, secret| async move {
        diesel_model::app(":memory:", "sqlite::memory:", &base, secret)
            .await
            .unwrap()
    })
    .await
}

#[tokio::test]
async fn client_credentials_authenticates_the_derived_client_with_its_stored_secret_hash() {
    e2e::client_credentials_authenticates_with_the_stored_secret_hash(&spawn().await).await;
}

#[tokio::test]
async fn code_flow_issues_prefixed_subjects_and_releases_the_custom_claim_only_with_its_scope() {
    let app = spawn().await;

    // Confidential client, scope `org` granted.
    let (verifier, challenge) = pkce();
    let (code, login_shown) = app
        .authorize(WEB_CLIENT, "openid email org", &challenge)
        .await;
    assert!(login_shown, "no session yet: the application's login page");
    let tokens = app
        .redeem(WEB_CLIENT, Some(WEB_SECRET), &code, &verifier)
        .await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], "emp_7", "the derive's sub_prefix");
    assert_eq!(id["email"], "bob@example.com");
    assert_eq!(id["department"], "construction");
    let info = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["sub"], "emp_7");
    assert_eq!(info["department"], "construction");
    assert_eq!(info["email_verified"], false);
    assert!(info.get("name").is_none(), "profile was not granted");

    // Public client (PKCE, no secret), without `org`.
    let (verifier, challenge) = pkce();
    let (code, login_shown) = app
        .authorize(SPA_CLIENT, "openid profile", &challenge)
        .await;
    assert!(!login_shown, "the session from the first login");
    let tokens = app.redeem(SPA_CLIENT, None, &code, &verifier).await;
    let info = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["sub"], "emp_7");
    assert_eq!(info["name"], "Bob");
    assert_eq!(info["preferred_username"], USER);
    assert!(
        info.get("department").is_none(),
        "department needs scope org"
    );
    assert!(info.get("email").is_none());
}

#[tokio::test]
async fn unregistered_redirect_uri_is_refused_for_the_derived_client() {
    e2e::unregistered_redirect_uri_is_refused(&spawn().await).await;
}
