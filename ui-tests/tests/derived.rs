//! Runtime behaviour of `#[derive(OAuthClient)]` and `#[derive(Principal)]`:
//! each supported field type yields the right trait values, and bad stored
//! data fails closed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    unreachable_pub,
    dead_code
)]

use std::borrow::Cow;

use attesto::host::{
    ClientKeys, OAuthClient as _, Principal as _, TokenEndpointAuthMethod, released_claims,
};
use serde_json::{Value, json};
use sqlx::types::Json;

fn strs<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    it.collect()
}

fn cows(v: Option<Vec<Cow<'_, str>>>) -> Option<Vec<String>> {
    v.map(|v| v.into_iter().map(Cow::into_owned).collect())
}

/// The model of the brief: a sqlx row with a `Uuid` id, separated strings,
/// JSON columns and unmapped fields.
#[derive(sqlx::FromRow, attesto::OAuthClient)]
struct SqlxClient {
    #[attesto(client_id)]
    id: uuid::Uuid,
    #[attesto(secret_hash)]
    secret_hash: Option<String>,
    #[attesto(redirect_uris, separator = " ")]
    redirect_uris: String,
    #[attesto(grant_types)]
    grants: Json<Vec<String>>,
    #[attesto(auth_method)]
    method: String,
    #[attesto(jwks)]
    jwks: Option<Json<Value>>,
    #[attesto(public)]
    is_public: bool,
    #[attesto(scopes, separator = " ")]
    scope: Option<String>,
    name: String,
}

fn sqlx_client() -> SqlxClient {
    SqlxClient {
        id: uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        secret_hash: Some("$attesto$hash".into()),
        redirect_uris: "https://app.example/cb  https://app.example/cb2 ".into(),
        grants: Json(vec!["authorization_code".into(), "refresh_token".into()]),
        method: "client_secret_basic".into(),
        jwks: None,
        is_public: false,
        scope: Some("openid profile".into()),
        name: "App".into(),
    }
}

#[test]
fn sqlx_model_maps_uuid_id_separated_uris_json_grants_and_method() {
    let c = sqlx_client();
    assert_eq!(c.client_id(), "01234567-89ab-cdef-0123-456789abcdef");
    assert!(matches!(c.client_id(), Cow::Owned(_)));
    assert_eq!(
        strs(c.redirect_uris()),
        ["https://app.example/cb", "https://app.example/cb2"]
    );
    assert!(c.has_redirect_uri("https://app.example/cb2"));
    assert!(c.allows_grant("refresh_token"));
    assert!(!c.allows_grant("client_credentials"));
    assert_eq!(
        c.token_endpoint_auth_method(),
        TokenEndpointAuthMethod::ClientSecretBasic
    );
    assert_eq!(c.client_secret_hash(), Some("$attesto$hash"));
    assert_eq!(c.keys(), ClientKeys::None);
    assert!(!c.is_public());
    assert_eq!(
        cows(c.allowed_scopes()),
        Some(vec!["openid".to_owned(), "profile".to_owned()])
    );
    // unmapped methods keep the trait's fail-closed defaults
    assert_eq!(c.response_types(), vec![Cow::Borrowed("code")]);
    assert!(!c.requires_dpop());
    assert_eq!(strs(c.post_logout_redirect_uris()), Vec::<&str>::new());
}

#[test]
fn null_scope_column_defers_to_the_catalog_and_empty_scope_allows_none() {
    let mut c = sqlx_client();
    c.scope = None;
    assert_eq!(cows(c.allowed_scopes()), None);
    c.scope = Some(String::new());
    assert_eq!(cows(c.allowed_scopes()), Some(vec![]));
}

#[test]
fn public_client_exposes_no_secret_even_when_one_is_stored() {
    let mut c = sqlx_client();
    c.is_public = true;
    c.method = "none".into();
    assert!(c.is_public());
    assert_eq!(c.client_secret_hash(), None);
}

