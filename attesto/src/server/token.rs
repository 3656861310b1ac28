//! The token endpoint ([RFC 6749 §3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2)).
//!
//! `POST {paths.token}` with a form body. In order:
//!
//! 1. intake ([`read_form`]): content type, no OAuth parameters in the query,
//!    body size and time limits, strict parsing (duplicates refused except
//!    `resource`, [RFC 8707](https://www.rfc-editor.org/rfc/rfc8707));
//! 2. `grant_type`: missing → `invalid_request`; unknown or not enabled →
//!    `unsupported_grant_type`;
//! 3. a DPoP-bound authorization code redeemed without a proof →
//!    `invalid_request` "DPoP proof required", before client authentication
//!    and without spending the code (seed-catalog-2 §6);
//! 4. client authentication ([`authenticate`]);
//! 5. the client's registered grants: `unauthorized_client`;
//! 6. resource indicators: absolute URIs without fragment, each the default
//!    resource or allowed by the host's [`ResourcePolicy`](super::ResourcePolicy),
//!    else `invalid_target`;
//! 7. DPoP ([`super::dpop`]);
//! 8. the grant.
//!
//! # Grants
//!
//! * `authorization_code` ([RFC 6749 §4.1.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3)):
//!   single use through the store's atomic `redeem`; a replay revokes the
//!   refresh family the first redemption opened (and so every access token
//!   minted in it, as seen by introspection); client, `redirect_uri`, PKCE
//!   ([RFC 7636 §4.6](https://www.rfc-editor.org/rfc/rfc7636#section-4.6)) and
//!   key binding are checked against the [`AuthorizationCodeRecord`]
//!   (the code stays spent when a check fails). Every redemption opens a
//!   refresh family, the *grant*; its first refresh token is delivered only
//!   when `offline_access` was granted, the client registered the
//!   `refresh_token` grant and the server enables it (the seed's default
//!   offline-access gate, OIDC Core §11). An ID token is issued when `openid`
//!   was granted.
//! * `refresh_token` ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6)):
//!   confined to the client it was issued to and, for public clients, to
//!   the DPoP key it was bound to ([RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5));
//!   scope and resources only narrow; rotation through the store's atomic
//!   `rotate`: a retry inside the grace window gets the **same** successor
//!   (kept sealed with AES-256-GCM), a reuse after it revokes the family.
//! * `client_credentials` ([RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)):
//!   confidential clients only; `sub` is the client kind's prefix + the
//!   client id; the scope must be in the catalog and in the client's
//!   allowed scopes; no refresh token.
//!
//! Access tokens minted from a code or refresh grant carry the private claim
//! `fid`, the refresh family (the grant) they belong to, so that revoking
//! the grant (revocation, code replay, refresh reuse) makes introspection
//! report them inactive. Resource servers that verify tokens locally see the
//! revocation only when the token expires.

// `OAuthError` is the one error value of every endpoint step and is rendered
// once per request; boxing it would only add an allocation on every error.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
use serde::Serialize;

use super::client::{Authenticated, authenticate, backend_error, read_form};
use super::dpop::{attempted_constraint, next_nonce, presented_proof, token_endpoint_proof};
use super::response::no_store_json;
use super::{BuildError, GrantType, Host, Inner, ServerConfig};
use crate::client_auth::{ClientAuthMethod, ClientAuthPolicy};
use crate::clock::{Clock, UnixTime};
use crate::dpop::VerifiedProof;
use crate::error::{DPOP_NONCE, ErrorCode, OAuthError};
use crate::form::Params;
use crate::host::{
    ClientRegistry, Event, EventName, OAuthClient, PrincipalStore, SenderConstraint,
    released_claims,
};
use crate::jose::Keystore;
use crate::pkce::{CodeChallenge, Pkce, verify_redemption};
use crate::scope::{ScopeCatalog, ScopeSet, narrow};
use crate::secret::{RandomSource, ct_eq};
use crate::store::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CodeIssuance, CodeRedemption, Confirmation,
    FamilyId, NewRefreshToken, RefreshGrant, RefreshLookup, RefreshTokenStore, RotationOutcome,
    SealedSuccessor, StoreError, Stores, TokenHash,
};
use crate::token::{AccessTokenRequest, IdTokenIssuer, IdTokenRequest, IssuedAccessToken};

/// The private access-token claim naming the refresh family (grant) a token
/// was minted in.
pub(crate) const FAMILY_CLAIM: &str = "fid";

/// The scope that lets a code redemption deliver a refresh token
/// ([OIDC Core §11](https://openid.net/specs/openid-connect-core-1_0.html#OfflineAccess)).
const OFFLINE_ACCESS: &str = "offline_access";

/// Raw refresh tokens: 32 random bytes, base64url.
const REFRESH_TOKEN_BYTES: usize = 32;

