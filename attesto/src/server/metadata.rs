//! Discovery documents, derived from the same [`ServerConfig`] that mounts
//! the routes, so an advertised endpoint always exists and vice versa.

use serde_json::{Map, Value, json};

use super::config::{GrantType, ServerConfig};

/// Client authentication methods the token, revocation and introspection
/// endpoints accept.
pub const TOKEN_ENDPOINT_AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// The authorization-server metadata document
/// ([RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2),
/// [OIDC Discovery §3](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata)).
///
/// ```
/// use attesto::server::{ServerConfig, metadata::authorization_server_metadata};
/// let cfg = ServerConfig::builder("https://id.example").build().unwrap();
/// let md = authorization_server_metadata(&cfg);
/// assert_eq!(md["token_endpoint"], "https://id.example/oauth/token");
/// assert_eq!(md["code_challenge_methods_supported"], serde_json::json!(["S256"]));
/// assert!(md.get("registration_endpoint").is_none());
/// ```
#[must_use]
pub fn authorization_server_metadata(cfg: &ServerConfig) -> Map<String, Value> {
    let url = |p: &str| Value::String(cfg.url(p));
    let mut grants: Vec<&str> = cfg.grants.iter().map(|g| g.as_str()).collect();
    grants.sort_unstable();
    // Exactly what the server's assertion verifier accepts (built with the
    // same default in `AuthorizationServer::build`).
    let auth_algs: Vec<&str> = crate::client_auth::DEFAULT_ASSERTION_ALGORITHMS
        .iter()
        .map(|a| a.as_str())
        .collect();
    let mut m = Map::new();
    m.insert("issuer".into(), Value::String(cfg.issuer.clone()));
    if cfg.has_grant(GrantType::AuthorizationCode) {
        m.insert("authorization_endpoint".into(), url(&cfg.paths.authorize));
        m.insert("response_types_supported".into(), json!(["code"]));
        m.insert("response_modes_supported".into(), json!(["query"]));
        m.insert("code_challenge_methods_supported".into(), json!(["S256"]));
        m.insert(
            "authorization_response_iss_parameter_supported".into(),
            Value::Bool(true),
        );
        m.insert("subject_types_supported".into(), json!(["public"]));
        m.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(
                cfg.id_token_algs()
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
            ),
        );
        m.insert("userinfo_endpoint".into(), url(&cfg.paths.userinfo));
        m.insert("claims_parameter_supported".into(), Value::Bool(false));
        m.insert("request_parameter_supported".into(), Value::Bool(false));
        m.insert("request_uri_parameter_supported".into(), Value::Bool(false));
    } else {
        m.insert("response_types_supported".into(), json!([]));
    }
    m.insert("token_endpoint".into(), url(&cfg.paths.token));
    m.insert(
        "jwks_uri".into(),
        Value::String(cfg.url("/.well-known/jwks.json")),
    );
    m.insert("scopes_supported".into(), json!(cfg.scopes_supported));
    m.insert("grant_types_supported".into(), json!(grants));
    m.insert(
        "token_endpoint_auth_methods_supported".into(),
        json!(TOKEN_ENDPOINT_AUTH_METHODS),
    );
    m.insert(
        "token_endpoint_auth_signing_alg_values_supported".into(),
        json!(auth_algs),
    );
    m.insert("revocation_endpoint".into(), url(&cfg.paths.revoke));
    m.insert(
        "revocation_endpoint_auth_methods_supported".into(),
        json!(TOKEN_ENDPOINT_AUTH_METHODS),
    );
    // RFC 8414 §2: required whenever private_key_jwt is listed for the endpoint.
    m.insert(
        "revocation_endpoint_auth_signing_alg_values_supported".into(),
        json!(auth_algs),
    );
    m.insert("introspection_endpoint".into(), url(&cfg.paths.introspect));
    m.insert(
        "introspection_endpoint_auth_methods_supported".into(),
        json!(TOKEN_ENDPOINT_AUTH_METHODS),
    );
    m.insert(
        "introspection_endpoint_auth_signing_alg_values_supported".into(),
        json!(auth_algs),
    );
    m.insert(
        "introspection_signing_alg_values_supported".into(),
        json!([cfg.signing_alg.as_str()]),
    );
    if cfg.dpop.enabled {
        let algs: Vec<&str> = cfg.dpop.algorithms.iter().map(|a| a.as_str()).collect();
        m.insert("dpop_signing_alg_values_supported".into(), json!(algs));
    }
    if cfg.registration {
        m.insert("registration_endpoint".into(), url(&cfg.paths.register));
    }
    m
}

