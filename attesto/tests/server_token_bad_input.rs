//! Hostile and malformed input at the token, revocation and introspection
//! endpoints: always a 4xx OAuth JSON error, never a 5xx, a panic or a hang.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_token_support;

use std::sync::atomic::Ordering;

use proptest::prelude::*;
use server_token_support::*;

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const ENDPOINTS: [&str; 3] = ["/oauth/token", "/oauth/revoke", "/oauth/introspect"];

fn assert_oauth_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.error(), code, "{r:?}");
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    r.assert_no_store();
}

#[tokio::test]
async fn empty_body_is_invalid_request() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    for path in ENDPOINTS {
        let r = s.post_raw(path, "", &[FORM]).await;
        assert_oauth_error(&r, 400, "invalid_request");
    }
}

#[tokio::test]
async fn wrong_content_type_is_refused_before_client_authentication() {
    // seed-catalog-2 §35.E Must-test 68a
    let s = start(TestHost::with_clients(standard_clients())).await;
    for ct in [
        "text/plain",
        "application/json",
        "multipart/form-data; boundary=x",
    ] {
        for path in ENDPOINTS {
            let r = s
                .post_raw(
                    path,
                    "grant_type=client_credentials",
                    &[("content-type", ct)],
                )
                .await;
            assert_oauth_error(&r, 400, "invalid_request");
            assert!(
                r.json()["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("application/x-www-form-urlencoded")
            );
        }
    }
    let none = s
        .post_raw("/oauth/token", "grant_type=client_credentials", &[])
        .await;
    assert_oauth_error(&none, 400, "invalid_request");
    assert_eq!(
        s.server.host().lookups.load(Ordering::SeqCst),
        0,
        "no client lookup"
    );
}

#[tokio::test]
async fn credentials_in_the_query_string_are_refused() {
    // seed-catalog-2 §35.E Must-test 68a
    let s = start(TestHost::with_clients(standard_clients())).await;
    let auth = basic("conf", SECRET);
    for q in [
        "client_secret=x",
        "grant_type=client_credentials",
        "scope=a",
    ] {
        let r = s
            .post_raw(
                &format!("/oauth/token?{q}"),
                "grant_type=client_credentials",
                &[FORM, ("authorization", &auth)],
            )
            .await;
        assert_oauth_error(&r, 400, "invalid_request");
    }
    let harmless = s
        .post_raw(
            "/oauth/token?trace=1",
            "grant_type=client_credentials",
            &[FORM, ("authorization", &auth)],
        )
        .await;
    assert_eq!(harmless.status, 200);
}

#[tokio::test]
async fn duplicated_parameters_are_invalid_request() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let auth = basic("conf", SECRET);
    for body in [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=a&scope=",
        "grant_type=client_credentials&client_id=conf&client_id=conf",
    ] {
        let r = s
            .post_raw("/oauth/token", body, &[FORM, ("authorization", &auth)])
            .await;
        assert_oauth_error(&r, 400, "invalid_request");
    }
    for path in ["/oauth/revoke", "/oauth/introspect"] {
        let r = s
            .post_raw(path, "token=a&token=b", &[FORM, ("authorization", &auth)])
            .await;
        assert_oauth_error(&r, 400, "invalid_request");
    }
}

#[tokio::test]
async fn oversized_body_is_413_with_an_oauth_error() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let big = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(70 * 1024)
    );
    for path in ENDPOINTS {
        let r = s.post_raw(path, big.clone(), &[FORM]).await;
        assert_oauth_error(&r, 413, "invalid_request");
    }
    // a chunked body without Content-Length is cut off the same way
    let raw = chunked_post(&s, "/oauth/token", 80, 1024).await;
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(raw.contains(r#""error":"invalid_request""#), "{raw}");
}

/// POST `chunks` chunks of `size` bytes with `Transfer-Encoding: chunked`
/// over a raw connection; returns the raw response.
async fn chunked_post(s: &TestServer, path: &str, chunks: usize, size: usize) -> String {
    let addr = s.base.trim_start_matches("http://").to_owned();
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        conn.write_all(head.as_bytes()).unwrap();
        let chunk = format!("{size:x}\r\n{}\r\n", "a".repeat(size));
        for _ in 0..chunks {
            if conn.write_all(chunk.as_bytes()).is_err() {
                break; // the server may stop reading once the limit is hit
            }
        }
        let _ = conn.write_all(b"0\r\n\r\n");
        let mut out = Vec::new();
        let _ = conn.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn invalid_utf8_and_control_characters_are_invalid_request() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    for body in [
        &b"grant_type=client_credentials&scope=%FF%FE"[..],
        b"grant_type=\xff",
        b"grant_type=client_credentials&state=a%0D%0Ab",
        b"grant_type=%zz",
    ] {
        for path in ENDPOINTS {
            let r = s.post_raw(path, body.to_vec(), &[FORM]).await;
            assert_oauth_error(&r, 400, "invalid_request");
        }
    }
}

#[tokio::test]
async fn unknown_client_and_unknown_grant_are_oauth_errors() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    let r = s
        .token(
            &[("grant_type", "client_credentials"), ("client_id", "ghost")],
            &[],
        )
        .await;
    assert_oauth_error(&r, 400, "invalid_client");
    let r = s
        .token(
            &[("grant_type", "urn:example:unknown")],
            &[("authorization", &basic("conf", SECRET))],
        )
        .await;
    assert_oauth_error(&r, 400, "unsupported_grant_type");
}

#[tokio::test]
async fn other_methods_get_405_with_an_oauth_error() {
    let s = start(TestHost::with_clients(standard_clients())).await;
    for path in ENDPOINTS {
        let r = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "POST");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
}

#[test]
fn arbitrary_bodies_never_yield_a_server_error() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(start(TestHost::with_clients(standard_clients())));
    let auth = basic("conf", SECRET);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    });
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..600),
        0usize..3,
        any::<bool>(),
    );
    runner
        .run(&strategy, |(body, endpoint, with_auth)| {
            let path = ENDPOINTS[endpoint];
            let mut headers = vec![FORM];
            if with_auth {
                headers.push(("authorization", auth.as_str()));
            }
            let r = rt.block_on(s.post_raw(path, body, &headers));
            prop_assert!(r.status < 500, "{r:?}");
            if r.status != 200 {
                prop_assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_ok());
            }
            Ok(())
        })
        .unwrap();
    let params = proptest::collection::vec(
        (
            prop_oneof![
                Just("grant_type"),
                Just("code"),
                Just("refresh_token"),
                Just("scope"),
                Just("resource"),
                Just("code_verifier"),
                Just("token"),
                Just("client_id"),
            ],
            "[ -~]{0,40}",
        ),
        0..6,
    );
    runner
        .run(&(params, 0usize..3), |(pairs, endpoint)| {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r =
                rt.block_on(s.post_form(ENDPOINTS[endpoint], &pairs, &[("authorization", &auth)]));
            prop_assert!(r.status < 500, "{r:?}");
            Ok(())
        })
        .unwrap();
}
