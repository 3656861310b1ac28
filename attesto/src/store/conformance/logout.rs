//! Conformance checks for [`LogoutSessionStore`].

use std::collections::BTreeSet;
use std::sync::Arc;

use super::dpop::assert_sweeps_3_in_batches_of_2;
use super::{RACE_ROUNDS, RACE_WIDTH, SWEEP_T, T0, alternate, race, unique};
use crate::clock::UnixTime;
use crate::store::{LogoutSession, LogoutSessionStore, StoreError};

fn target(sid: &str, client_id: &str, subject: &str, expires_at: UnixTime) -> LogoutSession {
    LogoutSession {
        sid: sid.to_owned(),
        client_id: client_id.to_owned(),
        subject: subject.to_owned(),
        backchannel_logout_uri: format!("https://{client_id}.example/bcl"),
        session_required: true,
        recorded_at: expires_at - 3600,
        expires_at,
    }
}

fn clients(rows: &[LogoutSession]) -> BTreeSet<String> {
    rows.iter().map(|r| r.client_id.clone()).collect()
}

/// The whole [`LogoutSessionStore`] contract on one store (seed-catalog-2
/// must-test 160, 168; seed-catalog-3b must-test 33, 36).
pub async fn logout_sessions<S: LogoutSessionStore>(store: Arc<S>) {
    // must-test 168: upsert on (sid, client_id).
    let (s1, s2, s3) = (unique("sid"), unique("sid"), unique("sid"));
    let (u1, u2) = (unique("user"), unique("user"));
    let (rp_a, rp_b) = (unique("rpa"), unique("rpb"));
    store
        .record(target(&s1, &rp_a, &u1, T0 + 3600))
        .await
        .unwrap();
    let mut refreshed = target(&s1, &rp_a, &u1, T0 + 7200);
    refreshed.backchannel_logout_uri = "https://rpa.example/new-bcl".to_owned();
    refreshed.session_required = false;
    store.record(refreshed.clone()).await.unwrap();
    store
        .record(target(&s1, &rp_b, &u1, T0 + 3600))
        .await
        .unwrap();
    store
        .record(target(&s2, &rp_a, &u1, T0 + 3600))
        .await
        .unwrap();
    store
        .record(target(&s3, &rp_a, &u2, T0 + 3600))
        .await
        .unwrap();
    let expired_sid = unique("sid");
    store
        .record(target(&expired_sid, &rp_a, &u1, T0 + 10))
        .await
        .unwrap();

    let taken = store.take_session(&s1, T0 + 3000).await.unwrap();
    assert_eq!(taken.len(), 2, "one row per (sid, client): {taken:?}");
    assert_eq!(
        clients(&taken),
        [rp_a.clone(), rp_b.clone()].into_iter().collect()
    );
    assert!(
        taken.contains(&refreshed),
        "the upsert replaced URI, flags and expiry"
    );
    assert!(
        store.take_session(&s1, T0 + 3000).await.unwrap().is_empty(),
        "a session is taken once"
    );
    // By subject: s2 (live) but not the expired session, not s3 (other subject).
    let taken = store.take_subject(&u1, T0 + 3000).await.unwrap();
    assert_eq!(
        taken.iter().map(|r| r.sid.clone()).collect::<Vec<_>>(),
        vec![s2.clone()],
        "{taken:?}"
    );
    assert!(
        store
            .take_session(&expired_sid, T0 + 3000)
            .await
            .unwrap()
            .is_empty(),
        "expired rows are never returned"
    );
    assert_eq!(store.take_session(&s3, T0 + 3000).await.unwrap().len(), 1);
    assert!(
        store
            .take_subject(&unique("nobody"), T0)
            .await
            .unwrap()
            .is_empty()
    );

    // Validation.
    let invalid: Vec<super::Mutation<LogoutSession>> = vec![
        ("empty sid", |r| r.sid.clear()),
        ("empty client", |r| r.client_id.clear()),
        ("empty subject", |r| r.subject.clear()),
        ("empty uri", |r| r.backchannel_logout_uri.clear()),
        ("expires at record time", |r| r.expires_at = r.recorded_at),
    ];
    for (what, mutate) in invalid {
        let sid = unique("sid");
        let mut r = target(&sid, &rp_a, &u1, T0 + 3600);
        mutate(&mut r);
        assert!(
            matches!(store.record(r).await.unwrap_err(), StoreError::Invalid(_)),
            "{what}"
        );
        assert!(
            store.take_session(&sid, T0).await.unwrap().is_empty(),
            "{what}: nothing stored"
        );
    }

    // must-test 160: concurrent logouts of one session deliver each target once.
    for _ in 0..RACE_ROUNDS {
        let sid = unique("sid-race");
        let rps: BTreeSet<String> = (0..10).map(|_| unique("rp")).collect();
        for rp in &rps {
            store
                .record(target(&sid, rp, &u1, T0 + 3600))
                .await
                .unwrap();
        }
        let results = race(RACE_WIDTH, |_| {
            let s = Arc::clone(&store);
            let sid = sid.clone();
            async move { s.take_session(&sid, T0 + 1).await.unwrap() }
        })
        .await;
        assert_partitioned(&results, &rps);
    }

    // seed-catalog-3b must-test 31 and 33 (this table)
    let sid = unique("sid-sweep");
    for _ in 0..3 {
        store
            .record(target(&sid, &unique("rp-old"), &u1, SWEEP_T - 1))
            .await
            .unwrap();
    }
    let boundary = target(&sid, &unique("rp-boundary"), &u1, SWEEP_T);
    let future = target(&sid, &unique("rp-future"), &u1, SWEEP_T + 1);
    store.record(boundary.clone()).await.unwrap();
    store.record(future.clone()).await.unwrap();
    assert_sweeps_3_in_batches_of_2(|b| store.sweep_expired(SWEEP_T, b)).await;
    let left = store.take_session(&sid, SWEEP_T - 50).await.unwrap();
    assert_eq!(
        clients(&left),
        [boundary.client_id, future.client_id].into_iter().collect(),
        "only expired rows are swept"
    );
}

fn assert_partitioned(results: &[Vec<LogoutSession>], expected: &BTreeSet<String>) {
    let all: Vec<String> = results
        .iter()
        .flatten()
        .map(|r| r.client_id.clone())
        .collect();
    let distinct: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(
        all.len(),
        distinct.len(),
        "a target was returned to two concurrent logouts: {all:?}"
    );
    assert_eq!(
        &distinct, expected,
        "every target is delivered exactly once"
    );
}

/// Cross-node checks: targets recorded on `a` are taken on `b`, and a race
/// across both nodes partitions them.
pub async fn logout_sessions_shared<S: LogoutSessionStore>(a: Arc<S>, b: Arc<S>) {
    let user = unique("user");
    for _ in 0..RACE_ROUNDS {
        let sid = unique("sid-shared");
        let rps: BTreeSet<String> = (0..10).map(|_| unique("rp")).collect();
        for rp in &rps {
            a.record(target(&sid, rp, &user, T0 + 3600)).await.unwrap();
        }
        let results = race(RACE_WIDTH, |i| {
            let s = alternate(i, &a, &b);
            let sid = sid.clone();
            async move { s.take_session(&sid, T0 + 1).await.unwrap() }
        })
        .await;
        assert_partitioned(&results, &rps);
    }
}