#[test]
fn malformed_auth_method_makes_the_client_unable_to_authenticate() {
    let mut c = sqlx_client();
    c.method = "client_secret_basik".into();
    c.jwks = Some(Json(json!({"keys": []})));
    assert_eq!(
        c.token_endpoint_auth_method(),
        TokenEndpointAuthMethod::PrivateKeyJwt
    );
    assert_eq!(c.client_secret_hash(), None);
    assert_eq!(c.keys(), ClientKeys::None);
    assert!(!c.is_public());
    // even a row flagged public is not taken for one with an unreadable method
    c.is_public = true;
    assert!(!c.is_public());
}

#[test]
fn jwks_that_is_not_a_json_object_yields_no_keys() {
    let mut c = sqlx_client();
    c.method = "private_key_jwt".into();
    c.jwks = Some(Json(json!({"keys": []})));
    assert!(matches!(c.keys(), ClientKeys::Inline(_)));
    for bad in [json!([]), json!("keys"), json!(1)] {
        c.jwks = Some(Json(bad));
        assert_eq!(c.keys(), ClientKeys::None);
    }
    c.jwks = Some(Json(Value::Null));
    assert_eq!(c.keys(), ClientKeys::None);
}

/// Plain types: `&'static str`, `Box<str>`, `Vec<String>`, comma-separated
/// text, `serde_json::Value` lists, integer ids, `Option<bool>` flags.
#[derive(attesto::OAuthClient)]
struct PlainClient {
    #[attesto(client_id)]
    id: i64,
    #[attesto(redirect_uris)]
    redirects: Vec<String>,
    #[attesto(post_logout_redirect_uris)]
    logout: Option<Vec<&'static str>>,
    #[attesto(grant_types, separator = ",")]
    grants: &'static str,
    #[attesto(response_types)]
    response_types: Value,
    #[attesto(token_endpoint_auth_method)]
    method: Box<str>,
    #[attesto(jwks_uri)]
    jwks_uri: Option<Box<str>>,
    #[attesto(requires_dpop)]
    dpop: Option<bool>,
    #[attesto(requires_mtls)]
    mtls: bool,
    #[attesto(tls_client_auth_subject_dn)]
    dn: Option<String>,
    #[attesto(backchannel_logout_uri)]
    bc_uri: String,
    #[attesto(backchannel_logout_session_required)]
    bc_sid: bool,
    #[attesto(scopes)]
    scopes: Option<Value>,
}

fn plain() -> PlainClient {
    PlainClient {
        id: 42,
        redirects: vec!["https://a.example/cb".into(), String::new()],
        logout: Some(vec!["https://a.example/bye"]),
        grants: "authorization_code, client_credentials,,",
        response_types: json!(["code"]),
        method: "tls_client_auth".into(),
        jwks_uri: Some("https://a.example/jwks".into()),
        dpop: None,
        mtls: true,
        dn: Some("CN=app".into()),
        bc_uri: String::new(),
        bc_sid: true,
        scopes: Some(json!(["openid", "email"])),
    }
}

#[test]
fn plain_types_map_to_the_trait_values() {
    let c = plain();
    assert_eq!(c.client_id(), "42");
    assert_eq!(strs(c.redirect_uris()), ["https://a.example/cb"]);
    assert_eq!(
        strs(c.post_logout_redirect_uris()),
        ["https://a.example/bye"]
    );
    assert!(c.allows_grant("authorization_code"));
    assert!(c.allows_grant("client_credentials"));
    assert!(!c.allows_grant(""));
    assert_eq!(c.response_types(), vec![Cow::Borrowed("code")]);
    assert_eq!(
        c.token_endpoint_auth_method(),
        TokenEndpointAuthMethod::TlsClientAuth
    );
    assert_eq!(
        c.keys(),
        ClientKeys::Uri(Cow::Borrowed("https://a.example/jwks"))
    );
    assert!(!c.requires_dpop());
    assert!(c.requires_mtls());
    assert_eq!(c.tls_client_auth_subject_dn(), Some("CN=app"));
    assert_eq!(c.backchannel_logout_uri(), None, "empty text is absent");
    assert!(c.backchannel_logout_session_required());
    assert_eq!(
        cows(c.allowed_scopes()),
        Some(vec!["openid".to_owned(), "email".to_owned()])
    );
    // `public` unmapped: public exactly when the method is `none`
    assert!(!c.is_public());
}

