//! Authenticating presented credentials against registered clients.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dpop_support;

use attesto::client_auth::{
    AssertionVerifier, AuthenticatedClient, CLIENT_ASSERTION_TYPE_JWT_BEARER, ClientAuthError,
    ClientAuthMethod, ClientAuthPolicy, ClientAuthReason, ClientAuthenticator,
    PresentedCredentials, RegisteredClient, SecretHasher, StoredSecret, generate_client_secret,
    parse_credentials,
};
use attesto::dpop::SingleNodeReplayGuard;
use attesto::jose::{Algorithm, JwkSet, SigningKey};
use attesto::secret::{OsRandom, Secret};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dpop_support::*;
use serde_json::json;

const ISSUER: &str = "https://as.example.com";
const SECRET_METHODS: &[ClientAuthMethod] = &[
    ClientAuthMethod::ClientSecretBasic,
    ClientAuthMethod::ClientSecretPost,
];
const JWT_METHODS: &[ClientAuthMethod] = &[ClientAuthMethod::PrivateKeyJwt];
const PUBLIC_METHODS: &[ClientAuthMethod] = &[ClientAuthMethod::None];

fn authenticator() -> ClientAuthenticator {
    ClientAuthenticator::new(SecretHasher::new(&[11u8; 32]).unwrap())
        .with_assertions(AssertionVerifier::builder(ISSUER).build().unwrap())
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn run(
    auth: &ClientAuthenticator,
    presented: &PresentedCredentials,
    client: Option<&RegisteredClient<'_>>,
    policy: &ClientAuthPolicy,
    guard: &SingleNodeReplayGuard,
) -> Result<AuthenticatedClient, ClientAuthError> {
    block_on(auth.authenticate(presented, client, policy, guard, NOW))
}

/// The client-visible part of an error: what would go on the wire.
fn wire(e: &ClientAuthError) -> (&'static str, &'static str, u16, bool) {
    (
        e.error_code(),
        e.error_description(),
        e.status_code(),
        e.basic_challenge_due(),
    )
}

fn assertion(k: &SigningKey, sub: &str, aud: &str) -> String {
    let claims =
        json!({"iss": sub, "sub": sub, "aud": aud, "iat": NOW, "exp": NOW + 60, "jti": jti()});
    sign_json(
        k,
        &json!({"alg": k.algorithm().as_str(), "kid": k.kid()}),
        &claims,
    )
}

fn jwks(k: &SigningKey) -> JwkSet {
    JwkSet::from_value(&json!({"keys": [public_jwk_value(k)]})).unwrap()
}

#[test]
fn correct_basic_and_post_secrets_authenticate() {
    let auth = authenticator();
    let secret = generate_client_secret(&OsRandom).unwrap();
    let stored = StoredSecret::Hashed(auth.hasher().hash(secret.expose()).unwrap());
    let client = RegisteredClient::new("app", SECRET_METHODS).with_secret(&stored);
    let guard = SingleNodeReplayGuard::new();
    let h = basic("app", secret.expose());
    let via_basic = parse_credentials(&[&h], &[]).unwrap();
    let ok = run(
        &auth,
        &via_basic,
        Some(&client),
        &ClientAuthPolicy::token_endpoint(),
        &guard,
    )
    .unwrap();
    assert_eq!(
        (ok.client_id.as_str(), ok.method),
        ("app", ClientAuthMethod::ClientSecretBasic)
    );
    let via_post = parse_credentials(
        &[],
        &[("client_id", "app"), ("client_secret", secret.expose())],
    )
    .unwrap();
    let ok = run(
        &auth,
        &via_post,
        Some(&client),
        &ClientAuthPolicy::token_endpoint(),
        &guard,
    )
    .unwrap();
    assert_eq!(ok.method, ClientAuthMethod::ClientSecretPost);
}

#[test]
fn plain_stored_secret_authenticates() {
    let auth = authenticator();
    let stored = StoredSecret::Plain(Secret::new("plain-pw"));
    let client = RegisteredClient::new("app", SECRET_METHODS).with_secret(&stored);
    let guard = SingleNodeReplayGuard::new();
    let p = parse_credentials(&[], &[("client_id", "app"), ("client_secret", "plain-pw")]).unwrap();
    run(
        &auth,
        &p,
        Some(&client),
        &ClientAuthPolicy::token_endpoint(),
        &guard,
    )
    .unwrap();
    let p = parse_credentials(&[], &[("client_id", "app"), ("client_secret", "plain-pW")]).unwrap();
    let e = run(
        &auth,
        &p,
        Some(&client),
        &ClientAuthPolicy::token_endpoint(),
        &guard,
    )
    .unwrap_err();
    assert!(matches!(e.reason(), ClientAuthReason::WrongSecret));
}

// seed-catalog-2 Must-tests 4, 5 and 6: an unknown client, a wrong secret and
// a revoked client give byte-identical errors ("client authentication failed").
#[test]
fn unknown_client_wrong_secret_and_revoked_client_look_identical() {
    let auth = authenticator();
    let stored = StoredSecret::Hashed(auth.hasher().hash("right").unwrap());
    let client = RegisteredClient::new("app", SECRET_METHODS).with_secret(&stored);
    let guard = SingleNodeReplayGuard::new();
    let policy = ClientAuthPolicy::token_endpoint();

    let h_unknown = basic("nobody", "right");
    let h_wrong = basic("app", "wrong");
    let unknown = run(
        &auth,
        &parse_credentials(&[&h_unknown], &[]).unwrap(),
        None,
        &policy,
        &guard,
    )
    .unwrap_err();
    let wrong = run(
        &auth,
        &parse_credentials(&[&h_wrong], &[]).unwrap(),
        Some(&client),
        &policy,
        &guard,
    )
    .unwrap_err();
    // revoked: the host's lookup reports "not usable", which is `None` here
    let h_revoked = basic("app", "right");
    let revoked = run(
        &auth,
        &parse_credentials(&[&h_revoked], &[]).unwrap(),
        None,
        &policy,
        &guard,
    )
    .unwrap_err();

    assert!(matches!(unknown.reason(), ClientAuthReason::UnknownClient));
    assert!(matches!(wrong.reason(), ClientAuthReason::WrongSecret));
    assert_eq!(
        wire(&unknown),
        ("invalid_client", "client authentication failed", 401, true)
    );
    assert_eq!(wire(&unknown), wire(&wrong));
    assert_eq!(wire(&unknown), wire(&revoked));
    assert_eq!(unknown.authorization_scheme(), wrong.authorization_scheme());
}

#[test]
fn client_registered_without_the_method_or_secret_fails_generically() {
    let auth = authenticator();
    let stored = StoredSecret::Hashed(auth.hasher().hash("pw").unwrap());
    let guard = SingleNodeReplayGuard::new();
    let policy = ClientAuthPolicy::token_endpoint();
    let basic_only = [ClientAuthMethod::ClientSecretBasic];
    let client = RegisteredClient::new("app", &basic_only).with_secret(&stored);
    let post = parse_credentials(&[], &[("client_id", "app"), ("client_secret", "pw")]).unwrap();
    let e = run(&auth, &post, Some(&client), &policy, &guard).unwrap_err();
    assert!(matches!(
        e.reason(),
        ClientAuthReason::MethodNotRegistered(ClientAuthMethod::ClientSecretPost)
    ));
    assert_eq!(
        wire(&e),
        ("invalid_client", "client authentication failed", 400, false)
    );
    let no_secret = RegisteredClient::new("app", SECRET_METHODS);
    let e = run(&auth, &post, Some(&no_secret), &policy, &guard).unwrap_err();
    assert!(matches!(e.reason(), ClientAuthReason::NoSecretRegistered));
    assert_eq!(e.error_description(), "client authentication failed");
}

#[test]
fn lookup_result_for_another_client_id_is_not_trusted() {
    let auth = authenticator();
    let stored = StoredSecret::Hashed(auth.hasher().hash("pw").unwrap());
    let other = RegisteredClient::new("other", SECRET_METHODS).with_secret(&stored);
    let p = parse_credentials(&[], &[("client_id", "app"), ("client_secret", "pw")]).unwrap();
    let e = run(
        &auth,
        &p,
        Some(&other),
        &ClientAuthPolicy::token_endpoint(),
        &SingleNodeReplayGuard::new(),
    )
    .unwrap_err();
    assert!(matches!(e.reason(), ClientAuthReason::UnknownClient));
}

// seed-catalog-2 Must-test 7: token endpoint, client_id only, public allowed → method none.
#[test]
fn public_client_at_the_token_endpoint_authenticates_with_method_none() {
    let auth = authenticator();
    let client = RegisteredClient::new("spa", PUBLIC_METHODS);
    let p = parse_credentials(&[], &[("client_id", "spa")]).unwrap();
    let ok = run(
        &auth,
        &p,
        Some(&client),
        &ClientAuthPolicy::token_endpoint(),
        &SingleNodeReplayGuard::new(),
    )
    .unwrap();
    assert_eq!(
        (ok.client_id.as_str(), ok.method),
        ("spa", ClientAuthMethod::None)
    );
}

// seed-catalog-2 Must-test 8: PAR (public not allowed), client_id only →
// invalid_client "client authentication required".
#[test]
fn public_client_at_par_is_told_authentication_is_required() {
    let auth = authenticator();
    let client = RegisteredClient::new("spa", PUBLIC_METHODS);
    let p = parse_credentials(&[], &[("client_id", "spa")]).unwrap();
    let e = run(
        &auth,
        &p,
        Some(&client),
        &ClientAuthPolicy::confidential_only(),
        &SingleNodeReplayGuard::new(),
    )
    .unwrap_err();
    assert_eq!(
        wire(&e),
        (
            "invalid_client",
            "client authentication required",
            400,
            false
        )
    );
}

#[test]
fn confidential_client_presenting_only_its_id_is_rejected() {
    let auth = authenticator();
    let client = RegisteredClient::new("app", SECRET_METHODS);
    let p = parse_credentials(&[], &[("client_id", "app")]).unwrap();
    let e = run(
        &auth,
        &p,
        Some(&client),
        &ClientAuthPolicy::token_endpoint(),
        &SingleNodeReplayGuard::new(),
    )
    .unwrap_err();
    assert_eq!(
        wire(&e),
        ("invalid_client", "client authentication failed", 400, false)
    );
    // an mTLS-only client is not authenticated by this module (fail closed)
    let tls = [ClientAuthMethod::TlsClientAuth];
    let client = RegisteredClient::new("app", &tls);
    assert!(
        run(
            &auth,
            &p,
            Some(&client),
            &ClientAuthPolicy::token_endpoint(),
            &SingleNodeReplayGuard::new()
        )
        .is_err()
    );
}

// seed-catalog-2 Must-test 9: Result.client_id = the Basic user id, the body
// client_id, or the assertion sub; never empty.
#[test]
fn authenticated_client_id_comes_from_the_credentials() {
    let auth = authenticator();
    let stored = StoredSecret::Hashed(auth.hasher().hash("pw").unwrap());
    let k = key(Algorithm::ES256);
    let set = jwks(&k);
    let guard = SingleNodeReplayGuard::new();
    let policy = ClientAuthPolicy::token_endpoint();

    let secret_client = RegisteredClient::new("basic-id", SECRET_METHODS).with_secret(&stored);
    let h = basic("basic-id", "pw");
    let p = parse_credentials(&[&h], &[]).unwrap();
    assert_eq!(
        run(&auth, &p, Some(&secret_client), &policy, &guard)
            .unwrap()
            .client_id,
        "basic-id"
    );

    let post_client = RegisteredClient::new("post-id", SECRET_METHODS).with_secret(&stored);
    let p = parse_credentials(&[], &[("client_id", "post-id"), ("client_secret", "pw")]).unwrap();
    assert_eq!(
        run(&auth, &p, Some(&post_client), &policy, &guard)
            .unwrap()
            .client_id,
        "post-id"
    );

    let jwt_client = RegisteredClient::new("jwt-sub", JWT_METHODS).with_jwks(&set);
    let a = assertion(&k, "jwt-sub", ISSUER);
    let p = parse_credentials(
        &[],
        &[
            ("client_assertion", &a),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE_JWT_BEARER),
        ],
    )
    .unwrap();
    let ok = run(&auth, &p, Some(&jwt_client), &policy, &guard).unwrap();
    assert_eq!(ok.client_id, "jwt-sub");
    assert_eq!(ok.method, ClientAuthMethod::PrivateKeyJwt);
    assert!(ok.assertion.is_some());
}

