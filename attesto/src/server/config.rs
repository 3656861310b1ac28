//! The server's static configuration: one value from which both the mounted
//! routes and the advertised discovery metadata are derived.

use std::time::Duration;

use crate::jose::{Algorithm, AlgorithmSet};
use crate::token::{ClaimType, PrincipalKind, RequiredClaim};
use attesto_rules::{At, Callback, Endpoint, Feature, Grant, Plan, Ttl};

/// A grant type the token endpoint dispatches
/// ([RFC 6749 §1.3](https://www.rfc-editor.org/rfc/rfc6749#section-1.3)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrantType {
    /// `authorization_code` (RFC 6749 §4.1).
    AuthorizationCode,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
    /// `client_credentials` (RFC 6749 §4.4).
    ClientCredentials,
}

impl GrantType {
    /// The registered name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// Parse a registered name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
    }
}

/// When the server demands a DPoP nonce ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoncePolicy {
    /// Never.
    Off,
    /// On every DPoP proof at the token endpoint.
    Required,
}

/// DPoP settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DpopSettings {
    /// Whether DPoP is offered at all.
    pub enabled: bool,
    /// Algorithms accepted for proofs.
    pub algorithms: AlgorithmSet,
    /// Nonce policy at the token endpoint.
    pub nonce: NoncePolicy,
}

/// Endpoint paths, each absolute and inside the prefix unless overridden.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointPaths {
    /// Authorization endpoint.
    pub authorize: String,
    /// Token endpoint.
    pub token: String,
    /// Revocation endpoint (RFC 7009).
    pub revoke: String,
    /// Introspection endpoint (RFC 7662).
    pub introspect: String,
    /// UserInfo endpoint.
    pub userinfo: String,
    /// Registration endpoint (RFC 7591), mounted only with registration on.
    pub register: String,
}

impl EndpointPaths {
    /// The standard layout under `prefix`.
    #[must_use]
    pub fn under(prefix: &str) -> Self {
        EndpointPaths {
            authorize: format!("{prefix}/authorize"),
            token: format!("{prefix}/token"),
            revoke: format!("{prefix}/revoke"),
            introspect: format!("{prefix}/introspect"),
            userinfo: format!("{prefix}/userinfo"),
            register: format!("{prefix}/register"),
        }
    }

    /// Set the path of the endpoint named `name` (`token`, `authorize`, …).
    ///
    /// # Errors
    /// [`ConfigError::NotYetSupported`] for an endpoint this runtime does not mount.
    pub fn set(&mut self, name: &str, path: &str) -> Result<(), ConfigError> {
        let slot = match name {
            "authorize" => &mut self.authorize,
            "token" => &mut self.token,
            "revoke" => &mut self.revoke,
            "introspect" => &mut self.introspect,
            "userinfo" => &mut self.userinfo,
            "register" => &mut self.register,
            _ => return Err(ConfigError::NotYetSupported("this endpoint")),
        };
        path.clone_into(slot);
        Ok(())
    }

    fn all(&self) -> [(&'static str, &str); 6] {
        [
            ("authorize", &self.authorize),
            ("token", &self.token),
            ("revoke", &self.revoke),
            ("introspect", &self.introspect),
            ("userinfo", &self.userinfo),
            ("register", &self.register),
        ]
    }
}

pub use attesto_rules::plan::WELL_KNOWN_PATHS;

/// Why a configuration cannot work: the same rules, and the same error
/// type, as the `#[authorization_server]` macro checks at compile time (they
/// live in `attesto-rules`). [`ConfigError::help`] says how to fix each.
pub use attesto_rules::ConfigError;

/// The server configuration. Build it with [`ServerConfig::builder`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The issuer identifier: `iss` of every token, base of every advertised URL.
    pub issuer: String,
    /// The route prefix for the OAuth endpoints (not for `.well-known`).
    pub prefix: String,
    /// The endpoint paths.
    pub paths: EndpointPaths,
    /// Scopes the server knows (the catalog; `a.*` entries are wildcards).
    pub scopes_supported: Vec<String>,
    /// Grants the token endpoint dispatches.
    pub grants: Vec<GrantType>,
    /// The algorithm access tokens (RFC 9068) and signed introspection
    /// responses (RFC 9701) are signed with.
    pub signing_alg: Algorithm,
    /// The algorithm ID tokens are signed with unless the client registered
    /// another (default `RS256`, which
    /// [OIDC Discovery §3](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata)
    /// requires every provider to support).
    pub id_token_signing_alg: Algorithm,
    /// Further ID-token algorithms a client may select with
    /// `id_token_signed_response_alg`
    /// ([OIDC Registration §2](https://openid.net/specs/openid-connect-registration-1_0.html#ClientMetadata)).
    /// Default: none.
    pub id_token_extra_algs: Vec<Algorithm>,
    /// Access-token lifetime.
    pub access_token_ttl: Duration,
    /// Refresh-token family lifetime.
    pub refresh_token_ttl: Duration,
    /// How long a rotated refresh token may be presented again and get the same successor.
    pub refresh_grace: Duration,
    /// Authorization-code lifetime.
    pub code_ttl: Duration,
    /// DPoP settings.
    pub dpop: DpopSettings,
    /// Whether open dynamic client registration is mounted.
    pub registration: bool,
    /// Scopes a registered client gets when its metadata names none (each in
    /// the catalog). Empty: such a client gets no scope (fail closed).
    pub registration_default_scopes: Vec<String>,
    /// The default protected-resource identifier (access-token `aud`).
    pub default_resource: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// How many verified access tokens the introspection endpoint remembers
    /// (default [`DEFAULT_INTROSPECTION_CACHE`]; 0 disables the cache). A hit
    /// skips only the signature check: expiry, revocation of the token's
    /// grant and that its signing key is still in the keystore are checked
    /// on every request, so a cached token is never reported active when a
    /// fresh verification would say otherwise.
    pub introspection_cache: usize,
    /// The principal kind of resource owners (`sub` = prefix + id).
    pub user_kind: PrincipalKind,
    /// The principal kind of clients acting for themselves (client_credentials).
    pub client_kind: PrincipalKind,
}

