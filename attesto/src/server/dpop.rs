//! DPoP at the token endpoint ([RFC 9449 §5](https://www.rfc-editor.org/rfc/rfc9449#section-5)).
//!
//! * exactly one `DPoP` header ([`single_proof_header`]; two are
//!   `invalid_dpop_proof`, anti header smuggling);
//! * `htu` is the canonical token-endpoint URL built from the issuer
//!   (`ServerConfig::url`), never from the `Host` header, and `htm` is `POST`;
//! * with nonces required, a proof without a valid server nonce is answered
//!   `use_dpop_nonce` (400) with a fresh `DPoP-Nonce` header
//!   ([RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8));
//! * the proof's `jti` is recorded in the shared replay store;
//! * the sender constraint follows seed-catalog-2 §6: a client that requires
//!   DPoP and sends no proof gets `invalid_dpop_proof` "DPoP proof
//!   required", never a Bearer token; a client that requires certificate
//!   binding is refused (this server has no client-certificate source yet,
//!   so it fails closed rather than issue an unbound token).

// `OAuthError` is the one error value of every endpoint step and is rendered
// once per request; boxing it would only add an allocation on every error.
#![allow(clippy::result_large_err)]

use axum::http::HeaderMap;

use super::client::backend_error;
use super::{Host, Inner, NoncePolicy};
use crate::clock::UnixTime;
use crate::dpop::{DpopContext, DpopError, VerifiedProof, single_proof_header};
use crate::error::OAuthError;
use crate::host::{OAuthClient, SenderConstraint};
use crate::store::Stores;

/// The `DPoP` request header.
pub(crate) const DPOP_HEADER: &str = "dpop";

/// The proof a request carries, before verification.
pub(crate) fn presented_proof(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut values = Vec::with_capacity(1);
    for v in headers.get_all(DPOP_HEADER) {
        values.push(
            v.to_str()
                .map_err(|_| OAuthError::invalid_dpop_proof("malformed DPoP proof"))?,
        );
    }
    single_proof_header(&values).map_err(|e| dpop_error(&e))
}

/// The OAuth error for a refused proof.
pub(crate) fn dpop_error(e: &DpopError) -> OAuthError {
    if let Some(nonce) = e.fresh_nonce() {
        return OAuthError::use_dpop_nonce(nonce);
    }
    match e {
        DpopError::ReplayGuard(cause) | DpopError::NonceSource(cause) => {
            backend_error(cause.as_ref())
        }
        DpopError::RequestUri(cause) => {
            tracing::error!(target: "attesto::dpop", error = %cause, "the token endpoint URL is not a valid htu");
            OAuthError::server_error("DPoP verification is misconfigured")
        }
        other => {
            tracing::info!(target: "attesto::dpop", reason = %other, "DPoP proof refused");
            OAuthError::invalid_dpop_proof(&other.to_string())
        }
    }
}

/// Verify the proof (if any) of a token request, and apply the client's
/// sender-constraint requirement. `Ok(None)`: an unbound (Bearer) issuance.
pub(crate) async fn token_endpoint_proof<H: Host, S: Stores, C: OAuthClient>(
    inner: &Inner<H, S>,
    proof: Option<&str>,
    client: &C,
    now: UnixTime,
) -> Result<Option<VerifiedProof>, OAuthError> {
    if client.requires_dpop() && (proof.is_none() || !inner.cfg.dpop.enabled) {
        return Err(OAuthError::invalid_dpop_proof("DPoP proof required"));
    }
    if client.requires_mtls() {
        return Err(OAuthError::invalid_request("client certificate required"));
    }
    let Some(proof) = proof else { return Ok(None) };
    if !inner.cfg.dpop.enabled {
        // RFC 9449 §5: a server that does not offer DPoP ignores the header.
        return Ok(None);
    }
    let ctx = DpopContext::new("POST", &inner.token_ep.token_url, now);
    inner
        .dpop
        .verify(proof, &ctx, &inner.nonces, &inner.replay)
        .await
        .map(Some)
        .map_err(|e| dpop_error(&e))
}

/// A fresh `DPoP-Nonce` for a successful DPoP response when nonces are on
/// (RFC 9449 §8.2: the server may supply the next nonce with any response).
pub(crate) fn next_nonce<H: Host, S: Stores>(inner: &Inner<H, S>, now: UnixTime) -> Option<String> {
    if inner.cfg.dpop.nonce != NoncePolicy::Required {
        return None;
    }
    inner.nonces.issue(now).ok()
}

/// How the request attempted to bind the token (for audit events, before
/// anything is verified).
pub(crate) fn attempted_constraint(proof: Option<&str>) -> (&'static str, SenderConstraint) {
    if proof.is_some() {
        ("DPoP", SenderConstraint::Dpop)
    } else {
        ("Bearer", SenderConstraint::None)
    }
}