// seed-catalog-2 Must-tests 10 and 11 through the authenticator: aud = token
// endpoint → invalid_client; a replayed assertion → invalid_client.
#[test]
fn private_key_jwt_with_endpoint_audience_or_replayed_jti_is_invalid_client() {
    let auth = authenticator();
    let k = key(Algorithm::PS256);
    let set = jwks(&k);
    let client = RegisteredClient::new("svc", JWT_METHODS).with_jwks(&set);
    let guard = SingleNodeReplayGuard::new();
    let policy = ClientAuthPolicy::token_endpoint();
    let present = |a: &str| {
        parse_credentials(
            &[],
            &[
                ("client_assertion", a),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE_JWT_BEARER),
            ],
        )
        .unwrap()
    };

    let wrong_aud = assertion(&k, "svc", "https://as.example.com/oauth/token");
    let e = run(&auth, &present(&wrong_aud), Some(&client), &policy, &guard).unwrap_err();
    assert_eq!(
        wire(&e),
        ("invalid_client", "client authentication failed", 400, false)
    );

    let good = assertion(&k, "svc", ISSUER);
    run(&auth, &present(&good), Some(&client), &policy, &guard).unwrap();
    let e = run(&auth, &present(&good), Some(&client), &policy, &guard).unwrap_err();
    assert!(matches!(
        e.reason(),
        ClientAuthReason::Assertion(attesto::client_auth::AssertionError::Replayed)
    ));
    assert_eq!(
        wire(&e),
        ("invalid_client", "client authentication failed", 400, false)
    );
}

