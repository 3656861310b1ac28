//! DPoP and sender constraints at the token endpoint, over real HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_token_support;

use attesto::host::{EventName, SenderConstraint};
use attesto::server::{DpopSettings, NoncePolicy};
use attesto::store::{AuthorizationCodeStore, TokenHash};
use server_token_support::*;

const CC: (&str, &str) = ("grant_type", "client_credentials");

fn at_claims(r: &Reply) -> serde_json::Value {
    jwt_claims(r.json()["access_token"].as_str().unwrap())
}

fn rt(r: &Reply) -> String {
    r.json()["refresh_token"].as_str().unwrap().to_owned()
}

async fn nonce_server() -> TestServer {
    start_with(TestHost::with_clients(standard_clients()), |b| {
        let mut d = ServerDefaults::dpop();
        d.nonce = NoncePolicy::Required;
        b.dpop(d)
    })
    .await
}

struct ServerDefaults;
impl ServerDefaults {
    fn dpop() -> DpopSettings {
        default_config(ISSUER).build().unwrap().dpop
    }
}

#[tokio::test]
async fn proof_binds_the_token_with_dpop_type_and_jkt() {
    // seed-catalog-2 §35.D Must-tests 55 and 60; seed-catalog-3b Must-test 39
    let s = start(TestHost::with_clients(standard_clients())).await;
    let key = es256();
    let proof = s.proof(&key, None);
    let r = s
        .token(
            &[CC],
            &[("authorization", &basic("conf", SECRET)), ("dpop", &proof)],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["token_type"], "DPoP");
    assert_eq!(
        at_claims(&r)["cnf"]["jkt"],
        key.verifying_key().thumbprint()
    );
    assert!(r.header("dpop-nonce").is_none(), "nonces are off");
    let issued = s.events_named(EventName::TokenIssued);
    assert_eq!(issued[0].token_type, Some("DPoP"));
    assert_eq!(issued[0].sender_constraint, Some(SenderConstraint::Dpop));
    assert_eq!(
        issued[0].metadata["cnf"]["jkt"],
        key.verifying_key().thumbprint()
    );
}

#[tokio::test]
async fn dpop_required_client_without_a_proof_gets_no_token() {
    // seed-catalog-2 §35.D Must-tests 56 and 57; seed-catalog-3a Must-test 60
    let mut c = TestClient::confidential("dpop-only");
    c.requires_dpop = true;
    let s = start(TestHost::with_clients([c])).await;
    let r = s.token_basic("dpop-only", &[CC]).await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_dpop_proof"));
    assert_eq!(r.json()["error_description"], "DPoP proof required");
    let key = es256();
    let proof = s.proof(&key, None);
    let ok = s
        .token(
            &[CC],
            &[
                ("authorization", &basic("dpop-only", SECRET)),
                ("dpop", &proof),
            ],
        )
        .await;
    assert_eq!(ok.json()["token_type"], "DPoP");
}

#[tokio::test]
async fn mtls_required_client_without_certificate_gets_no_token() {
    // seed-catalog-3a Must-test 60; seed-catalog-2 §35.D Must-test 59
    let mut c = TestClient::confidential("mtls-only");
    c.requires_mtls = true;
    let s = start(TestHost::with_clients([c])).await;
    let key = es256();
    let proof = s.proof(&key, None);
    for headers in [vec![], vec![("dpop", proof.as_str())]] {
        let auth = basic("mtls-only", SECRET);
        let mut h = vec![("authorization", auth.as_str())];
        h.extend(headers);
        let r = s.token(&[CC], &h).await;
        assert_eq!((r.status, r.error().as_str()), (400, "invalid_request"));
        assert_eq!(r.json()["error_description"], "client certificate required");
    }
}

#[tokio::test]
async fn client_requiring_nothing_without_proof_gets_a_bearer_token() {
    // seed-catalog-2 §35.D Must-tests 60 and 61; seed-catalog-3b Must-test 39
    let s = start(TestHost::with_clients(standard_clients())).await;
    let r = s.token_basic("conf", &[CC]).await;
    assert_eq!(r.json()["token_type"], "Bearer");
    assert!(at_claims(&r).get("cnf").is_none());
    let issued = s.events_named(EventName::TokenIssued);
    assert_eq!(issued[0].sender_constraint, Some(SenderConstraint::None));
    assert!(issued[0].metadata.get("cnf").is_none());
}

