//! Authorization codes ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2)).

use std::future::Future;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::{
    Confirmation, FamilyId, StoreError, TokenHash, require, require_lifetime, require_tokens,
};
use crate::clock::UnixTime;

/// Everything the token endpoint needs to redeem an authorization code, keyed
/// by the hash of the code.
///
/// Built by the authorization endpoint when it issues a code; consumed exactly
/// once by [`AuthorizationCodeStore::redeem`]. The raw code is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCodeRecord {
    /// SHA-256 of the code sent to the client (the lookup key).
    pub code_hash: TokenHash,
    /// The client the code was issued to; it must be redeemed by the same
    /// client ([RFC 6749 §4.1.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3)).
    pub client_id: String,
    /// The `redirect_uri` parameter of the authorization request, if it carried
    /// one. When present, the token request must repeat it exactly
    /// ([RFC 6749 §4.1.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3)).
    pub redirect_uri: Option<String>,
    /// Granted scope tokens ([RFC 6749 §3.3](https://www.rfc-editor.org/rfc/rfc6749#section-3.3)).
    pub scope: Vec<String>,
    /// The PKCE `code_challenge`. attesto supports only the `S256` method, so
    /// the method is implied and `plain` cannot be represented
    /// ([RFC 7636 §4.2](https://www.rfc-editor.org/rfc/rfc7636#section-4.2)).
    /// `None` only for a confidential client the host exempted from PKCE.
    pub code_challenge: Option<String>,
    /// The OpenID Connect `nonce`, carried into the ID token
    /// ([OIDC Core §3.1.2.1](https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest)).
    pub nonce: Option<String>,
    /// The resource owner's subject identifier.
    pub subject: String,
    /// When the resource owner authenticated (OIDC `auth_time`).
    pub auth_time: Option<UnixTime>,
    /// The authentication context class reference (OIDC `acr`,
    /// [RFC 9470](https://www.rfc-editor.org/rfc/rfc9470)).
    pub acr: Option<String>,
    /// Authentication methods references (OIDC `amr`,
    /// [RFC 8176](https://www.rfc-editor.org/rfc/rfc8176)).
    pub amr: Vec<String>,
    /// The host's session id (OIDC `sid`), for back-channel logout.
    pub sid: Option<String>,
    /// Resource indicators bound to the code
    /// ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
    pub resource: Vec<String>,
    /// Holder-of-key binding requested at the authorization endpoint
    /// (`dpop_jkt`, [RFC 9449 §10](https://www.rfc-editor.org/rfc/rfc9449#section-10)).
    pub confirmation: Confirmation,
    /// The OIDC `claims` request parameter
    /// ([OIDC Core §5.5](https://openid.net/specs/openid-connect-core-1_0.html#ClaimsParameter)),
    /// or other opaque request context.
    pub claims: Option<serde_json::Value>,
    /// When the code was issued.
    pub issued_at: UnixTime,
    /// Absolute expiry; RFC 6749 §4.1.2 recommends at most 10 minutes.
    pub expires_at: UnixTime,
}

impl AuthorizationCodeRecord {
    /// Check the record before it is written. Every store calls this in
    /// [`AuthorizationCodeStore::insert`].
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty `client_id`, `subject`,
    /// `redirect_uri`, scope or resource entry; a `code_challenge` that is not an
    /// `S256` challenge (43 base64url characters); or `expires_at <= issued_at`.
    pub fn validate(&self) -> Result<(), StoreError> {
        require(!self.client_id.is_empty(), "code: empty client_id")?;
        require(!self.subject.is_empty(), "code: empty subject")?;
        require(
            self.redirect_uri.as_deref().is_none_or(|u| !u.is_empty()),
            "code: empty redirect_uri",
        )?;
        require_tokens(&self.scope, "code: empty scope token")?;
        require_tokens(&self.resource, "code: empty resource")?;
        require_tokens(&self.amr, "code: empty amr value")?;
        require(
            self.code_challenge.as_deref().is_none_or(is_s256_challenge),
            "code: code_challenge is not an S256 challenge",
        )?;
        self.confirmation.validate()?;
        require_lifetime(self.issued_at, self.expires_at)
    }
}

/// An `S256` challenge is base64url(SHA-256(verifier)): 43 characters of the
/// base64url alphabet ([RFC 7636 §4.2](https://www.rfc-editor.org/rfc/rfc7636#section-4.2)).
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What was issued from a successfully redeemed code, recorded by
/// [`AuthorizationCodeStore::record_issued`] so that a replay of the code can
/// revoke it ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2):
/// "SHOULD revoke (when possible) all tokens previously issued based on that
/// authorization code").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeIssuance {
    /// The refresh-token family minted from the code, if any.
    pub family_id: Option<FamilyId>,
    /// The `jti` of the access token minted from the code, if the server tracks it.
    pub access_token_jti: Option<String>,
    /// That access token's expiry.
    pub access_token_expires_at: Option<UnixTime>,
}

