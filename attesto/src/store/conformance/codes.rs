//! Conformance checks for [`AuthorizationCodeStore`].

use std::sync::Arc;

use super::{RACE_ROUNDS, RACE_WIDTH, SWEEP_T, T0, alternate, batch, fresh_hash, race, unique};
use crate::clock::UnixTime;
use crate::store::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CodeIssuance, CodeRedemption, Confirmation,
    FamilyId, StoreError, TokenHash,
};

/// A fully populated code record (every optional field set), so a lossy store
/// fails the round-trip check.
pub(crate) fn code_record(
    code_hash: TokenHash,
    issued_at: UnixTime,
    expires_at: UnixTime,
) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        code_hash,
        client_id: unique("client"),
        redirect_uri: Some("https://rp.example/cb?x=1".to_owned()),
        scope: vec![
            "openid".to_owned(),
            "profile".to_owned(),
            "documents.read".to_owned(),
        ],
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        subject: unique("user"),
        auth_time: Some(issued_at - 30),
        acr: Some("urn:example:loa:2".to_owned()),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        sid: Some(unique("sid")),
        resource: vec![
            "https://api.example/".to_owned(),
            "https://files.example/".to_owned(),
        ],
        confirmation: Confirmation {
            jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".to_owned()),
            x5t_s256: Some("bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2".to_owned()),
        },
        claims: Some(serde_json::json!({
            "id_token": {"email": {"essential": true}, "acr": {"values": ["a", "b"]}},
            "userinfo": {"name": null}
        })),
        issued_at,
        expires_at,
    }
}

fn issuance() -> CodeIssuance {
    CodeIssuance {
        family_id: Some(FamilyId::new(unique("family"))),
        access_token_jti: Some(unique("jti")),
        access_token_expires_at: Some(T0 + 900),
    }
}

/// The whole [`AuthorizationCodeStore`] contract on one store (seed-catalog-3b
/// must-test 1–9, 36; the store-level half of 8).
pub async fn authorization_codes<S: AuthorizationCodeStore>(store: Arc<S>) {
    duplicate_insert_is_rejected_and_original_kept(&*store).await;
    invalid_records_are_rejected(&*store).await;
    record_round_trips_losslessly(&*store).await;
    get_does_not_consume(&*store).await;
    code_is_single_use(&*store).await;
    replay_reports_what_was_issued(&*store).await;
    expired_code_is_never_returned(&*store).await;
    unknown_code_is_not_found(&*store).await;
    concurrent_redemptions_have_one_winner(&store).await;
    sweep_deletes_only_expired_codes_in_batches(&*store).await;
}

/// Cross-node checks: a code issued through `a` redeems through `b`, and a race
/// split across both nodes has one winner.
pub async fn authorization_codes_shared<S: AuthorizationCodeStore>(a: Arc<S>, b: Arc<S>) {
    let hash = fresh_hash("code-shared");
    a.insert(code_record(hash, T0, T0 + 60)).await.unwrap();
    assert!(
        b.get(hash, T0 + 1).await.unwrap().is_some(),
        "a code inserted on node A must be visible on node B"
    );
    assert!(matches!(
        b.redeem(hash, T0 + 1).await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    assert!(matches!(
        a.redeem(hash, T0 + 2).await.unwrap(),
        CodeRedemption::AlreadyRedeemed { .. }
    ));

    for _ in 0..RACE_ROUNDS {
        let hash = fresh_hash("code-shared-race");
        a.insert(code_record(hash, T0, T0 + 60)).await.unwrap();
        let results = race(RACE_WIDTH, |i| {
            let s = alternate(i, &a, &b);
            async move { s.redeem(hash, T0 + 1).await.unwrap() }
        })
        .await;
        assert_single_winner(&results);
    }
}

fn assert_single_winner(results: &[CodeRedemption]) {
    let winners = results
        .iter()
        .filter(|r| matches!(r, CodeRedemption::Redeemed(_)))
        .count();
    assert_eq!(
        winners, 1,
        "exactly one concurrent redemption must win: {results:?}"
    );
    assert!(
        results.iter().all(|r| matches!(
            r,
            CodeRedemption::Redeemed(_) | CodeRedemption::AlreadyRedeemed { issued: None }
        )),
        "every loser must see AlreadyRedeemed: {results:?}"
    );
}

// seed-catalog-3b must-test 1
async fn duplicate_insert_is_rejected_and_original_kept<S: AuthorizationCodeStore>(store: &S) {
    let hash = fresh_hash("code-dup");
    let original = code_record(hash, T0, T0 + 60);
    store.insert(original.clone()).await.unwrap();
    let mut other = code_record(hash, T0, T0 + 600);
    other.client_id = unique("other-client");
    let err = store.insert(other).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate),
        "a duplicate code hash must be Duplicate, got {err:?}"
    );
    assert_eq!(
        store.get(hash, T0 + 1).await.unwrap(),
        Some(original),
        "a duplicate insert must not overwrite"
    );
}