/// The default number of verified access tokens the introspection endpoint
/// remembers ([`ServerConfig::introspection_cache`]). Each entry holds one
/// token's verified claims, typically under 1 KiB.
pub const DEFAULT_INTROSPECTION_CACHE: usize = 16 * 1024;

/// The default principal kind for resource owners: `usr_` subjects.
pub const USER_KIND: PrincipalKind = PrincipalKind::new("user", "usr_", &[]);

/// The default principal kind for clients: `oc_` subjects carrying `client_id`.
pub const CLIENT_KIND: PrincipalKind = PrincipalKind::new(
    "client",
    "oc_",
    &[RequiredClaim::new("client_id", ClaimType::NonEmptyString)],
);

impl ServerConfig {
    /// Start a configuration for `issuer`.
    pub fn builder(issuer: impl Into<String>) -> ServerConfigBuilder {
        let issuer = issuer.into();
        let resource = issuer.clone();
        ServerConfigBuilder {
            cfg: ServerConfig {
                issuer,
                prefix: "/oauth".into(),
                paths: EndpointPaths::under("/oauth"),
                scopes_supported: vec!["openid".into()],
                grants: vec![
                    GrantType::AuthorizationCode,
                    GrantType::RefreshToken,
                    GrantType::ClientCredentials,
                ],
                signing_alg: Algorithm::ES256,
                id_token_signing_alg: Algorithm::RS256,
                id_token_extra_algs: Vec::new(),
                access_token_ttl: Duration::from_secs(300),
                refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
                refresh_grace: Duration::from_secs(10),
                code_ttl: Duration::from_secs(60),
                dpop: DpopSettings {
                    enabled: true,
                    algorithms: AlgorithmSet::new(&[
                        Algorithm::ES256,
                        Algorithm::PS256,
                        Algorithm::EdDSA,
                        Algorithm::RS256,
                    ]),
                    nonce: NoncePolicy::Off,
                },
                registration: false,
                registration_default_scopes: Vec::new(),
                default_resource: resource,
                max_body_bytes: 64 * 1024,
                request_timeout: Duration::from_secs(10),
                introspection_cache: DEFAULT_INTROSPECTION_CACHE,
                user_kind: USER_KIND,
                client_kind: CLIENT_KIND,
            },
            custom_paths: false,
        }
    }

    /// The absolute URL of a path on this server.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer.trim_end_matches('/'), path)
    }

    /// Every ID-token signing algorithm, the default first: what discovery
    /// advertises as `id_token_signing_alg_values_supported` and what a
    /// client may register as `id_token_signed_response_alg`.
    #[must_use]
    pub fn id_token_algs(&self) -> Vec<Algorithm> {
        let mut out = vec![self.id_token_signing_alg];
        for a in &self.id_token_extra_algs {
            if !out.contains(a) {
                out.push(*a);
            }
        }
        out
    }

    /// Whether `grant` is enabled.
    #[must_use]
    pub fn has_grant(&self, grant: GrantType) -> bool {
        self.grants.contains(&grant)
    }
}

/// Builder for [`ServerConfig`]; [`ServerConfigBuilder::build`] checks every rule.
#[derive(Debug, Clone)]
pub struct ServerConfigBuilder {
    cfg: ServerConfig,
    custom_paths: bool,
}