#[tokio::test]
async fn nonce_challenge_round_trip() {
    // seed-catalog-2 §35.D Must-test 62; seed-catalog-3a Must-test 59
    let s = nonce_server().await;
    let key = es256();
    let auth = basic("conf", SECRET);
    let first = s
        .token(
            &[CC],
            &[("authorization", &auth), ("dpop", &s.proof(&key, None))],
        )
        .await;
    assert_eq!(
        (first.status, first.error().as_str()),
        (400, "use_dpop_nonce")
    );
    first.assert_no_store();
    let nonce = first.header("dpop-nonce").expect("a fresh nonce");
    let retry = s
        .token(
            &[CC],
            &[
                ("authorization", &auth),
                ("dpop", &s.proof(&key, Some(&nonce))),
            ],
        )
        .await;
    assert_eq!(retry.status, 200, "{retry:?}");
    assert_eq!(retry.json()["token_type"], "DPoP");
    assert!(
        retry.header("dpop-nonce").is_some(),
        "the next nonce rides along"
    );
}

#[tokio::test]
async fn stale_or_forged_nonce_is_answered_with_a_fresh_one() {
    // seed-catalog-3a Must-test 59
    let s = nonce_server().await;
    let key = es256();
    let auth = basic("conf", SECRET);
    let first = s
        .token(
            &[CC],
            &[("authorization", &auth), ("dpop", &s.proof(&key, None))],
        )
        .await;
    let nonce = first.header("dpop-nonce").unwrap();
    s.clock.advance(3_600);
    for n in [nonce.as_str(), "forged-nonce"] {
        let r = s
            .token(
                &[CC],
                &[("authorization", &auth), ("dpop", &s.proof(&key, Some(n)))],
            )
            .await;
        assert_eq!(r.error(), "use_dpop_nonce", "{n}");
        assert!(r.header("dpop-nonce").is_some_and(|f| f != n));
    }
}

#[tokio::test]
async fn two_dpop_headers_are_invalid_dpop_proof() {
    // seed-catalog-2 §35.D Must-test 66
    let s = start(TestHost::with_clients(standard_clients())).await;
    let key = es256();
    let (a, b) = (s.proof(&key, None), s.proof(&key, None));
    let r = s
        .token(
            &[CC],
            &[
                ("authorization", &basic("conf", SECRET)),
                ("dpop", &a),
                ("dpop", &b),
            ],
        )
        .await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_dpop_proof"));
}

#[tokio::test]
async fn wrong_htm_htu_or_a_replayed_proof_is_invalid_dpop_proof() {
    // seed-catalog-2 §35.B Must-test 30 (the same checks at the token endpoint)
    let s = start(TestHost::with_clients(standard_clients())).await;
    let key = es256();
    let auth = basic("conf", SECRET);
    let bad = [
        dpop_proof(&key, "GET", &s.token_url(), s.now(), None),
        dpop_proof(
            &key,
            "POST",
            &format!("{ISSUER}/oauth/revoke"),
            s.now(),
            None,
        ),
        // the loopback URL the request really went to is not the canonical htu
        dpop_proof(&key, "POST", &s.url("/oauth/token"), s.now(), None),
        dpop_proof(&key, "POST", &s.token_url(), s.now() - 3_600, None),
        "not.a.proof".to_owned(),
    ];
    for proof in &bad {
        let r = s
            .token(&[CC], &[("authorization", &auth), ("dpop", proof)])
            .await;
        assert_eq!(
            (r.status, r.error().as_str()),
            (400, "invalid_dpop_proof"),
            "{r:?}"
        );
    }
    let good = s.proof(&key, None);
    assert_eq!(
        s.token(&[CC], &[("authorization", &auth), ("dpop", &good)])
            .await
            .status,
        200
    );
    let replay = s
        .token(&[CC], &[("authorization", &auth), ("dpop", &good)])
        .await;
    assert_eq!(replay.error(), "invalid_dpop_proof");
}