#[test]
fn malformed_json_lists_fail_closed() {
    let mut c = plain();
    c.response_types = json!({"code": true});
    assert_eq!(c.response_types(), Vec::<Cow<'_, str>>::new());
    c.response_types = json!(["code", 1]);
    assert_eq!(c.response_types(), Vec::<Cow<'_, str>>::new());
    c.scopes = Some(json!("openid"));
    assert_eq!(cows(c.allowed_scopes()), Some(vec![]));
    c.scopes = Some(Value::Null);
    assert_eq!(cows(c.allowed_scopes()), None);
}

#[test]
fn absent_grant_list_allows_no_grant() {
    #[derive(attesto::OAuthClient)]
    struct C {
        #[attesto(client_id)]
        id: String,
        #[attesto(grant_types)]
        grants: Option<Value>,
    }
    for grants in [
        None,
        Some(Value::Null),
        Some(json!({"a": 1})),
        Some(json!([1])),
    ] {
        let c = C {
            id: "c".into(),
            grants,
        };
        assert_eq!(c.grant_types(), Some(vec![]));
        assert!(!c.allows_grant("authorization_code"));
    }
}

#[test]
fn jwks_and_jwks_uri_together_yield_no_keys() {
    #[derive(attesto::OAuthClient)]
    struct C {
        #[attesto(client_id)]
        id: String,
        #[attesto(auth_method)]
        method: &'static str,
        #[attesto(jwks)]
        jwks: String,
        #[attesto(jwks_uri)]
        uri: Option<String>,
    }
    let mut c = C {
        id: "c".into(),
        method: "private_key_jwt",
        jwks: r#"{"keys":[]}"#.into(),
        uri: None,
    };
    assert_eq!(
        c.keys(),
        ClientKeys::InlineJson(Cow::Borrowed(r#"{"keys":[]}"#))
    );
    c.uri = Some("https://c.example/jwks".into());
    assert_eq!(c.keys(), ClientKeys::None);
    c.uri = None;
    c.jwks = "[]".into();
    assert_eq!(c.keys(), ClientKeys::None);
    c.jwks = "{not json".into();
    assert_eq!(c.keys(), ClientKeys::None);
}

#[derive(Clone, Copy)]
enum Method {
    Basic,
    Public,
}

impl From<Method> for TokenEndpointAuthMethod {
    fn from(m: Method) -> Self {
        match m {
            Method::Basic => TokenEndpointAuthMethod::ClientSecretBasic,
            Method::Public => TokenEndpointAuthMethod::None,
        }
    }
}

#[derive(Clone)]
struct Stored(String);

impl TryFrom<Stored> for TokenEndpointAuthMethod {
    type Error = ();
    fn try_from(s: Stored) -> Result<Self, ()> {
        match s.0.as_str() {
            "basic" => Ok(TokenEndpointAuthMethod::ClientSecretBasic),
            "post" => Ok(TokenEndpointAuthMethod::ClientSecretPost),
            _ => Err(()),
        }
    }
}

mod conv {
    use std::borrow::Cow;
    pub fn id(n: &[u8; 2]) -> Cow<'_, str> {
        Cow::Owned(format!("{}-{}", n[0], n[1]))
    }
    pub fn flag(n: &u8) -> bool {
        *n != 0
    }
    pub fn uris(s: &str) -> Vec<&str> {
        s.split('|').collect()
    }
}

#[derive(attesto::OAuthClient)]
struct Converted {
    #[attesto(client_id, with = conv::id)]
    id: [u8; 2],
    #[attesto(auth_method, into)]
    method: Method,
    #[attesto(requires_dpop, with = "conv::flag")]
    dpop: u8,
    #[attesto(redirect_uris, with = conv::uris)]
    uris: &'static str,
    #[attesto(secret_hash)]
    secret: &'static str,
}

#[derive(attesto::OAuthClient)]
struct Fallible {
    #[attesto(client_id)]
    id: Cow<'static, str>,
    #[attesto(auth_method, try_from)]
    method: Stored,
    #[attesto(secret_hash)]
    secret: &'static str,
}

#[test]
fn own_enums_convert_with_into_try_from_and_with() {
    let c = Converted {
        id: [1, 2],
        method: Method::Public,
        dpop: 1,
        uris: "https://x.example/a|https://x.example/b",
        secret: "h",
    };
    assert_eq!(c.client_id(), "1-2");
    assert_eq!(
        c.token_endpoint_auth_method(),
        TokenEndpointAuthMethod::None
    );
    assert!(c.is_public());
    assert!(c.requires_dpop());
    assert_eq!(
        strs(c.redirect_uris()),
        ["https://x.example/a", "https://x.example/b"]
    );

    let mut f = Fallible {
        id: Cow::Borrowed("f"),
        method: Stored("post".into()),
        secret: "h",
    };
    assert_eq!(
        f.token_endpoint_auth_method(),
        TokenEndpointAuthMethod::ClientSecretPost
    );
    assert_eq!(f.client_secret_hash(), Some("h"));
    f.method = Stored("none?".into());
    assert_eq!(
        f.token_endpoint_auth_method(),
        TokenEndpointAuthMethod::PrivateKeyJwt
    );
    assert_eq!(f.client_secret_hash(), None, "fails closed");
}

#[test]
fn null_auth_method_is_the_rfc7591_default_client_secret_basic() {
    #[derive(attesto::OAuthClient)]
    struct C {
        #[attesto(client_id)]
        id: String,
        #[attesto(auth_method)]
        method: Option<String>,
    }
    let c = C {
        id: "c".into(),
        method: None,
    };
    assert_eq!(
        c.token_endpoint_auth_method(),
        TokenEndpointAuthMethod::ClientSecretBasic
    );
    assert!(!c.is_public());
}

// ---------------------------------------------------------------- Principal

#[derive(serde::Serialize, Clone)]
struct Address {
    locality: String,
}

#[derive(sqlx::FromRow, attesto::Principal)]
#[attesto(kind = "member", sub_prefix = "mbr_")]
struct User {
    #[attesto(subject)]
    id: uuid::Uuid,
    #[attesto(claim)]
    email: String,
    #[attesto(claim)]
    email_verified: bool,
    #[attesto(claim = "name")]
    display_name: Option<String>,
    #[attesto(claim = "roles", scope = "roles")]
    roles: Json<Vec<String>>,
    #[attesto(claim = "tenant", scope = "tenant")]
    tenant: Option<String>,
    #[attesto(skip)]
    password_hash: String,
    created_at: i64,
}

fn user() -> User {
    User {
        id: uuid::Uuid::from_u128(1),
        email: "a@example.com".into(),
        email_verified: true,
        display_name: None,
        roles: Json(vec!["admin".into()]),
        tenant: Some("t1".into()),
        password_hash: "secret".into(),
        created_at: 0,
    }
}

#[test]
fn principal_maps_subject_claims_and_omits_none() {
    let u = user();
    assert_eq!(u.subject_id(), "00000000-0000-0000-0000-000000000001");
    let claims = u.claims();
    assert_eq!(claims["email"], "a@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["roles"], json!(["admin"]));
    assert_eq!(claims["tenant"], "t1");
    assert!(!claims.contains_key("name"), "None is omitted");
    assert!(!claims.contains_key("password_hash"));
    assert!(
        !claims.contains_key("created_at"),
        "unmapped fields are not claims"
    );
}

#[test]
fn principal_kind_and_custom_claim_scopes_reach_the_trait() {
    let kind = <User as attesto::host::Principal>::KIND.expect("declared");
    assert_eq!(kind.prefix(), "mbr_");
    assert_eq!(kind.subject("42").unwrap().as_str(), "mbr_42");
    assert_eq!(
        <User as attesto::host::Principal>::CUSTOM_CLAIMS,
        &[("roles", "roles"), ("tenant", "tenant")]
    );
}

#[test]
fn custom_claims_are_released_only_with_their_scope() {
    let u = user();
    let out = released_claims(&u, &["openid", "email"]);
    assert_eq!(out["email"], "a@example.com");
    assert!(!out.contains_key("roles"));
    let out = released_claims(&u, &["openid", "roles"]);
    assert_eq!(out["roles"], json!(["admin"]));
    assert!(!out.contains_key("email"));
    assert!(!out.contains_key("tenant"));
}

#[derive(attesto::Principal)]
struct Minimal {
    #[attesto(subject)]
    id: u32,
    #[attesto(claim)]
    address: Address,
}

#[test]
fn principal_without_kind_keeps_the_configured_kind() {
    let m = Minimal {
        id: 7,
        address: Address {
            locality: "Berlin".into(),
        },
    };
    assert!(<Minimal as attesto::host::Principal>::KIND.is_none());
    assert_eq!(m.subject_id(), "7");
    assert_eq!(m.claims()["address"]["locality"], "Berlin");
    assert!(released_claims(&m, &["openid"]).is_empty());
    assert_eq!(
        released_claims(&m, &["address"])["address"]["locality"],
        "Berlin"
    );
}

#[test]
fn remaining_field_types_map_too() {
    use std::sync::Arc;
    #[derive(attesto::OAuthClient)]
    struct C {
        #[attesto(client_id)]
        id: Arc<str>,
        #[attesto(redirect_uris)]
        uris: [&'static str; 2],
        #[attesto(post_logout_redirect_uris)]
        logout: Option<Json<Vec<String>>>,
        #[attesto(auth_method)]
        method: TokenEndpointAuthMethod,
        #[attesto(requires_dpop)]
        dpop: Option<bool>,
        #[attesto(response_types, separator = " ")]
        response_types: Option<Box<str>>,
        #[attesto(jwks)]
        jwks: Json<Value>,
    }
    let c = C {
        id: Arc::from("arc"),
        uris: ["https://a.example/1", "https://a.example/2"],
        logout: Some(Json(vec!["https://a.example/bye".into()])),
        method: TokenEndpointAuthMethod::PrivateKeyJwt,
        dpop: Some(true),
        response_types: Some("code id_token".into()),
        jwks: Json(json!({"keys": []})),
    };
    assert!(matches!(c.client_id(), Cow::Borrowed("arc")));
    assert_eq!(
        strs(c.redirect_uris()),
        ["https://a.example/1", "https://a.example/2"]
    );
    assert_eq!(
        strs(c.post_logout_redirect_uris()),
        ["https://a.example/bye"]
    );
    assert_eq!(
        c.token_endpoint_auth_method(),
        TokenEndpointAuthMethod::PrivateKeyJwt
    );
    assert!(c.requires_dpop());
    assert_eq!(
        c.response_types(),
        vec![Cow::Borrowed("code"), Cow::Borrowed("id_token")]
    );
    assert!(matches!(c.keys(), ClientKeys::Inline(_)));
    let none = C {
        logout: None,
        response_types: None,
        dpop: None,
        ..c
    };
    assert_eq!(strs(none.post_logout_redirect_uris()), Vec::<&str>::new());
    assert!(none.response_types().is_empty(), "NULL is no response type");
    assert!(!none.requires_dpop());
}