// seed-catalog-3b must-test 2 ("plain" is unrepresentable: only S256 challenges exist)
async fn invalid_records_are_rejected<S: AuthorizationCodeStore>(store: &S) {
    let cases: Vec<super::Mutation<AuthorizationCodeRecord>> = vec![
        ("empty client_id", |r| r.client_id.clear()),
        ("empty subject", |r| r.subject.clear()),
        ("empty redirect_uri", |r| {
            r.redirect_uri = Some(String::new())
        }),
        ("empty scope token", |r| r.scope.push(String::new())),
        ("plain-style challenge", |r| {
            r.code_challenge = Some("too-short-verifier-as-plain".to_owned())
        }),
        ("challenge outside base64url", |r| {
            r.code_challenge = Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM".to_owned());
        }),
        ("empty thumbprint", |r| {
            r.confirmation.jkt = Some(String::new())
        }),
        ("expires before issue", |r| r.expires_at = r.issued_at),
    ];
    for (what, mutate) in cases {
        let hash = fresh_hash("code-invalid");
        let mut record = code_record(hash, T0, T0 + 60);
        mutate(&mut record);
        let err = store.insert(record).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid(_)),
            "{what}: expected Invalid, got {err:?}"
        );
        assert!(
            matches!(
                store.redeem(hash, T0 + 1).await.unwrap(),
                CodeRedemption::NotFound
            ),
            "{what}: a rejected record must not be stored"
        );
    }
    // No challenge at all is valid (a confidential client exempted from PKCE).
    let hash = fresh_hash("code-no-pkce");
    let mut record = code_record(hash, T0, T0 + 60);
    record.code_challenge = None;
    record.redirect_uri = None;
    store.insert(record.clone()).await.unwrap();
    assert_eq!(store.get(hash, T0).await.unwrap(), Some(record));
}

// seed-catalog-3b must-test 3 and 9
async fn record_round_trips_losslessly<S: AuthorizationCodeStore>(store: &S) {
    let hash = fresh_hash("code-roundtrip");
    let record = code_record(hash, T0, T0 + 60);
    store.insert(record.clone()).await.unwrap();
    assert_eq!(
        store.get(hash, T0).await.unwrap().as_ref(),
        Some(&record),
        "get must return the stored record unchanged"
    );
    match store.redeem(hash, T0).await.unwrap() {
        CodeRedemption::Redeemed(got) => assert_eq!(
            got, record,
            "redeem must return the stored record unchanged"
        ),
        other => panic!("expected Redeemed, got {other:?}"),
    }
}