#[tokio::test]
async fn htu_comes_from_the_issuer_not_the_host_header() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let key = es256();
    let auth = basic("conf", SECRET);
    let spoofed = dpop_proof(
        &key,
        "POST",
        "https://evil.example/oauth/token",
        s.now(),
        None,
    );
    let r = s
        .token(
            &[CC],
            &[
                ("authorization", &auth),
                ("dpop", &spoofed),
                ("host", "evil.example"),
            ],
        )
        .await;
    assert_eq!(r.error(), "invalid_dpop_proof");
    let canonical = s.proof(&key, None);
    let r = s
        .token(
            &[CC],
            &[
                ("authorization", &auth),
                ("dpop", &canonical),
                ("host", "evil.example"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn public_client_refresh_token_is_bound_to_its_dpop_key() {
    // seed-catalog-2 §35.D Must-test 63
    let s = start(TestHost::with_clients(standard_clients())).await;
    let key = es256();
    let (code, verifier) = s
        .issue_code(CodeSpec::new("pub", &["offline_access", "documents.read"]))
        .await;
    let first = s
        .redeem(
            "pub",
            true,
            &code,
            &verifier,
            &[("dpop", &s.proof(&key, None))],
        )
        .await;
    assert_eq!(first.status, 200, "{first:?}");
    let refresh_token = rt(&first);
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
        ("client_id", "pub"),
    ];
    let other = es256();
    let wrong_key = s.token(&pairs, &[("dpop", &s.proof(&other, None))]).await;
    assert_eq!(wrong_key.error(), "invalid_dpop_proof");
    let no_proof = s.token(&pairs, &[]).await;
    assert_eq!(no_proof.error(), "invalid_dpop_proof");
    let ok = s.token(&pairs, &[("dpop", &s.proof(&key, None))]).await;
    assert_eq!(
        ok.status, 200,
        "refused attempts did not burn the token: {ok:?}"
    );
    assert_eq!(
        at_claims(&ok)["cnf"]["jkt"],
        key.verifying_key().thumbprint()
    );
}

#[tokio::test]
async fn confidential_client_may_refresh_with_a_new_dpop_key() {
    // seed-catalog-2 §35.D Must-test 64
    let s = start(TestHost::with_clients(standard_clients())).await;
    let key = es256();
    let (code, verifier) = s
        .issue_code(CodeSpec::new("conf", &["offline_access", "documents.read"]))
        .await;
    let first = s
        .redeem(
            "conf",
            false,
            &code,
            &verifier,
            &[("dpop", &s.proof(&key, None))],
        )
        .await;
    assert_eq!(first.json()["token_type"], "DPoP");
    let new_key = es256();
    let r = s
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt(&first)),
            ],
            &[
                ("authorization", &basic("conf", SECRET)),
                ("dpop", &s.proof(&new_key, None)),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        at_claims(&r)["cnf"]["jkt"],
        new_key.verifying_key().thumbprint()
    );
}

#[tokio::test]
async fn dpop_bound_code_without_proof_is_refused_before_client_auth_and_not_spent() {
    // seed-catalog-2 §35.D Must-test 68
    let s = start(TestHost::with_clients(standard_clients())).await;
    let key = es256();
    let mut spec = CodeSpec::new("conf", &["documents.read"]);
    spec.dpop_jkt = Some(key.verifying_key().thumbprint().to_owned());
    let (code, verifier) = s.issue_code(spec).await;
    let r = s
        .token(
            &[("grant_type", "authorization_code"), ("code", &code)],
            &[],
        )
        .await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_request"));
    assert_eq!(r.json()["error_description"], "DPoP proof required");
    assert!(
        s.stores
            .authorization_codes
            .get(TokenHash::of(&code), s.now())
            .await
            .unwrap()
            .is_some(),
        "still redeemable"
    );
    let ok = s
        .redeem(
            "conf",
            false,
            &code,
            &verifier,
            &[("dpop", &s.proof(&key, None))],
        )
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(
        at_claims(&ok)["cnf"]["jkt"],
        key.verifying_key().thumbprint()
    );
}

#[tokio::test]
async fn dpop_bound_code_redeemed_with_another_key_is_refused() {
    // seed-catalog-2 §35.B Must-test 29 (the redemption side)
    let s = start(TestHost::with_clients(standard_clients())).await;
    let key = es256();
    let mut spec = CodeSpec::new("conf", &["documents.read"]);
    spec.dpop_jkt = Some(key.verifying_key().thumbprint().to_owned());
    let (code, verifier) = s.issue_code(spec).await;
    let other = es256();
    let r = s
        .redeem(
            "conf",
            false,
            &code,
            &verifier,
            &[("dpop", &s.proof(&other, None))],
        )
        .await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_dpop_proof"));
}

#[tokio::test]
async fn denial_events_record_the_attempted_sender_constraint() {
    // seed-catalog-2 §35.D Must-test 65 (attempted method, nothing verified)
    let s = start(TestHost::with_clients(standard_clients())).await;
    let r = s
        .token(
            &[CC],
            &[
                ("authorization", &basic("conf", "wrong")),
                ("dpop", "garbage"),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
    let denied = s.events_named(EventName::TokenDenied);
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].sender_constraint, Some(SenderConstraint::Dpop));
    assert_eq!(denied[0].token_type, Some("DPoP"));
}
