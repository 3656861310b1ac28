//! Conformance checks for [`DeviceCodeStore`].

use std::sync::Arc;

use super::dpop::assert_sweeps_3_in_batches_of_2;
use super::{RACE_ROUNDS, RACE_WIDTH, SWEEP_T, T0, alternate, fresh_hash, race, unique};
use crate::clock::UnixTime;
use crate::store::{
    Confirmation, DeviceApproval, DeviceCodeRecord, DeviceCodeStatus, DeviceCodeStore,
    DeviceDecision, DevicePoll, DeviceRedemption, StoreError,
};

const INTERVAL: u32 = 5;

fn device(issued_at: UnixTime, expires_at: UnixTime) -> DeviceCodeRecord {
    DeviceCodeRecord {
        device_code_hash: fresh_hash("device-code"),
        user_code_hash: fresh_hash("user-code"),
        client_id: unique("client"),
        scope: vec!["openid".to_owned(), "offline_access".to_owned()],
        resource: vec!["https://api.example/".to_owned()],
        confirmation: Confirmation::dpop("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
        interval_seconds: INTERVAL,
        issued_at,
        expires_at,
        status: DeviceCodeStatus::Pending,
        approval: None,
        last_polled_at: None,
    }
}

fn approval(at: UnixTime) -> DeviceApproval {
    DeviceApproval {
        subject: unique("user"),
        scope: vec!["openid".to_owned()],
        auth_time: Some(at - 5),
        acr: Some("urn:example:loa:2".to_owned()),
        amr: vec!["pwd".to_owned()],
        claims: Some(serde_json::json!({"step_up": true})),
        approved_at: at,
    }
}

async fn inserted<S: DeviceCodeStore>(store: &S) -> DeviceCodeRecord {
    let record = device(T0, T0 + 600);
    store.insert(record.clone()).await.unwrap();
    record
}

/// The whole [`DeviceCodeStore`] contract on one store (seed-catalog-2
/// must-test 93–99, 102, 103; seed-catalog-3b must-test 33, 36).
pub async fn device_codes<S: DeviceCodeStore>(store: Arc<S>) {
    // Insert: validation and duplicates.
    let record = inserted(&*store).await;
    assert_eq!(
        store
            .find_pending(record.user_code_hash, T0 + 1)
            .await
            .unwrap(),
        Some(record.clone()),
        "round trip"
    );
    let mut dup = device(T0, T0 + 600);
    dup.device_code_hash = record.device_code_hash;
    assert!(
        matches!(store.insert(dup).await.unwrap_err(), StoreError::Duplicate),
        "duplicate device code"
    );
    let mut dup = device(T0, T0 + 600);
    dup.user_code_hash = record.user_code_hash;
    assert!(
        matches!(store.insert(dup).await.unwrap_err(), StoreError::Duplicate),
        "duplicate user code"
    );
    let invalid: Vec<super::Mutation<DeviceCodeRecord>> = vec![
        ("not pending", |r| r.status = DeviceCodeStatus::Approved),
        ("carries an approval", |r| r.approval = Some(approval(T0))),
        ("already polled", |r| r.last_polled_at = Some(T0)),
        ("zero interval", |r| r.interval_seconds = 0),
        ("empty client", |r| r.client_id.clear()),
        ("expires at issue", |r| r.expires_at = r.issued_at),
    ];
    for (what, mutate) in invalid {
        let mut r = device(T0, T0 + 600);
        mutate(&mut r);
        let err = store.insert(r.clone()).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{what}: {err:?}");
        assert_eq!(
            store.poll(r.device_code_hash, T0 + 1).await.unwrap(),
            DevicePoll::NotFound,
            "{what}: not stored"
        );
    }

    // must-test 102: pending, slow_down (+5 s), pending again after the new interval.
    let r = inserted(&*store).await;
    let code = r.device_code_hash;
    assert_eq!(
        store.poll(code, T0 + 10).await.unwrap(),
        DevicePoll::Pending
    );
    assert_eq!(
        store.poll(code, T0 + 11).await.unwrap(),
        DevicePoll::SlowDown {
            interval_seconds: INTERVAL + 5
        },
        "a poll within the interval is slow_down and raises the interval by 5 s"
    );
    // The interval (now 10 s) counts from the previous poll (T0 + 11).
    assert_eq!(
        store.poll(code, T0 + 20).await.unwrap(),
        DevicePoll::SlowDown {
            interval_seconds: INTERVAL + 10
        }
    );
    assert_eq!(
        store.poll(code, T0 + 35).await.unwrap(),
        DevicePoll::Pending,
        "after a full interval: pending"
    );
    assert_eq!(
        store.poll(fresh_hash("device-unknown"), T0).await.unwrap(),
        DevicePoll::NotFound
    );

    // must-test 95–97: approve once; the page no longer finds it.
    let given = approval(T0 + 40);
    let DeviceDecision::Recorded(approved) = store
        .approve(r.user_code_hash, given.clone(), T0 + 40)
        .await
        .unwrap()
    else {
        panic!("approving a pending code must be Recorded");
    };
    assert_eq!(approved.status, DeviceCodeStatus::Approved);
    assert_eq!(approved.approval, Some(given.clone()));
    assert_eq!(
        store.find_pending(r.user_code_hash, T0 + 41).await.unwrap(),
        None,
        "a decided code is not pending"
    );
    // must-test 98
    assert_eq!(
        store
            .approve(r.user_code_hash, approval(T0 + 41), T0 + 41)
            .await
            .unwrap(),
        DeviceDecision::AlreadyDecided
    );
    assert_eq!(
        store.deny(r.user_code_hash, T0 + 41).await.unwrap(),
        DeviceDecision::AlreadyDecided
    );
    assert_eq!(
        store
            .deny(fresh_hash("user-unknown"), T0 + 41)
            .await
            .unwrap(),
        DeviceDecision::NotFound
    );
    // must-test 103: poll sees the approval; one redemption.
    let DevicePoll::Approved(polled) = store.poll(code, T0 + 60).await.unwrap() else {
        panic!("an approved code polls as Approved");
    };
    assert_eq!(polled.approval, Some(given));
    assert!(matches!(
        store.redeem(code, T0 + 61).await.unwrap(),
        DeviceRedemption::Redeemed(_)
    ));
    assert_eq!(
        store.redeem(code, T0 + 62).await.unwrap(),
        DeviceRedemption::AlreadyRedeemed
    );
    assert_eq!(
        store.poll(code, T0 + 100).await.unwrap(),
        DevicePoll::AlreadyRedeemed
    );
    assert_eq!(
        store
            .redeem(fresh_hash("device-unknown"), T0)
            .await
            .unwrap(),
        DeviceRedemption::NotFound
    );

    // Deny path.
    let r = inserted(&*store).await;
    assert_eq!(
        store.redeem(r.device_code_hash, T0 + 1).await.unwrap(),
        DeviceRedemption::NotApproved,
        "pending"
    );
    let DeviceDecision::Recorded(denied) = store.deny(r.user_code_hash, T0 + 2).await.unwrap()
    else {
        panic!("denying a pending code must be Recorded");
    };
    assert_eq!(denied.status, DeviceCodeStatus::Denied);
    assert_eq!(denied.approval, None);
    assert_eq!(
        store.poll(r.device_code_hash, T0 + 3).await.unwrap(),
        DevicePoll::Denied
    );
    assert_eq!(
        store.redeem(r.device_code_hash, T0 + 4).await.unwrap(),
        DeviceRedemption::NotApproved,
        "denied"
    );
    let err = store
        .approve(
            r.user_code_hash,
            DeviceApproval {
                subject: String::new(),
                ..approval(T0)
            },
            T0,
        )
        .await;
    assert!(
        matches!(err.unwrap_err(), StoreError::Invalid(_)),
        "an approval without subject is invalid"
    );

    // must-test 36 / 98: expiry is re-checked on every operation.
    let r = device(T0, T0 + 600);
    store.insert(r.clone()).await.unwrap();
    let end = T0 + 600;
    assert_eq!(
        store.find_pending(r.user_code_hash, end).await.unwrap(),
        None
    );
    assert_eq!(
        store.poll(r.device_code_hash, end).await.unwrap(),
        DevicePoll::Expired
    );
    assert_eq!(
        store
            .approve(r.user_code_hash, approval(end), end)
            .await
            .unwrap(),
        DeviceDecision::Expired
    );
    assert_eq!(
        store.deny(r.user_code_hash, end).await.unwrap(),
        DeviceDecision::Expired
    );
    assert!(matches!(
        store
            .approve(r.user_code_hash, approval(end - 1), end - 1)
            .await
            .unwrap(),
        DeviceDecision::Recorded(_)
    ));
    assert_eq!(
        store.redeem(r.device_code_hash, end).await.unwrap(),
        DeviceRedemption::Expired
    );
    assert!(matches!(
        store.redeem(r.device_code_hash, end - 1).await.unwrap(),
        DeviceRedemption::Redeemed(_)
    ));

    // must-test 99: concurrent decisions (half approve, half deny) — one is recorded.
    for _ in 0..RACE_ROUNDS {
        let r = inserted(&*store).await;
        let user = r.user_code_hash;
        let results = race(RACE_WIDTH, |i| {
            let s = Arc::clone(&store);
            async move {
                if i.is_multiple_of(2) {
                    s.approve(user, approval(T0 + 1), T0 + 1).await.unwrap()
                } else {
                    s.deny(user, T0 + 1).await.unwrap()
                }
            }
        })
        .await;
        assert_single_decision(&results);
        // must-test 103: concurrent redemptions of an approved code — one wins.
        let r = inserted(&*store).await;
        store
            .approve(r.user_code_hash, approval(T0 + 1), T0 + 1)
            .await
            .unwrap();
        let code = r.device_code_hash;
        let results = race(RACE_WIDTH, |_| {
            let s = Arc::clone(&store);
            async move { s.redeem(code, T0 + 2).await.unwrap() }
        })
        .await;
        assert_single_redemption(&results);
    }

    // seed-catalog-3b must-test 31 and 33 (device codes are swept too)
    let expired: Vec<DeviceCodeRecord> =
        (0..3).map(|_| device(SWEEP_T - 100, SWEEP_T - 1)).collect();
    for r in &expired {
        store.insert(r.clone()).await.unwrap();
    }
    let boundary = device(SWEEP_T - 100, SWEEP_T);
    let future = device(SWEEP_T - 100, SWEEP_T + 1);
    store.insert(boundary.clone()).await.unwrap();
    store.insert(future.clone()).await.unwrap();
    assert_sweeps_3_in_batches_of_2(|b| store.sweep_expired(SWEEP_T, b)).await;
    for r in expired {
        assert_eq!(
            store.poll(r.device_code_hash, SWEEP_T - 50).await.unwrap(),
            DevicePoll::NotFound,
            "swept"
        );
        assert_eq!(
            store
                .find_pending(r.user_code_hash, SWEEP_T - 50)
                .await
                .unwrap(),
            None,
            "user code index swept"
        );
        // The swept user code can be issued again.
        let mut again = device(T0, T0 + 600);
        again.user_code_hash = r.user_code_hash;
        store.insert(again).await.unwrap();
    }
    for r in [boundary, future] {
        assert!(
            store
                .find_pending(r.user_code_hash, SWEEP_T - 50)
                .await
                .unwrap()
                .is_some(),
            "kept"
        );
    }
}

fn assert_single_decision(results: &[DeviceDecision]) {
    let recorded = results
        .iter()
        .filter(|r| matches!(r, DeviceDecision::Recorded(_)))
        .count();
    assert_eq!(
        recorded, 1,
        "exactly one concurrent decision is recorded: {results:?}"
    );
    assert!(
        results.iter().all(|r| matches!(
            r,
            DeviceDecision::Recorded(_) | DeviceDecision::AlreadyDecided
        )),
        "{results:?}"
    );
}

fn assert_single_redemption(results: &[DeviceRedemption]) {
    let redeemed = results
        .iter()
        .filter(|r| matches!(r, DeviceRedemption::Redeemed(_)))
        .count();
    assert_eq!(
        redeemed, 1,
        "exactly one concurrent redemption wins: {results:?}"
    );
    assert!(
        results.iter().all(|r| matches!(
            r,
            DeviceRedemption::Redeemed(_) | DeviceRedemption::AlreadyRedeemed
        )),
        "{results:?}"
    );
}

/// Cross-node checks: approve on `a`, poll and redeem on `b`, races split
/// across both nodes.
pub async fn device_codes_shared<S: DeviceCodeStore>(a: Arc<S>, b: Arc<S>) {
    let r = inserted(&*a).await;
    assert!(
        b.find_pending(r.user_code_hash, T0 + 1)
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        a.approve(r.user_code_hash, approval(T0 + 1), T0 + 1)
            .await
            .unwrap(),
        DeviceDecision::Recorded(_)
    ));
    assert!(matches!(
        b.poll(r.device_code_hash, T0 + 2).await.unwrap(),
        DevicePoll::Approved(_)
    ));
    for _ in 0..RACE_ROUNDS {
        let r = inserted(&*a).await;
        let user = r.user_code_hash;
        let results = race(RACE_WIDTH, |i| {
            let s = alternate(i, &a, &b);
            async move { s.approve(user, approval(T0 + 1), T0 + 1).await.unwrap() }
        })
        .await;
        assert_single_decision(&results);
        let code = r.device_code_hash;
        let results = race(RACE_WIDTH, |i| {
            let s = alternate(i, &a, &b);
            async move { s.redeem(code, T0 + 2).await.unwrap() }
        })
        .await;
        assert_single_redemption(&results);
    }
}
