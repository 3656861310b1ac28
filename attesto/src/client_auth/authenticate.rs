//! Verifying presented credentials against a registered client.

use super::assertion::{AssertionError, AssertionVerifier, VerifiedAssertion};
use super::credentials::PresentedCredentials;
use super::secret::{SecretHasher, StoredSecret};
use super::{ClientAuthError, ClientAuthMethod, ClientAuthReason};
use crate::clock::UnixTime;
use crate::dpop::JtiReplayGuard;
use crate::jose::JwkSet;

/// What an endpoint accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientAuthPolicy {
    /// Whether a `client_id`-only request may authenticate as a public
    /// client ([RFC 6749 §2.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.1)).
    /// True at the token endpoint; false at PAR and introspection.
    pub allow_public: bool,
    /// The methods the endpoint accepts (`token_endpoint_auth_methods_supported`);
    /// `None` means every method this module verifies.
    pub allowed_methods: Option<Vec<ClientAuthMethod>>,
}

impl ClientAuthPolicy {
    /// Token endpoint: public clients allowed.
    #[must_use]
    pub fn token_endpoint() -> Self {
        Self {
            allow_public: true,
            allowed_methods: None,
        }
    }

    /// PAR / introspection: confidential clients only.
    #[must_use]
    pub fn confidential_only() -> Self {
        Self {
            allow_public: false,
            allowed_methods: None,
        }
    }

    /// Restrict the accepted methods (e.g. FAPI: `private_key_jwt` only).
    #[must_use]
    pub fn with_allowed_methods(mut self, methods: &[ClientAuthMethod]) -> Self {
        self.allowed_methods = Some(methods.to_vec());
        self
    }

    fn allows(&self, method: ClientAuthMethod) -> bool {
        self.allowed_methods
            .as_ref()
            .is_none_or(|m| m.contains(&method))
    }
}

/// What the host knows about a client, for authentication.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RegisteredClient<'a> {
    /// The client id.
    pub client_id: &'a str,
    /// The methods the client may use (its `token_endpoint_auth_method`,
    /// or several where the host allows it, e.g. Basic and post).
    pub methods: &'a [ClientAuthMethod],
    /// The registered secret, for `client_secret_*`.
    pub secret: Option<&'a StoredSecret>,
    /// The client's public keys, for `private_key_jwt`.
    pub jwks: Option<&'a JwkSet>,
}

impl<'a> RegisteredClient<'a> {
    /// A client registered for `methods`, without a secret or keys.
    #[must_use]
    pub fn new(client_id: &'a str, methods: &'a [ClientAuthMethod]) -> Self {
        Self {
            client_id,
            methods,
            secret: None,
            jwks: None,
        }
    }

    /// The registered secret.
    #[must_use]
    pub fn with_secret(mut self, secret: &'a StoredSecret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// The client's JWKS.
    #[must_use]
    pub fn with_jwks(mut self, jwks: &'a JwkSet) -> Self {
        self.jwks = Some(jwks);
        self
    }
}

/// A successfully authenticated client.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthenticatedClient {
    /// The identifier the credentials carried (Basic user id, body
    /// `client_id`, or the assertion `sub`). Never empty.
    pub client_id: String,
    /// How it authenticated.
    pub method: ClientAuthMethod,
    /// The verified assertion, for `private_key_jwt`.
    pub assertion: Option<VerifiedAssertion>,
}

/// Verifies presented credentials; see the [module docs](super).
#[derive(Debug)]
pub struct ClientAuthenticator {
    hasher: SecretHasher,
    assertions: Option<AssertionVerifier>,
}

impl ClientAuthenticator {
    /// An authenticator for secret-based and public clients. Without an
    /// [`AssertionVerifier`], `private_key_jwt` is refused.
    #[must_use]
    pub fn new(hasher: SecretHasher) -> Self {
        Self {
            hasher,
            assertions: None,
        }
    }

    /// Also accept `private_key_jwt`, verified by `assertions`.
    #[must_use]
    pub fn with_assertions(mut self, assertions: AssertionVerifier) -> Self {
        self.assertions = Some(assertions);
        self
    }

    /// The secret hasher (to hash secrets at registration).
    #[must_use]
    pub fn hasher(&self) -> &SecretHasher {
        &self.hasher
    }

    /// The assertion verifier, if `private_key_jwt` is enabled.
    #[must_use]
    pub fn assertions(&self) -> Option<&AssertionVerifier> {
        self.assertions.as_ref()
    }

    /// The methods this authenticator can verify under `policy`, for
    /// `token_endpoint_auth_methods_supported`.
    #[must_use]
    pub fn supported_methods(&self, policy: &ClientAuthPolicy) -> Vec<ClientAuthMethod> {
        ClientAuthMethod::VERIFIED
            .into_iter()
            .filter(|m| policy.allows(*m))
            .filter(|m| *m != ClientAuthMethod::PrivateKeyJwt || self.assertions.is_some())
            .filter(|m| *m != ClientAuthMethod::None || policy.allow_public)
            .collect()
    }