/// State the token endpoint builds once.
pub(crate) struct TokenEndpoint {
    /// The canonical token-endpoint URL (the DPoP `htu`).
    pub(crate) token_url: String,
    /// Mints ID tokens (only with the `authorization_code` grant).
    id_tokens: Option<IdTokenIssuer>,
    /// The scope catalog (`scopes_supported`, with wildcards).
    pub(crate) scopes: ScopeCatalog,
    /// Seals grace-window successors.
    seal: SuccessorSeal,
}

impl TokenEndpoint {
    /// Build from the configuration, the keys, the clock and the server secret.
    pub(crate) fn new(
        cfg: &ServerConfig,
        keys: Arc<dyn Keystore>,
        clock: Arc<dyn Clock>,
        secret: &[u8],
    ) -> Result<Self, BuildError> {
        let id_tokens = if cfg.has_grant(GrantType::AuthorizationCode) {
            Some(
                IdTokenIssuer::builder(cfg.issuer.clone(), keys)
                    .signing_alg(cfg.id_token_signing_alg)
                    .clock(clock)
                    .build()?,
            )
        } else {
            None
        };
        Ok(TokenEndpoint {
            token_url: cfg.url(&cfg.paths.token),
            id_tokens,
            scopes: ScopeCatalog::new(&cfg.scopes_supported)?,
            seal: SuccessorSeal::new(secret),
        })
    }
}

/// AES-256-GCM sealing of a rotated-to refresh token, so a grace-window retry
/// can be answered with the same successor without the store ever holding
/// the plaintext. The key is HMAC-SHA256(server secret, label); the parent's
/// hash is the associated data, so a sealed successor cannot be replayed for
/// another parent. Layout: version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
pub(crate) struct SuccessorSeal {
    key: [u8; 32],
}

const SEAL_LABEL: &[u8] = b"attesto/refresh-successor-seal/v1\0";
const SEAL_VERSION: u8 = 1;
const SEAL_NONCE_LEN: usize = 12;
const SEAL_TAG_LEN: usize = 16;

impl SuccessorSeal {
    pub(crate) fn new(secret: &[u8]) -> Self {
        SuccessorSeal {
            key: crate::secret::HmacSha256::new(secret).mac(&[SEAL_LABEL]),
        }
    }

    pub(crate) fn seal(
        &self,
        token: &str,
        parent: &TokenHash,
        rng: &dyn RandomSource,
    ) -> Option<SealedSuccessor> {
        let mut nonce = [0u8; SEAL_NONCE_LEN];
        rng.fill(&mut nonce).ok()?;
        let mut tag = [0u8; SEAL_TAG_LEN];
        let ct = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(&nonce),
            parent.as_bytes(),
            token.as_bytes(),
            &mut tag,
        )
        .ok()?;
        let mut out = Vec::with_capacity(1 + SEAL_NONCE_LEN + ct.len() + SEAL_TAG_LEN);
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
        Some(SealedSuccessor::new(out))
    }

    pub(crate) fn unseal(&self, sealed: &SealedSuccessor, parent: &TokenHash) -> Option<String> {
        let bytes = sealed.as_bytes();
        let (version, rest) = bytes.split_first()?;
        if *version != SEAL_VERSION || rest.len() < SEAL_NONCE_LEN + SEAL_TAG_LEN {
            return None;
        }
        let (nonce, rest) = rest.split_at_checked(SEAL_NONCE_LEN)?;
        let (ct, tag) = rest.split_at_checked(rest.len() - SEAL_TAG_LEN)?;
        let plain = decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(nonce),
            parent.as_bytes(),
            ct,
            tag,
        )
        .ok()?;
        String::from_utf8(plain).ok()
    }
}

/// The routes of this endpoint.
pub(crate) fn routes<H: Host, S: Stores>(cfg: &ServerConfig) -> Router<Arc<Inner<H, S>>> {
    Router::new().route(
        &cfg.paths.token,
        post(token::<H, S>).fallback(method_not_allowed),
    )
}

/// Any method but POST on a back-channel endpoint: 405 with an OAuth body.
pub(crate) async fn method_not_allowed() -> Response {
    let mut resp = OAuthError::invalid_request("use POST")
        .with_status(405)
        .into_response();
    resp.headers_mut()
        .insert(axum::http::header::ALLOW, HeaderValue::from_static("POST"));
    resp
}

/// The RFC 6749 §5.1 success body.
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

/// What the audit events of one request know.
struct Audit {
    client_id: Option<String>,
    grant_type: Option<&'static str>,
    token_type: &'static str,
    constraint: SenderConstraint,
}

/// The static name of an error code, for [`Event::result`].
pub(crate) fn code_name(e: &OAuthError) -> &'static str {
    match e.code() {
        ErrorCode::InvalidRequest => "invalid_request",
        ErrorCode::InvalidClient => "invalid_client",
        ErrorCode::InvalidGrant => "invalid_grant",
        ErrorCode::UnauthorizedClient => "unauthorized_client",
        ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
        ErrorCode::InvalidScope => "invalid_scope",
        ErrorCode::InvalidTarget => "invalid_target",
        ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
        ErrorCode::UseDpopNonce => "use_dpop_nonce",
        ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        ErrorCode::UnsupportedTokenType => "unsupported_token_type",
        _ => "server_error",
    }
}