// seed-catalog-3b must-test 7
async fn get_does_not_consume<S: AuthorizationCodeStore>(store: &S) {
    let hash = fresh_hash("code-get");
    store.insert(code_record(hash, T0, T0 + 60)).await.unwrap();
    assert!(store.get(hash, T0 + 1).await.unwrap().is_some());
    assert!(
        store.get(hash, T0 + 1).await.unwrap().is_some(),
        "get must not consume"
    );
    assert!(matches!(
        store.redeem(hash, T0 + 2).await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    assert_eq!(
        store.get(hash, T0 + 3).await.unwrap(),
        None,
        "get must not return a redeemed code"
    );
}

// seed-catalog-3b must-test 5
async fn code_is_single_use<S: AuthorizationCodeStore>(store: &S) {
    let hash = fresh_hash("code-once");
    store.insert(code_record(hash, T0, T0 + 60)).await.unwrap();
    assert!(matches!(
        store.redeem(hash, T0 + 1).await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    // The first redemption "failed validation" (no record_issued): still spent.
    assert_eq!(
        store.redeem(hash, T0 + 2).await.unwrap(),
        CodeRedemption::AlreadyRedeemed { issued: None },
        "a presented code is spent even when nothing was issued from it"
    );
}

// seed-catalog-3b must-test 6
async fn replay_reports_what_was_issued<S: AuthorizationCodeStore>(store: &S) {
    let hash = fresh_hash("code-issued");
    store.insert(code_record(hash, T0, T0 + 60)).await.unwrap();
    assert!(
        !store.record_issued(hash, issuance()).await.unwrap(),
        "record_issued needs a redeemed code"
    );
    assert!(
        !store
            .record_issued(fresh_hash("code-unknown"), issuance())
            .await
            .unwrap()
    );
    assert!(matches!(
        store.redeem(hash, T0 + 1).await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    let first = issuance();
    assert!(store.record_issued(hash, first.clone()).await.unwrap());
    assert!(
        !store.record_issued(hash, issuance()).await.unwrap(),
        "the first record must not be overwritten"
    );
    assert_eq!(
        store.redeem(hash, T0 + 2).await.unwrap(),
        CodeRedemption::AlreadyRedeemed {
            issued: Some(first.clone())
        }
    );
    // Replay detection outlives the code's expiry while the row exists.
    assert_eq!(
        store.redeem(hash, T0 + 3600).await.unwrap(),
        CodeRedemption::AlreadyRedeemed {
            issued: Some(first)
        },
        "a replay after expiry must still report what was issued"
    );
}

// seed-catalog-3b must-test 36 (expiry re-checked on read, no sweeper)
async fn expired_code_is_never_returned<S: AuthorizationCodeStore>(store: &S) {
    let hash = fresh_hash("code-expired");
    store.insert(code_record(hash, T0, T0 + 60)).await.unwrap();
    assert_eq!(
        store.get(hash, T0 + 60).await.unwrap(),
        None,
        "now == expires_at is expired"
    );
    assert_eq!(
        store.redeem(hash, T0 + 60).await.unwrap(),
        CodeRedemption::Expired
    );
    assert_eq!(
        store.redeem(hash, T0 + 61).await.unwrap(),
        CodeRedemption::Expired,
        "an expired code stays expired"
    );
    // One second earlier it was live, and the expired presentations did not spend it.
    assert!(store.get(hash, T0 + 59).await.unwrap().is_some());
    assert!(matches!(
        store.redeem(hash, T0 + 59).await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
}

async fn unknown_code_is_not_found<S: AuthorizationCodeStore>(store: &S) {
    let hash = fresh_hash("code-never-issued");
    assert_eq!(store.get(hash, T0).await.unwrap(), None);
    assert_eq!(
        store.redeem(hash, T0).await.unwrap(),
        CodeRedemption::NotFound
    );
}

// seed-catalog-3b must-test 4
async fn concurrent_redemptions_have_one_winner<S: AuthorizationCodeStore>(store: &Arc<S>) {
    for _ in 0..RACE_ROUNDS {
        let hash = fresh_hash("code-race");
        store.insert(code_record(hash, T0, T0 + 60)).await.unwrap();
        let results = race(RACE_WIDTH, |_| {
            let s = Arc::clone(store);
            async move { s.redeem(hash, T0 + 1).await.unwrap() }
        })
        .await;
        assert_single_winner(&results);
    }
}

// seed-catalog-3b must-test 31 and 33 (this table)
async fn sweep_deletes_only_expired_codes_in_batches<S: AuthorizationCodeStore>(store: &S) {
    let expired: Vec<TokenHash> = (0..3).map(|_| fresh_hash("code-sweep-old")).collect();
    for &hash in &expired {
        store
            .insert(code_record(hash, SWEEP_T - 100, SWEEP_T - 1))
            .await
            .unwrap();
    }
    let boundary = fresh_hash("code-sweep-boundary");
    store
        .insert(code_record(boundary, SWEEP_T - 100, SWEEP_T))
        .await
        .unwrap();
    let future = fresh_hash("code-sweep-future");
    store
        .insert(code_record(future, SWEEP_T - 100, SWEEP_T + 1))
        .await
        .unwrap();

    assert_eq!(
        store.sweep_expired(SWEEP_T, batch(2)).await.unwrap(),
        2,
        "a sweep deletes at most `batch` rows"
    );
    assert_eq!(store.sweep_expired(SWEEP_T, batch(2)).await.unwrap(), 1);
    assert_eq!(store.sweep_expired(SWEEP_T, batch(2)).await.unwrap(), 0);
    // Reading "in the past" shows which rows still exist.
    for hash in expired {
        assert_eq!(
            store.redeem(hash, SWEEP_T - 50).await.unwrap(),
            CodeRedemption::NotFound,
            "expired rows are swept"
        );
    }
    assert!(
        store.get(boundary, SWEEP_T - 50).await.unwrap().is_some(),
        "expires_at == now is kept by the sweeper"
    );
    assert!(
        store.get(future, SWEEP_T - 50).await.unwrap().is_some(),
        "future rows are kept"
    );
}