#[test]
fn private_key_jwt_without_jwks_or_verifier_is_refused() {
    let k = key(Algorithm::ES256);
    let a = assertion(&k, "svc", ISSUER);
    let p = parse_credentials(
        &[],
        &[
            ("client_assertion", &a),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE_JWT_BEARER),
        ],
    )
    .unwrap();
    let guard = SingleNodeReplayGuard::new();
    let policy = ClientAuthPolicy::token_endpoint();
    let client = RegisteredClient::new("svc", JWT_METHODS);
    let e = run(&authenticator(), &p, Some(&client), &policy, &guard).unwrap_err();
    assert!(matches!(e.reason(), ClientAuthReason::NoJwks));
    let secrets_only = ClientAuthenticator::new(SecretHasher::new(&[1u8; 32]).unwrap());
    let set = jwks(&k);
    let client = RegisteredClient::new("svc", JWT_METHODS).with_jwks(&set);
    let e = run(&secrets_only, &p, Some(&client), &policy, &guard).unwrap_err();
    assert!(matches!(
        e.reason(),
        ClientAuthReason::MethodNotAllowed(ClientAuthMethod::PrivateKeyJwt)
    ));
    assert!(
        !secrets_only
            .supported_methods(&policy)
            .contains(&ClientAuthMethod::PrivateKeyJwt)
    );
    // unknown client on the assertion path
    let e = run(&authenticator(), &p, None, &policy, &guard).unwrap_err();
    assert!(matches!(e.reason(), ClientAuthReason::UnknownClient));
}