/// Send an event to the sink. A sink that panics cannot change the outcome
/// of the request (seed-catalog-3a §4): the panic is caught and logged.
pub(crate) fn emit<H: Host, S: Stores>(inner: &Inner<H, S>, event: &Event) {
    let sink = &inner.events;
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.on_event(event))).is_err() {
        tracing::error!(target: "attesto::audit", event = event.name.as_str(), "the event sink panicked");
    }
}

fn denied<H: Host, S: Stores>(inner: &Inner<H, S>, audit: &Audit, err: &OAuthError) {
    let code = code_name(err);
    tracing::info!(
        target: "attesto::token",
        client_id = audit.client_id.as_deref(),
        grant_type = audit.grant_type,
        error = code,
        "token request denied"
    );
    let mut e = Event::new(EventName::TokenDenied);
    e.client_id.clone_from(&audit.client_id);
    e.grant_type = audit.grant_type.map(str::to_owned);
    e.result = Some(code);
    e.token_type = Some(audit.token_type);
    e.sender_constraint = Some(audit.constraint);
    emit(inner, &e);
}

async fn token<H: Host, S: Stores>(
    State(inner): State<Arc<Inner<H, S>>>,
    req: Request,
) -> Response {
    let now = inner.clock.now();
    let mut audit = Audit {
        client_id: None,
        grant_type: None,
        token_type: "Bearer",
        constraint: SenderConstraint::None,
    };
    match handle(&inner, req, now, &mut audit).await {
        Ok(resp) => resp,
        Err(err) => {
            denied(&inner, &audit, &err);
            err.into_response()
        }
    }
}

fn invalid_grant() -> OAuthError {
    OAuthError::invalid_grant("the grant is invalid, expired or revoked")
}

/// A server-side minting failure: logged, answered with a generic
/// `invalid_request` (seed-catalog-2 §7).
fn mint_failure(what: &str, err: &dyn std::fmt::Display) -> OAuthError {
    tracing::error!(target: "attesto::token", error = %err, "{what} could not be minted");
    OAuthError::invalid_request("the token could not be issued")
}

fn store_error(e: &StoreError) -> OAuthError {
    match e {
        StoreError::Invalid(_) | StoreError::Duplicate => mint_failure("refresh token", e),
        other => backend_error(other),
    }
}

/// Validate the `resource` parameters (RFC 8707 §2): absolute URIs without
/// a fragment.
fn requested_resources(params: &Params) -> Result<Vec<&str>, OAuthError> {
    let mut out: Vec<&str> = Vec::new();
    for r in params.get_all("resource") {
        let ok = url::Url::parse(r).is_ok_and(|u| u.fragment().is_none());
        if !ok {
            return Err(OAuthError::invalid_target(
                "resource must be an absolute URI without a fragment",
            ));
        }
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// Every requested resource must be the default one or allowed for the client.
fn check_resource_policy<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    client_id: &str,
    resources: &[&str],
) -> Result<(), OAuthError> {
    for r in resources {
        if *r != inner.cfg.default_resource && !inner.host.resource_allowed(client_id, r) {
            return Err(OAuthError::invalid_target(
                "the requested resource is not available to this client",
            ));
        }
    }
    Ok(())
}

/// Narrow the requested resources to a grant (`granted` empty = the default
/// resource). Returns the audiences for the access token (empty = default).
fn narrow_resources(
    default: &str,
    granted: &[String],
    requested: &[&str],
) -> Result<Vec<String>, OAuthError> {
    let within = |r: &str| {
        if granted.is_empty() {
            r == default
        } else {
            granted.iter().any(|g| g == r)
        }
    };
    if let Some(_outside) = requested.iter().find(|r| !within(r)) {
        return Err(OAuthError::invalid_target(
            "the requested resource exceeds the grant",
        ));
    }
    Ok(if requested.is_empty() {
        granted.to_vec()
    } else {
        requested.iter().map(|r| (*r).to_owned()).collect()
    })
}

async fn handle<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    req: Request,
    now: UnixTime,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    let (parts, params) = read_form(inner, req, &["resource"]).await?;
    audit.client_id = params.get("client_id").map(str::to_owned);
    let proof = presented_proof(&parts.headers)?;
    (audit.token_type, audit.constraint) = attempted_constraint(proof);
    let grant = match params.get("grant_type") {
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some(g) => GrantType::parse(g)
            .filter(|g| inner.cfg.has_grant(*g))
            .ok_or_else(|| OAuthError::unsupported_grant_type("unsupported grant_type"))?,
    };
    audit.grant_type = Some(grant.as_str());
    let resources = requested_resources(&params)?;
    if grant == GrantType::AuthorizationCode && proof.is_none() {
        precheck_code_binding(inner, &params, now).await?;
    }
    let authd = authenticate(
        inner,
        &parts.headers,
        &params,
        &ClientAuthPolicy::token_endpoint(),
        now,
    )
    .await
    .map_err(|f| {
        if f.client_id.is_some() {
            audit.client_id = f.client_id;
        }
        f.error
    })?;
    audit.client_id = Some(authd.client_id().to_owned());
    if !authd.client.allows_grant(grant.as_str()) {
        return Err(OAuthError::unauthorized_client(
            "the client is not registered for this grant type",
        ));
    }
    check_resource_policy(inner, authd.client_id(), &resources)?;
    let verified = token_endpoint_proof(inner, proof, &authd.client, now).await?;
    let ctx = GrantContext {
        inner,
        params: &params,
        resources: &resources,
        authd: &authd,
        proof: verified.as_ref(),
        now,
    };
    match grant {
        GrantType::AuthorizationCode => authorization_code(&ctx).await,
        GrantType::RefreshToken => refresh_token(&ctx).await,
        GrantType::ClientCredentials => client_credentials(&ctx),
    }
}

