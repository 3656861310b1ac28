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

use e2e::{App, claims, pkce};
use sqlx_model::db::{SPA_CLIENT, USER, WEB_CLIENT, WEB_SECRET};

async fn spawn() -> App {
    e2e::spawn(fixture!(sqlx_model::db), |base, secret| async move {
        sqlx_model::app("sqlite::memory:", &base, secret)
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
async fn code_flow_issues_prefixed_subjects_and_releases_roles_only_with_their_scope() {
    let app = spawn().await;

    // Confidential client, scope `roles` granted.
    let (verifier, challenge) = pkce();
    let (code, login_shown) = app
        .authorize(WEB_CLIENT, "openid email roles", &challenge)
        .await;
    assert!(login_shown, "no session yet: the application's login page");
    let tokens = app
        .redeem(WEB_CLIENT, Some(WEB_SECRET), &code, &verifier)
        .await;
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
    let tokens = app.redeem(SPA_CLIENT, None, &code, &verifier).await;
    let info = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info["sub"], "usr_1");
    assert_eq!(info["name"], "Alice");
    assert_eq!(info["preferred_username"], USER);
    assert!(info.get("roles").is_none(), "roles needs its scope");
    assert!(info.get("email").is_none());
}

#[tokio::test]
async fn unregistered_redirect_uri_is_refused_for_the_derived_client() {
    e2e::unregistered_redirect_uri_is_refused(&spawn().await).await;
}