/// The protected-resource metadata document for the default resource
/// ([RFC 9728 §2](https://www.rfc-editor.org/rfc/rfc9728#section-2)).
#[must_use]
pub fn protected_resource_metadata(cfg: &ServerConfig) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "resource".into(),
        Value::String(cfg.default_resource.clone()),
    );
    m.insert("authorization_servers".into(), json!([cfg.issuer]));
    m.insert(
        "jwks_uri".into(),
        Value::String(cfg.url("/.well-known/jwks.json")),
    );
    m.insert("scopes_supported".into(), json!(cfg.scopes_supported));
    m.insert("bearer_methods_supported".into(), json!(["header"]));
    if cfg.dpop.enabled {
        let algs: Vec<&str> = cfg.dpop.algorithms.iter().map(|a| a.as_str()).collect();
        m.insert("dpop_signing_alg_values_supported".into(), json!(algs));
    }
    m
}

/// The URL of the protected-resource metadata document, for the
/// `resource_metadata` challenge parameter (RFC 9728 §5.1).
#[must_use]
pub fn protected_resource_metadata_url(cfg: &ServerConfig) -> String {
    cfg.url("/.well-known/oauth-protected-resource")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_endpoint_is_advertised_only_when_mounted() {
        let off = ServerConfig::builder("https://id.example").build().unwrap();
        assert!(
            authorization_server_metadata(&off)
                .get("registration_endpoint")
                .is_none()
        );
        let on = ServerConfig::builder("https://id.example")
            .registration(true)
            .build()
            .unwrap();
        assert_eq!(
            authorization_server_metadata(&on)["registration_endpoint"],
            "https://id.example/oauth/register"
        );
    }

    #[test]
    fn advertised_grants_are_exactly_the_enabled_grants() {
        let cfg = ServerConfig::builder("https://id.example")
            .grants([GrantType::ClientCredentials])
            .build()
            .unwrap();
        let md = authorization_server_metadata(&cfg);
        assert_eq!(md["grant_types_supported"], json!(["client_credentials"]));
        assert!(md.get("authorization_endpoint").is_none());
    }

    #[test]
    fn metadata_urls_follow_the_prefix() {
        let cfg = ServerConfig::builder("https://id.example")
            .prefix("/auth/v1")
            .build()
            .unwrap();
        let md = authorization_server_metadata(&cfg);
        assert_eq!(md["token_endpoint"], "https://id.example/auth/v1/token");
        assert_eq!(md["jwks_uri"], "https://id.example/.well-known/jwks.json");
    }

    #[test]
    fn every_endpoint_accepting_private_key_jwt_lists_its_signing_algs() {
        // RFC 8414 §2: *_auth_signing_alg_values_supported is REQUIRED when
        // private_key_jwt is among the endpoint's auth methods.
        let md = authorization_server_metadata(
            &ServerConfig::builder("https://id.example").build().unwrap(),
        );
        for ep in ["token", "revocation", "introspection"] {
            let methods = md[&format!("{ep}_endpoint_auth_methods_supported")]
                .as_array()
                .unwrap();
            assert!(methods.iter().any(|m| m == "private_key_jwt"));
            let algs = md[&format!("{ep}_endpoint_auth_signing_alg_values_supported")]
                .as_array()
                .unwrap();
            assert!(!algs.is_empty() && algs.iter().all(|a| a != "none"), "{ep}");
        }
    }

    #[test]
    fn id_token_algs_advertise_rs256_by_default_then_the_extra_algs() {
        use crate::jose::Algorithm;
        let cfg = ServerConfig::builder("https://id.example").build().unwrap();
        let md = authorization_server_metadata(&cfg);
        assert_eq!(
            md["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
        // Separate from the access-token algorithm.
        assert_eq!(
            md["introspection_signing_alg_values_supported"],
            json!(["ES256"])
        );
        let cfg = ServerConfig::builder("https://id.example")
            .id_token_signing_alg(Algorithm::ES256)
            .id_token_extra_algs([Algorithm::RS256, Algorithm::ES256, Algorithm::PS256])
            .build()
            .unwrap();
        assert_eq!(
            authorization_server_metadata(&cfg)["id_token_signing_alg_values_supported"],
            json!(["ES256", "RS256", "PS256"])
        );
    }

    #[test]
    fn pkce_methods_advertise_s256_only() {
        let cfg = ServerConfig::builder("https://id.example").build().unwrap();
        assert_eq!(
            authorization_server_metadata(&cfg)["code_challenge_methods_supported"],
            json!(["S256"])
        );
    }
}
