//! One full authorization-code flow, step by step, for a browser that is
//! logged in already: GET authorize (`prompt=consent`, so the consent page
//! is shown every time) → POST consent → code redirect → token
//! (`authorization_code`, PKCE S256) → token (`refresh_token`) → revoke.
//! Shared by the statement-count tests and the `flows` bench.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::{
    Demo, REDIRECT_URI, authorize_url, browser_code, decide, follow, is_client_redirect, location,
    pkce, query, random, register_code_client,
};

/// The scope every flow asks for (an ID token and a refresh token).
pub const FLOW_SCOPE: &str = "openid profile offline_access api.read";

/// The steps of one flow, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// GET /oauth/authorize until the consent page.
    Authorize,
    /// POST /consent until the redirect to the client with the code.
    Consent,
    /// POST /oauth/token, `authorization_code` with the PKCE verifier.
    Redeem,
    /// POST /oauth/token, `refresh_token`.
    Refresh,
    /// POST /oauth/revoke of the rotated refresh token.
    Revoke,
}

impl Step {
    /// Every step, in flow order.
    pub const ALL: [Step; 5] = [
        Step::Authorize,
        Step::Consent,
        Step::Redeem,
        Step::Refresh,
        Step::Revoke,
    ];

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Step::Authorize => "authorize",
            Step::Consent => "consent",
            Step::Redeem => "code redemption",
            Step::Refresh => "refresh",
            Step::Revoke => "revoke",
        }
    }
}

/// A registered confidential client and a browser logged in on `demo`
/// (it logged in and consented once; that first code is redeemed).
#[derive(Clone)]
pub struct FlowClient {
    pub id: String,
    pub secret: String,
}

/// Register a client on `demo` and log its browser in.
pub async fn flow_client(demo: &Demo) -> FlowClient {
    let (id, secret) = register_code_client(demo, FLOW_SCOPE).await;
    login_browser(demo, &id).await;
    FlowClient { id, secret }
}

/// Log `demo`'s browser in for `client_id` (login and consent once).
pub async fn login_browser(demo: &Demo, client_id: &str) {
    let _ = browser_code(demo, client_id, FLOW_SCOPE).await;
}

/// Run one full flow; `after(step)` is called as each step completes.
/// Panics on any unexpected answer.
pub async fn run_flow(demo: &Demo, client: &FlowClient, mut after: impl FnMut(Step)) {
    let (verifier, challenge) = pkce();
    let state = random();
    let url = format!(
        "{}&prompt=consent",
        authorize_url(&client.id, FLOW_SCOPE, &state, &random(), &challenge)
    );
    let (s, h, b) = demo.get(&url).await;
    let (s, _, consent_page) = follow(demo, s, h, b).await;
    assert_eq!(s, 200, "expected the consent page: {consent_page}");
    after(Step::Authorize);

    let (s, h, _) = decide(demo, &consent_page, "approve").await;
    assert!((300..400).contains(&s), "{s}");
    let loc = location(&h);
    assert!(is_client_redirect(&loc), "{loc}");
    let q = query(&loc);
    assert_eq!(q.get("state"), Some(&state));
    let code = q["code"].clone();
    after(Step::Consent);

    let (s, body) = demo
        .token(
            &client.id,
            &client.secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body["id_token"].is_string(), "{body}");
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    after(Step::Redeem);

    let (s, body) = demo
        .token(
            &client.id,
            &client.secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let rt2 = body["refresh_token"].as_str().unwrap().to_owned();
    after(Step::Refresh);

    let resp = demo
        .http
        .post(demo.url("/oauth/revoke"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[
            ("token", rt2.as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    after(Step::Revoke);
}