    /// Authenticate `presented` as `client` (`None` = unknown or revoked).
    ///
    /// * the method must be allowed by `policy` and registered for the client;
    /// * an unknown/revoked client, a missing secret or an unregistered method
    ///   on the secret paths still spends one dummy secret verification, so
    ///   all failures take the same time;
    /// * secrets are compared in constant time; assertions are verified and
    ///   their `jti` recorded in `guard`;
    /// * `client_id` only: allowed when `policy.allow_public` and the client
    ///   is registered for `none`; otherwise "client authentication required".
    ///
    /// # Errors
    /// [`ClientAuthError`]: generic `invalid_client` for every failure,
    /// `server_error` when the replay guard fails.
    pub async fn authenticate<G: JtiReplayGuard>(
        &self,
        presented: &PresentedCredentials,
        client: Option<&RegisteredClient<'_>>,
        policy: &ClientAuthPolicy,
        guard: &G,
        now: UnixTime,
    ) -> Result<AuthenticatedClient, ClientAuthError> {
        let scheme = presented.authorization_scheme().map(str::to_owned);
        self.authenticate_inner(presented, client, policy, guard, now)
            .await
            .map_err(|r| ClientAuthError::new(r, scheme))
    }

    async fn authenticate_inner<G: JtiReplayGuard>(
        &self,
        presented: &PresentedCredentials,
        client: Option<&RegisteredClient<'_>>,
        policy: &ClientAuthPolicy,
        guard: &G,
        now: UnixTime,
    ) -> Result<AuthenticatedClient, ClientAuthReason> {
        let method = presented.method();
        if method == ClientAuthMethod::None && !policy.allow_public {
            return Err(ClientAuthReason::PublicClientNotAllowed);
        }
        if !policy.allows(method) {
            return Err(ClientAuthReason::MethodNotAllowed(method));
        }
        let registered = client.filter(|c| c.client_id == presented.client_id());

        match presented {
            PresentedCredentials::ClientSecretBasic { secret, .. }
            | PresentedCredentials::ClientSecretPost { secret, .. } => {
                let presented_secret = secret.expose();
                let stored = registered
                    .filter(|c| c.methods.contains(&method))
                    .and_then(|c| c.secret);
                let Some(stored) = stored else {
                    // Unknown or revoked client, method not registered, or
                    // no secret: the same work as a real verification.
                    let _ = self.hasher.verify_dummy(presented_secret);
                    return Err(match registered {
                        None => ClientAuthReason::UnknownClient,
                        Some(c) if !c.methods.contains(&method) => {
                            ClientAuthReason::MethodNotRegistered(method)
                        }
                        Some(_) => ClientAuthReason::NoSecretRegistered,
                    });
                };
                if !self.hasher.verify_stored(presented_secret, stored) {
                    return Err(ClientAuthReason::WrongSecret);
                }
                Ok(AuthenticatedClient {
                    client_id: presented.client_id().to_owned(),
                    method,
                    assertion: None,
                })
            }
            PresentedCredentials::PrivateKeyJwt {
                client_id,
                assertion,
            } => {
                let verifier = self
                    .assertions
                    .as_ref()
                    .ok_or(ClientAuthReason::MethodNotAllowed(method))?;
                let client = registered.ok_or(ClientAuthReason::UnknownClient)?;
                if !client.methods.contains(&method) {
                    return Err(ClientAuthReason::MethodNotRegistered(method));
                }
                let jwks = client.jwks.ok_or(ClientAuthReason::NoJwks)?;
                let verified = verifier
                    .verify_and_record(assertion, client_id, jwks, guard, now)
                    .await
                    .map_err(|e| match e {
                        AssertionError::ReplayGuard(inner) => ClientAuthReason::Unavailable(inner),
                        other => ClientAuthReason::Assertion(other),
                    })?;
                Ok(AuthenticatedClient {
                    client_id: client_id.clone(),
                    method,
                    assertion: Some(verified),
                })
            }
            PresentedCredentials::ClientIdOnly { client_id } => {
                let client = registered.ok_or(ClientAuthReason::UnknownClient)?;
                if !client.methods.contains(&ClientAuthMethod::None) {
                    // A confidential client (or an mTLS one, which this module
                    // cannot verify) presenting no credentials.
                    return Err(ClientAuthReason::MethodNotRegistered(method));
                }
                Ok(AuthenticatedClient {
                    client_id: client_id.clone(),
                    method,
                    assertion: None,
                })
            }
        }
    }
}