/// A DPoP-bound code redeemed without a proof: refused before client
/// authentication, and the code is not spent (seed-catalog-2 §6).
async fn precheck_code_binding<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    params: &Params,
    now: UnixTime,
) -> Result<(), OAuthError> {
    let Some(code) = params.get("code") else {
        return Ok(());
    };
    let record = inner
        .stores
        .authorization_codes()
        .get(TokenHash::of(code), now)
        .await
        .map_err(|e| backend_error(&e))?;
    if record.is_some_and(|r| r.confirmation.jkt.is_some()) {
        return Err(OAuthError::invalid_request("DPoP proof required"));
    }
    Ok(())
}

struct GrantContext<'a, H: Host, S: Stores> {
    inner: &'a Inner<H, S>,
    params: &'a Params,
    resources: &'a [&'a str],
    authd: &'a Authenticated<<H as ClientRegistry>::Client>,
    proof: Option<&'a VerifiedProof>,
    now: UnixTime,
}

impl<H: Host, S: Stores> GrantContext<'_, H, S> {
    fn client_id(&self) -> &str {
        self.authd.client_id()
    }

    fn is_public(&self) -> bool {
        self.authd.auth.method == ClientAuthMethod::None || self.authd.client.is_public()
    }

    fn jkt(&self) -> Option<&str> {
        self.proof.map(|p| p.jkt.as_str())
    }

    fn refresh_ttl(&self) -> i64 {
        i64::try_from(self.inner.cfg.refresh_token_ttl.as_secs()).unwrap_or(i64::MAX)
    }

    /// Whether the first refresh token of a code grant is delivered.
    fn refresh_delivered(&self, scope: &[String]) -> bool {
        self.inner.cfg.has_grant(GrantType::RefreshToken)
            && self
                .authd
                .client
                .allows_grant(GrantType::RefreshToken.as_str())
            && scope.iter().any(|s| s == OFFLINE_ACCESS)
    }

    /// The key binding of a code or refresh token, checked against the proof.
    fn check_binding(&self, bound: &Confirmation) -> Result<(), OAuthError> {
        if bound.x5t_s256.is_some() {
            return Err(OAuthError::invalid_request("client certificate required"));
        }
        if let Some(expected) = &bound.jkt {
            match self.jkt() {
                None => return Err(OAuthError::invalid_dpop_proof("DPoP proof required")),
                Some(jkt) if !ct_eq(jkt.as_bytes(), expected.as_bytes()) => {
                    return Err(OAuthError::invalid_dpop_proof(
                        "the DPoP key does not match the key the grant is bound to",
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn new_refresh_token(&self) -> Result<(String, TokenHash), OAuthError> {
        let raw = self
            .inner
            .rng
            .token(REFRESH_TOKEN_BYTES)
            .map_err(|e| mint_failure("refresh token", &e))?;
        let hash = TokenHash::of(&raw);
        Ok((raw, hash))
    }

    /// Mint an access token for a resource owner of the grant.
    fn mint_user_token(
        &self,
        subject_id: &str,
        scope: &[String],
        audience: Vec<String>,
        authn: (Option<UnixTime>, Option<&str>, &[String]),
        family: &FamilyId,
    ) -> Result<IssuedAccessToken, OAuthError> {
        let subject = self
            .inner
            .cfg
            .user_kind
            .subject(subject_id)
            .map_err(|e| mint_failure("access token", &e))?;
        let mut req = AccessTokenRequest::new(&subject, self.client_id())
            .scope(scope.iter().map(String::as_str))
            .audience(audience)
            .amr(authn.2.iter().map(String::as_str))
            .claim(FAMILY_CLAIM, family.as_str());
        if let Some(t) = authn.0 {
            req = req.auth_time(t);
        }
        if let Some(acr) = authn.1 {
            req = req.acr(acr);
        }
        if let Some(jkt) = self.jkt() {
            req = req.dpop_jkt(jkt);
        }
        self.inner
            .access
            .mint(req)
            .map_err(|e| mint_failure("access token", &e))
    }

    /// The success response, with a fresh `DPoP-Nonce` when nonces are on.
    fn respond(
        &self,
        at: &IssuedAccessToken,
        refresh_token: Option<&str>,
        id_token: Option<&str>,
    ) -> Response {
        let body = TokenResponse {
            access_token: at.access_token.expose(),
            token_type: at.token_type.as_str(),
            expires_in: at.expires_in,
            scope: at.scope(),
            refresh_token,
            id_token,
        };
        let json = serde_json::to_string(&body).unwrap_or_default();
        let mut resp = no_store_json(StatusCode::OK, json);
        if self.proof.is_some()
            && let Some(nonce) = next_nonce(self.inner, self.now)
            && let Ok(v) = HeaderValue::from_str(&nonce)
        {
            resp.headers_mut().insert(DPOP_NONCE, v);
        }
        resp
    }

    /// `token_issued` (and `refresh_issued` / `refresh_rotated`, which carry
    /// the same sender-constraint audit fields).
    fn issued(
        &self,
        name: EventName,
        grant: GrantType,
        at: &IssuedAccessToken,
        subject: bool,
        metadata: Option<(&str, serde_json::Value)>,
    ) {
        if name == EventName::TokenIssued {
            tracing::info!(
                target: "attesto::token",
                client_id = self.client_id(),
                grant_type = grant.as_str(),
                token_type = at.token_type.as_str(),
                "token issued"
            );
        }
        let mut e = Event::new(name);
        if subject {
            e.subject = Some(at.claims.sub.clone());
        }
        e.client_id = Some(self.client_id().to_owned());
        e.scope = (!at.scope().is_empty()).then(|| at.scope().to_owned());
        e.grant_type = Some(grant.as_str().to_owned());
        e.token_type = Some(at.token_type.as_str());
        e.sender_constraint = Some(if self.proof.is_some() {
            SenderConstraint::Dpop
        } else {
            SenderConstraint::None
        });
        if let Some(jkt) = self.jkt() {
            e.metadata
                .insert("cnf".into(), serde_json::json!({ "jkt": jkt }));
        }
        if let Some((k, v)) = metadata {
            e.metadata.insert(k.to_owned(), v);
        }
        emit(self.inner, &e);
    }
}

async fn authorization_code<H: Host, S: Stores>(
    ctx: &GrantContext<'_, H, S>,
) -> Result<Response, OAuthError> {
    let inner = ctx.inner;
    let code = ctx
        .params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let code_hash = TokenHash::of(code);
    let codes = inner.stores.authorization_codes();
    let record = match codes
        .redeem(code_hash, ctx.now)
        .await
        .map_err(|e| backend_error(&e))?
    {
        CodeRedemption::Redeemed(r) => r,
        CodeRedemption::AlreadyRedeemed { issued } => {
            tracing::warn!(
                target: "attesto::token",
                client_id = ctx.client_id(),
                "authorization code replayed; revoking what it issued"
            );
            if let Some(family) = issued.and_then(|i| i.family_id) {
                inner
                    .stores
                    .refresh_tokens()
                    .revoke_family(family, ctx.now)
                    .await
                    .map_err(|e| backend_error(&e))?;
            }
            return Err(invalid_grant());
        }
        _ => return Err(invalid_grant()),
    };
    validate_code(ctx, &record)?;
    let audience = narrow_resources(&inner.cfg.default_resource, &record.resource, ctx.resources)?;
    let principal = if record.scope.iter().any(|s| s == "openid") {
        let found = inner
            .host
            .find_principal(&record.subject)
            .await
            .map_err(|e| backend_error(&e))?;
        Some(found.ok_or_else(|| {
            tracing::warn!(target: "attesto::token", "the resource owner of a code is no longer known");
            invalid_grant()
        })?)
    } else {
        None
    };

    let (refresh_raw, refresh_hash) = ctx.new_refresh_token()?;
    let family = FamilyId::new(refresh_hash.to_b64url());
    let at = ctx.mint_user_token(
        &record.subject,
        &record.scope,
        audience,
        (record.auth_time, record.acr.as_deref(), &record.amr),
        &family,
    )?;
    let refresh_expires = ctx.now.saturating_add(ctx.refresh_ttl());
    let grant = RefreshGrant {
        client_id: ctx.client_id().to_owned(),
        subject: record.subject.clone(),
        scope: record.scope.clone(),
        resource: record.resource.clone(),
        confirmation: match ctx.jkt() {
            Some(jkt) if ctx.is_public() => Confirmation::dpop(jkt),
            _ => Confirmation::none(),
        },
        auth_time: record.auth_time,
        acr: record.acr.clone(),
        amr: record.amr.clone(),
        sid: record.sid.clone(),
        claims: record.claims.clone(),
    };
    let refresh = inner.stores.refresh_tokens();
    refresh
        .issue_family(
            family.clone(),
            refresh_expires,
            NewRefreshToken {
                token_hash: refresh_hash,
                issued_at: ctx.now,
                expires_at: refresh_expires,
                grant,
            },
        )
        .await
        .map_err(|e| store_error(&e))?;
    codes
        .record_issued(
            code_hash,
            CodeIssuance {
                family_id: Some(family),
                access_token_jti: Some(at.jti().to_owned()),
                access_token_expires_at: Some(at.expires_at()),
            },
        )
        .await
        .map_err(|e| backend_error(&e))?;

    let id_token = match &principal {
        Some(p) => Some(mint_id_token(ctx, &record, p, &at)?),
        None => None,
    };
    let delivered = ctx.refresh_delivered(&record.scope);
    ctx.issued(
        EventName::TokenIssued,
        GrantType::AuthorizationCode,
        &at,
        true,
        None,
    );
    if delivered {
        ctx.issued(
            EventName::RefreshIssued,
            GrantType::AuthorizationCode,
            &at,
            true,
            None,
        );
    }
    Ok(ctx.respond(
        &at,
        delivered.then_some(refresh_raw.as_str()),
        id_token.as_deref(),
    ))
}

/// Checks of a redeemed code (the code stays spent when one fails).
fn validate_code<H: Host, S: Stores>(
    ctx: &GrantContext<'_, H, S>,
    record: &AuthorizationCodeRecord,
) -> Result<(), OAuthError> {
    if record.client_id != ctx.client_id() {
        tracing::warn!(target: "attesto::token", client_id = ctx.client_id(), "code redeemed by another client");
        return Err(invalid_grant());
    }
    // RFC 6749 §4.1.3: the redirect_uri must be repeated exactly when the
    // authorization request carried one; when it did not, a redirect_uri
    // sent now must at least be registered.
    let presented = ctx.params.get("redirect_uri");
    let redirect_ok = match (&record.redirect_uri, presented) {
        (Some(expected), Some(p)) => ct_eq(expected.as_bytes(), p.as_bytes()),
        (Some(_), None) => false,
        (None, Some(p)) => ctx.authd.client.has_redirect_uri(p),
        (None, None) => true,
    };
    if !redirect_ok {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    let challenge = match &record.code_challenge {
        Some(c) => Some(CodeChallenge::parse(c).map_err(|_| invalid_grant())?),
        None if ctx.is_public() => {
            // Public clients always need PKCE; a record without a challenge
            // cannot be redeemed by one (fail closed).
            return Err(OAuthError::invalid_grant("PKCE verification failed"));
        }
        None => None,
    };
    let bound = challenge.map(Pkce::s256);
    verify_redemption(bound.as_ref(), ctx.params.get("code_verifier")).map_err(OAuthError::from)?;
    ctx.check_binding(&record.confirmation)
}

fn mint_id_token<H: Host, S: Stores>(
    ctx: &GrantContext<'_, H, S>,
    record: &AuthorizationCodeRecord,
    principal: &<H as PrincipalStore>::Principal,
    at: &IssuedAccessToken,
) -> Result<String, OAuthError> {
    let subject = ctx
        .inner
        .cfg
        .user_kind
        .subject(&record.subject)
        .map_err(|e| mint_failure("ID token", &e))?;
    let scopes: Vec<&str> = record.scope.iter().map(String::as_str).collect();
    let claims = released_claims(principal, &scopes);
    let mut req = IdTokenRequest::for_subject(&subject, ctx.client_id())
        .amr(record.amr.iter().map(String::as_str))
        .access_token(at.access_token.expose())
        .host_claims(claims);
    if let Some(n) = &record.nonce {
        req = req.nonce(n);
    }
    if let Some(t) = record.auth_time {
        req = req.auth_time(t);
    }
    if let Some(acr) = &record.acr {
        req = req.acr(acr);
    }
    if let Some(sid) = &record.sid {
        req = req.sid(sid);
    }
    // The client's registered `id_token_signed_response_alg`, if the server
    // (still) offers it; otherwise refuse rather than sign with an algorithm
    // the client did not register (fail closed).
    if let Some(alg) = ctx.authd.client.id_token_signed_response_alg() {
        if !ctx.inner.cfg.id_token_algs().contains(&alg) {
            return Err(mint_failure(
                "ID token",
                &format_args!(
                    "the client's id_token_signed_response_alg {} is not offered",
                    alg.as_str()
                ),
            ));
        }
        req = req.signing_alg(alg);
    }
    let Some(issuer) = ctx.inner.token_ep.id_tokens.as_ref() else {
        return Err(mint_failure(
            "ID token",
            &"no ID-token issuer is configured",
        ));
    };
    issuer
        .mint(req)
        .map(|t| t.id_token)
        .map_err(|e| mint_failure("ID token", &e))
}

async fn refresh_token<H: Host, S: Stores>(
    ctx: &GrantContext<'_, H, S>,
) -> Result<Response, OAuthError> {
    let inner = ctx.inner;
    let presented = ctx
        .params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let presented_hash = TokenHash::of(presented);
    let store = inner.stores.refresh_tokens();
    // Validate client and binding on a non-consuming read first, so a
    // recoverable failure does not burn the token.
    let record = match store
        .get(presented_hash, ctx.now)
        .await
        .map_err(|e| backend_error(&e))?
    {
        RefreshLookup::Active(r) | RefreshLookup::Rotated(r) => r,
        _ => return Err(invalid_grant()),
    };
    if record.grant.client_id != ctx.client_id() {
        tracing::warn!(target: "attesto::token", client_id = ctx.client_id(), "refresh token presented by another client");
        return Err(invalid_grant());
    }
    ctx.check_binding(&record.grant.confirmation)?;
    let granted = ScopeSet::from_tokens(&record.grant.scope).map_err(|_| invalid_grant())?;
    let requested = ScopeSet::from_param(ctx.params.get("scope")).map_err(OAuthError::from)?;
    // Only narrow (RFC 6749 §6): the request must stay within the original
    // grant; the host's policy may narrow further (a client whose allowed
    // scopes shrank), never widen.
    let narrowed = narrow(&requested, &granted).map_err(OAuthError::from)?;
    let narrowed: Vec<&str> = narrowed.as_strs().collect();
    let scope = super::decide_scope(
        &inner.host,
        &inner.token_ep.scopes,
        &ctx.authd.client,
        &narrowed,
    )?;
    let audience = narrow_resources(
        &inner.cfg.default_resource,
        &record.grant.resource,
        ctx.resources,
    )?;

    let (successor_raw, successor_hash) = ctx.new_refresh_token()?;
    let sealed = inner
        .token_ep
        .seal
        .seal(&successor_raw, &presented_hash, inner.rng.as_ref());
    if sealed.is_none() {
        tracing::error!(target: "attesto::token", "sealing the successor refresh token failed; no grace-window retry for it");
    }
    let refresh_expires = ctx.now.saturating_add(ctx.refresh_ttl());
    let grace = u32::try_from(inner.cfg.refresh_grace.as_secs()).unwrap_or(u32::MAX);
    let outcome = store
        .rotate(
            presented_hash,
            NewRefreshToken {
                token_hash: successor_hash,
                issued_at: ctx.now,
                expires_at: refresh_expires,
                grant: record.grant.clone(),
            },
            sealed,
            ctx.now,
            grace,
        )
        .await
        .map_err(|e| store_error(&e))?;
    let (token, family, retry) = match outcome {
        RotationOutcome::Rotated { successor, .. } => (successor_raw, successor.family_id, false),
        RotationOutcome::Retry {
            parent,
            successor,
            sealed,
        } => {
            if parent.grant.client_id != ctx.client_id() {
                return Err(invalid_grant());
            }
            let Some(token) = inner.token_ep.seal.unseal(&sealed, &presented_hash) else {
                tracing::error!(target: "attesto::token", "a sealed successor refresh token could not be opened");
                return Err(invalid_grant());
            };
            (token, successor.family_id, true)
        }
        RotationOutcome::ReuseDetected { presented } => {
            tracing::warn!(
                target: "attesto::token",
                client_id = ctx.client_id(),
                family = presented.family_id.as_str(),
                "refresh token reuse detected; family revoked"
            );
            let mut e = Event::new(EventName::RefreshReuseDetected);
            e.client_id = Some(ctx.client_id().to_owned());
            e.grant_type = Some(GrantType::RefreshToken.as_str().to_owned());
            e.result = Some("invalid_grant");
            emit(inner, &e);
            return Err(invalid_grant());
        }
        _ => return Err(invalid_grant()),
    };
    let grant = &record.grant;
    let at = ctx.mint_user_token(
        &grant.subject,
        &scope,
        audience,
        (grant.auth_time, grant.acr.as_deref(), &grant.amr),
        &family,
    )?;
    ctx.issued(
        EventName::TokenIssued,
        GrantType::RefreshToken,
        &at,
        true,
        None,
    );
    ctx.issued(
        EventName::RefreshRotated,
        GrantType::RefreshToken,
        &at,
        true,
        retry.then_some(("grace_retry", serde_json::Value::Bool(true))),
    );
    Ok(ctx.respond(&at, Some(&token), None))
}

fn client_credentials<H: Host, S: Stores>(
    ctx: &GrantContext<'_, H, S>,
) -> Result<Response, OAuthError> {
    let inner = ctx.inner;
    if ctx.is_public() {
        return Err(OAuthError::unauthorized_client(
            "public clients cannot use the client_credentials grant",
        ));
    }
    let requested = ScopeSet::from_param(ctx.params.get("scope")).map_err(OAuthError::from)?;
    let requested: Vec<&str> = requested.as_strs().collect();
    let scope = super::decide_scope(
        &inner.host,
        &inner.token_ep.scopes,
        &ctx.authd.client,
        &requested,
    )?;
    let subject = inner
        .cfg
        .client_kind
        .subject(ctx.client_id())
        .map_err(|e| mint_failure("access token", &e))?;
    let mut req = AccessTokenRequest::new(&subject, ctx.client_id())
        .scope(scope)
        .audience(ctx.resources.iter().copied());
    if let Some(jkt) = ctx.jkt() {
        req = req.dpop_jkt(jkt);
    }
    let at = inner
        .access
        .mint(req)
        .map_err(|e| mint_failure("access token", &e))?;
    ctx.issued(
        EventName::TokenIssued,
        GrantType::ClientCredentials,
        &at,
        false,
        None,
    );
    Ok(ctx.respond(&at, None, None))
}

/// A JWT-shaped token (three dot-separated parts), as opposed to an opaque
/// refresh token.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

/// Verify one of this server's access tokens, whatever its audience:
/// signature against this server's keys, `typ`, issuer, lifetime and
/// subject kind. (Introspection and revocation are not resource servers: a
/// token minted for any resource is still ours.)
pub(crate) fn verify_own_access_token<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    token: &str,
) -> Option<crate::token::AccessTokenClaims> {
    let audiences = unverified_audiences(token)?;
    let mut builder = crate::token::AccessTokenVerifier::builder(
        inner.cfg.issuer.clone(),
        crate::token::TrustedKeys::keystore(Arc::clone(&inner.keys)),
    )
    .principal_kinds([inner.cfg.user_kind.clone(), inner.cfg.client_kind.clone()])
    .clock(Arc::clone(&inner.clock));
    for a in audiences {
        builder = builder.audience(a);
    }
    let verifier = builder.build().ok()?;
    verifier.verify(token).ok()
}

/// The `aud` values of a token's (unverified) payload.
fn unverified_audiences(token: &str) -> Option<Vec<String>> {
    let payload = token.split('.').nth(1)?;
    let bytes = crate::jose::b64_decode(payload).ok()?;
    let claims = crate::jose::parse_json_object(&bytes).ok()?;
    match claims.get("aud")? {
        serde_json::Value::String(s) if !s.is_empty() => Some(vec![s.clone()]),
        serde_json::Value::Array(items) => {
            let out: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                .collect();
            (!out.is_empty() && out.len() == items.len()).then_some(out)
        }
        _ => None,
    }
}

/// The refresh family an access token was minted in (its `fid` claim), as
/// the store key of the family's first token.
pub(crate) fn family_of(claims: &crate::token::AccessTokenClaims) -> Option<TokenHash> {
    claims
        .extra
        .get(FAMILY_CLAIM)
        .and_then(serde_json::Value::as_str)
        .and_then(|f| TokenHash::from_b64url(f).ok())
}

/// Whether the family (grant) of an access token still stands. Tokens
/// without a family (client_credentials) always do.
pub(crate) async fn family_alive<H: Host, S: Stores>(
    inner: &Inner<H, S>,
    claims: &crate::token::AccessTokenClaims,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let Some(first) = family_of(claims) else {
        return Ok(!claims.extra.contains_key(FAMILY_CLAIM));
    };
    Ok(!matches!(
        inner.stores.refresh_tokens().get(first, now).await?,
        RefreshLookup::Revoked(_) | RefreshLookup::NotFound
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::OsRandom;

    #[test]
    fn sealed_successor_opens_only_for_its_parent() {
        let seal = SuccessorSeal::new(&[7u8; 32]);
        let parent = TokenHash::of("parent");
        let sealed = seal.seal("successor-token", &parent, &OsRandom).unwrap();
        assert!(!sealed.as_bytes().windows(9).any(|w| w == b"successor"));
        assert_eq!(
            seal.unseal(&sealed, &parent).as_deref(),
            Some("successor-token")
        );
        assert_eq!(seal.unseal(&sealed, &TokenHash::of("other")), None);
        let other_key = SuccessorSeal::new(&[8u8; 32]);
        assert_eq!(other_key.unseal(&sealed, &parent), None);
        let mut tampered = sealed.as_bytes().to_vec();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(seal.unseal(&SealedSuccessor::new(tampered), &parent), None);
        assert_eq!(
            seal.unseal(&SealedSuccessor::new(vec![1, 2]), &parent),
            None
        );
        assert_eq!(
            seal.unseal(&SealedSuccessor::new(Vec::new()), &parent),
            None
        );
    }

    #[test]
    fn resources_narrow_to_the_grant() {
        let d = "https://api.example";
        assert_eq!(narrow_resources(d, &[], &[]).unwrap(), Vec::<String>::new());
        assert_eq!(narrow_resources(d, &[], &[d]).unwrap(), vec![d.to_owned()]);
        assert!(narrow_resources(d, &[], &["https://other.example"]).is_err());
        let granted = vec![
            "https://a.example".to_owned(),
            "https://b.example".to_owned(),
        ];
        assert_eq!(
            narrow_resources(d, &granted, &["https://b.example"]).unwrap(),
            vec!["https://b.example".to_owned()]
        );
        assert_eq!(narrow_resources(d, &granted, &[]).unwrap(), granted);
        assert!(narrow_resources(d, &granted, &[d]).is_err());
    }

    #[test]
    fn jwt_shape_is_three_parts() {
        assert!(looks_like_jwt("a.b.c"));
        assert!(!looks_like_jwt("opaque_refresh_token"));
        assert!(!looks_like_jwt("a.b.c.d"));
    }
}