// seed-catalog-1 Must-test 128: token_endpoint_auth_methods_supported =
// [private_key_jwt] → client_secret_basic/post are rejected.
#[test]
fn methods_outside_the_endpoint_policy_are_rejected() {
    let auth = authenticator();
    let stored = StoredSecret::Hashed(auth.hasher().hash("pw").unwrap());
    let client = RegisteredClient::new("app", SECRET_METHODS).with_secret(&stored);
    let policy =
        ClientAuthPolicy::token_endpoint().with_allowed_methods(&[ClientAuthMethod::PrivateKeyJwt]);
    let guard = SingleNodeReplayGuard::new();
    let h = basic("app", "pw");
    for p in [
        parse_credentials(&[&h], &[]).unwrap(),
        parse_credentials(&[], &[("client_id", "app"), ("client_secret", "pw")]).unwrap(),
        parse_credentials(&[], &[("client_id", "app")]).unwrap(),
    ] {
        let e = run(&auth, &p, Some(&client), &policy, &guard).unwrap_err();
        assert_eq!(e.error_code(), "invalid_client", "{p:?}");
    }
    assert_eq!(
        auth.supported_methods(&policy),
        vec![ClientAuthMethod::PrivateKeyJwt]
    );
    assert_eq!(
        auth.supported_methods(&ClientAuthPolicy::token_endpoint()),
        ClientAuthMethod::VERIFIED.to_vec()
    );
    assert!(
        !auth
            .supported_methods(&ClientAuthPolicy::confidential_only())
            .contains(&ClientAuthMethod::None)
    );
}

// seed-catalog-2 Must-test 17: a failed Basic-header attempt → 401 + Basic
// challenge; a failed body attempt or no credentials → 400 without challenge.
#[test]
fn challenge_is_due_only_for_authorization_header_attempts() {
    let auth = authenticator();
    let stored = StoredSecret::Hashed(auth.hasher().hash("pw").unwrap());
    let client = RegisteredClient::new("app", SECRET_METHODS).with_secret(&stored);
    let guard = SingleNodeReplayGuard::new();
    let policy = ClientAuthPolicy::token_endpoint();
    let h = basic("app", "bad");
    let e = run(
        &auth,
        &parse_credentials(&[&h], &[]).unwrap(),
        Some(&client),
        &policy,
        &guard,
    )
    .unwrap_err();
    assert_eq!(
        (
            e.status_code(),
            e.basic_challenge_due(),
            e.authorization_scheme()
        ),
        (401, true, Some("Basic"))
    );
    let body = parse_credentials(&[], &[("client_id", "app"), ("client_secret", "bad")]).unwrap();
    let e = run(&auth, &body, Some(&client), &policy, &guard).unwrap_err();
    assert_eq!(
        (
            e.status_code(),
            e.basic_challenge_due(),
            e.authorization_scheme()
        ),
        (400, false, None)
    );
    let e = parse_credentials(&[], &[]).unwrap_err();
    assert_eq!((e.status_code(), e.basic_challenge_due()), (400, false));
}

#[test]
fn generated_client_secrets_are_distinct_high_entropy_vschars() {
    let a = generate_client_secret(&OsRandom).unwrap();
    let b = generate_client_secret(&OsRandom).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.expose().len(), 43);
    assert!(
        a.expose()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );
}