impl ServerConfigBuilder {
    /// The route prefix (default `/oauth`; `""` for the root).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.cfg.prefix = prefix.into();
        if !self.custom_paths {
            self.cfg.paths = EndpointPaths::under(&self.cfg.prefix);
        }
        self
    }

    /// Override endpoint paths.
    #[must_use]
    pub fn paths(mut self, paths: EndpointPaths) -> Self {
        self.cfg.paths = paths;
        self.custom_paths = true;
        self
    }

    /// The scope catalog.
    #[must_use]
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.cfg.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The enabled grants.
    #[must_use]
    pub fn grants(mut self, grants: impl IntoIterator<Item = GrantType>) -> Self {
        self.cfg.grants = grants.into_iter().collect();
        self
    }

    /// The access-token signing algorithm (default `ES256`).
    #[must_use]
    pub fn signing_alg(mut self, alg: Algorithm) -> Self {
        self.cfg.signing_alg = alg;
        self
    }

    /// The default ID-token signing algorithm (default `RS256`). The
    /// keystore must hold a key for it when the `authorization_code` grant
    /// is enabled, or [`AuthorizationServer::build`](super::AuthorizationServerBuilder::build) fails.
    #[must_use]
    pub fn id_token_signing_alg(mut self, alg: Algorithm) -> Self {
        self.cfg.id_token_signing_alg = alg;
        self
    }

    /// Further ID-token algorithms clients may register as
    /// `id_token_signed_response_alg` (default none). The keystore must
    /// hold a key for each.
    #[must_use]
    pub fn id_token_extra_algs(mut self, algs: impl IntoIterator<Item = Algorithm>) -> Self {
        self.cfg.id_token_extra_algs = algs.into_iter().collect();
        self
    }

    /// Access-token lifetime.
    #[must_use]
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.cfg.access_token_ttl = ttl;
        self
    }

    /// Refresh-token family lifetime.
    #[must_use]
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.cfg.refresh_token_ttl = ttl;
        self
    }

    /// Refresh grace window.
    #[must_use]
    pub fn refresh_grace(mut self, d: Duration) -> Self {
        self.cfg.refresh_grace = d;
        self
    }

    /// Code lifetime.
    #[must_use]
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.cfg.code_ttl = ttl;
        self
    }

    /// DPoP settings.
    #[must_use]
    pub fn dpop(mut self, dpop: DpopSettings) -> Self {
        self.cfg.dpop = dpop;
        self
    }

    /// Mount open dynamic client registration.
    #[must_use]
    pub fn registration(mut self, on: bool) -> Self {
        self.cfg.registration = on;
        self
    }

    /// Scopes given to a registered client whose metadata names none
    /// (RFC 7591 §2 `scope`); each must be in the catalog.
    #[must_use]
    pub fn registration_default_scopes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        scopes: I,
    ) -> Self {
        self.cfg.registration_default_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The endpoint paths as configured so far.
    #[must_use]
    pub fn current_paths(&self) -> EndpointPaths {
        self.cfg.paths.clone()
    }

    /// The DPoP settings as configured so far.
    #[must_use]
    pub fn current_dpop(&self) -> DpopSettings {
        self.cfg.dpop
    }

    /// The default resource (access-token audience).
    #[must_use]
    pub fn default_resource(mut self, resource: impl Into<String>) -> Self {
        self.cfg.default_resource = resource.into();
        self
    }

    /// Body size cap.
    #[must_use]
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.cfg.max_body_bytes = n;
        self
    }

    /// Request timeout.
    #[must_use]
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.cfg.request_timeout = d;
        self
    }

    /// How many verified access tokens introspection remembers (0 disables
    /// the cache); see [`ServerConfig::introspection_cache`].
    #[must_use]
    pub fn introspection_cache(mut self, capacity: usize) -> Self {
        self.cfg.introspection_cache = capacity;
        self
    }

    /// The principal kinds of resource owners and clients.
    #[must_use]
    pub fn principal_kinds(mut self, user: PrincipalKind, client: PrincipalKind) -> Self {
        self.cfg.user_kind = user;
        self.cfg.client_kind = client;
        self
    }

    /// Check every rule and produce the configuration.
    ///
    /// # Errors
    /// The first broken rule.
    pub fn build(self) -> Result<ServerConfig, ConfigError> {
        let cfg = self.cfg;
        match attesto_rules::check(&plan_of(&cfg)).into_iter().next() {
            Some((_, error)) => Err(error),
            None => Ok(cfg),
        }
    }
}