/// The result of [`AuthorizationCodeStore::redeem`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // returned once per request; boxing would only add an allocation
pub enum CodeRedemption {
    /// This caller won: the code was live and is now spent. The server validates
    /// client, redirect URI, PKCE and binding against the record; the code stays
    /// spent even if that validation fails (no second attempt with a captured
    /// code).
    Redeemed(AuthorizationCodeRecord),
    /// The code had already been redeemed (by a concurrent or earlier request).
    /// `issued` is what the first redemption recorded through
    /// [`record_issued`](AuthorizationCodeStore::record_issued): `Some` means
    /// tokens were issued and the server should revoke them; `None` means the
    /// first redemption failed validation or has not recorded yet. Either way
    /// the request is denied.
    AlreadyRedeemed {
        /// What the first successful redemption issued, if it recorded it.
        issued: Option<CodeIssuance>,
    },
    /// The code exists, was never redeemed, and is past its expiry. Not consumed
    /// (nothing left to protect); the request is denied.
    Expired,
    /// No such code (never issued, mistyped, or swept).
    NotFound,
}

/// Storage of single-use authorization codes.
///
/// # Atomic contract
///
/// * [`redeem`](Self::redeem) is **one atomic compare-and-set**: it checks that
///   the code exists, is unredeemed and is live at `now`, and marks it redeemed,
///   in a single operation (SQL: `UPDATE … SET redeemed_at = $now WHERE
///   code_hash = $1 AND redeemed_at IS NULL AND expires_at > $now RETURNING …`).
///   Of any number of concurrent callers, on any number of nodes, **exactly one**
///   receives [`CodeRedemption::Redeemed`]; every other caller receives
///   `AlreadyRedeemed`. A read-only follow-up after a lost race (to tell
///   `AlreadyRedeemed` from `Expired`/`NotFound`) is allowed because it decides
///   nothing.
/// * The redeemed row is **kept** (until swept) so a replay is recognised as
///   `AlreadyRedeemed` instead of an unknown code. A redeemed code reports
///   `AlreadyRedeemed` even after its expiry, for as long as the row exists, so
///   the server can still revoke what it issued.
/// * [`record_issued`](Self::record_issued) links a redemption to what it
///   issued. It applies only to a redeemed code that has no issuance recorded
///   yet (SQL: `UPDATE … WHERE code_hash = $1 AND redeemed_at IS NOT NULL AND
///   issued IS NULL`), so the first recording wins and is never overwritten.
/// * [`insert`](Self::insert) never overwrites: an existing hash is
///   [`StoreError::Duplicate`] and the stored row is unchanged.
pub trait AuthorizationCodeStore: Send + Sync + 'static {
    /// Store a freshly issued code.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if [`AuthorizationCodeRecord::validate`] fails,
    /// [`StoreError::Duplicate`] if the hash exists, or a backend error.
    fn insert(
        &self,
        record: AuthorizationCodeRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Non-consuming read of a live, unredeemed code: for read-only pre-checks
    /// (e.g. a DPoP requirement) that must not spend the code. `None` if the
    /// code is unknown, redeemed or expired at `now`.
    ///
    /// # Errors
    /// Backend errors only.
    fn get(
        &self,
        code_hash: TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<AuthorizationCodeRecord>, StoreError>> + Send;

    /// Atomically redeem the code; see the trait's atomic contract.
    ///
    /// # Errors
    /// Backend errors only; protocol outcomes are [`CodeRedemption`] values.
    fn redeem(
        &self,
        code_hash: TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<CodeRedemption, StoreError>> + Send;

    /// Record what was issued from a redeemed code. Returns `true` if recorded,
    /// `false` if there is no redeemed code with that hash awaiting a record
    /// (unknown, never redeemed, or already recorded — the first record stays).
    ///
    /// # Errors
    /// Backend errors only.
    fn record_issued(
        &self,
        code_hash: TokenHash,
        issuance: CodeIssuance,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Delete at most `batch` codes with `expires_at < now`; returns how many
    /// were deleted. Redeemed rows go too, ending replay detection for them.
    ///
    /// # Errors
    /// Backend errors only.
    fn sweep_expired(
        &self,
        now: UnixTime,
        batch: NonZeroU32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