/// The configuration as the shared rules see it (every Host part is a trait
/// the type system already requires, so every callback counts as present).
fn plan_of(cfg: &ServerConfig) -> Plan<&'static str> {
    let mut plan = Plan::new("ServerConfig");
    plan.issuer = Some(At::new(cfg.issuer.clone(), "issuer"));
    plan.prefix = Some(At::new(cfg.prefix.clone(), "prefix"));
    for (name, path) in cfg.paths.all() {
        if let Some(endpoint) = Endpoint::parse(name)
            && *path != format!("{}{}", cfg.prefix, endpoint.default_tail())
        {
            plan.paths
                .push(At::new((endpoint, path.to_owned()), "paths"));
        }
    }
    plan.scopes = cfg
        .scopes_supported
        .iter()
        .map(|s| At::new(s.clone(), "scopes"))
        .collect();
    plan.grants = cfg
        .grants
        .iter()
        .map(|g| {
            let grant = match g {
                GrantType::AuthorizationCode => Grant::AuthorizationCode,
                GrantType::RefreshToken => Grant::RefreshToken,
                GrantType::ClientCredentials => Grant::ClientCredentials,
            };
            At::new(grant, "grants")
        })
        .collect();
    if cfg.registration {
        plan.features
            .push(At::new(Feature::Registration, "registration"));
    }
    if cfg.dpop.enabled {
        plan.dpop_algorithms = Some(At::new(
            cfg.dpop
                .algorithms
                .iter()
                .map(|a| At::new(a.as_str().to_owned(), "dpop"))
                .collect(),
            "dpop",
        ));
    } else {
        plan.dpop_off = Some("dpop");
    }
    if cfg.dpop.nonce == NoncePolicy::Required {
        plan.dpop_nonce_required = Some("dpop");
    }
    for (ttl, d) in [
        (Ttl::AccessToken, cfg.access_token_ttl),
        (Ttl::RefreshToken, cfg.refresh_token_ttl),
        (Ttl::RefreshGrace, cfg.refresh_grace),
        (Ttl::Code, cfg.code_ttl),
    ] {
        // sub-second parts round up, so 500 ms is not mistaken for zero
        let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
        plan.ttls.push(At::new((ttl, secs), ttl.name()));
    }
    // the builder documents that extra algs repeating the default are
    // merged, so the rules see the deduplicated list
    plan.id_token_algorithms = cfg
        .id_token_algs()
        .into_iter()
        .map(|a| At::new(a.as_str().to_owned(), "id_token_algs"))
        .collect();
    plan.default_scopes = cfg
        .registration_default_scopes
        .iter()
        .map(|s| At::new(s.clone(), "registration_default_scopes"))
        .collect();
    plan.default_resource = Some(At::new(cfg.default_resource.clone(), "default_resource"));
    plan.callbacks = Callback::ALL
        .into_iter()
        .map(|c| At::new(c, "host"))
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_colliding_with_well_known_path_is_refused() {
        let mut paths = EndpointPaths::under("/oauth");
        paths.token = "/.well-known/jwks.json".into();
        let err = ServerConfig::builder("https://id.example")
            .paths(paths)
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::WellKnownPath("/.well-known/jwks.json".into())
        );
    }

    #[test]
    fn two_endpoints_on_one_path_are_refused() {
        let mut paths = EndpointPaths::under("/oauth");
        paths.revoke = paths.token.clone();
        assert!(matches!(
            ServerConfig::builder("https://id.example")
                .paths(paths)
                .build(),
            Err(ConfigError::PathCollision(_))
        ));
    }

    #[test]
    fn prefix_with_trailing_slash_is_refused() {
        assert!(matches!(
            ServerConfig::builder("https://id.example")
                .prefix("/oauth/")
                .build(),
            Err(ConfigError::Path { .. })
        ));
    }

    #[test]
    fn non_https_issuer_is_refused_except_loopback() {
        assert!(ServerConfig::builder("http://id.example").build().is_err());
        assert!(
            ServerConfig::builder("http://127.0.0.1:8080")
                .build()
                .is_ok()
        );
    }

    #[test]
    fn runtime_builder_applies_the_same_rules_as_the_macro() {
        // rules that exist only in attesto-rules reach the runtime builder
        let err = ServerConfig::builder("https://id.example")
            .code_ttl(Duration::from_secs(601))
            .build()
            .unwrap_err();
        assert_eq!(err, ConfigError::Ttl("code_ttl"));
        assert!(err.help().contains("RFC 6749 §4.1.2"));
        let err = ServerConfig::builder("https://id.example")
            .scopes(["openid", "openid"])
            .build()
            .unwrap_err();
        assert_eq!(err, ConfigError::DuplicateScope("openid".into()));
        let err = ServerConfig::builder("https://id.example")
            .grants([GrantType::RefreshToken])
            .build()
            .unwrap_err();
        assert_eq!(err, ConfigError::RefreshWithoutIssuer);
    }

    #[test]
    fn root_prefix_mounts_endpoints_at_the_root() {
        let cfg = ServerConfig::builder("https://id.example")
            .prefix("")
            .build()
            .unwrap();
        assert_eq!(cfg.paths.token, "/token");
        assert_eq!(cfg.url(&cfg.paths.token), "https://id.example/token");
    }
}
