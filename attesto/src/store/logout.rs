//! Back-channel logout targets
//! ([OIDC Back-Channel Logout 1.0](https://openid.net/specs/openid-connect-backchannel-1_0.html)).

use std::future::Future;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::{StoreError, require, require_lifetime};
use crate::clock::UnixTime;

/// One (session, relying party) delivery target, recorded when an ID token is
/// minted for the session and taken when the session ends.
///
/// This is the OP's delivery map, not the browser login session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutSession {
    /// The host's session id (the ID token's `sid`).
    pub sid: String,
    /// The relying party.
    pub client_id: String,
    /// The session's subject.
    pub subject: String,
    /// Where to POST the `logout_token`.
    pub backchannel_logout_uri: String,
    /// Whether the RP requires `sid` in the `logout_token`
    /// (`backchannel_logout_session_required`).
    pub session_required: bool,
    /// When the target was (last) recorded.
    pub recorded_at: UnixTime,
    /// Bounds an abandoned session.
    pub expires_at: UnixTime,
}

impl LogoutSession {
    /// Check the record before it is written; stores call this.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty field or `expires_at <= recorded_at`.
    pub fn validate(&self) -> Result<(), StoreError> {
        require(!self.sid.is_empty(), "logout: empty sid")?;
        require(!self.client_id.is_empty(), "logout: empty client_id")?;
        require(!self.subject.is_empty(), "logout: empty subject")?;
        require(
            !self.backchannel_logout_uri.is_empty(),
            "logout: empty backchannel_logout_uri",
        )?;
        require_lifetime(self.recorded_at, self.expires_at)
    }
}

/// Storage of back-channel logout targets.
///
/// # Atomic contract
///
/// * [`record`](Self::record) **upserts** on `(sid, client_id)`: re-issuing an
///   ID token for a session the RP already holds replaces that row (URI,
///   expiry), never duplicates it (SQL: `INSERT … ON CONFLICT (sid, client_id)
///   DO UPDATE`).
/// * [`take_session`](Self::take_session) and [`take_subject`](Self::take_subject)
///   are **one atomic delete-returning** of the live rows (SQL: `DELETE … WHERE
///   sid = $1 AND expires_at > $now RETURNING …`). Concurrent logouts of the
///   same session partition the rows between them: each target is returned to
///   **at most one** caller, so no RP receives two logout tokens. Expired rows
///   are never returned (they are left to the sweeper).
pub trait LogoutSessionStore: Send + Sync + 'static {
    /// Record (or refresh) a delivery target.
    ///
    /// # Errors
    /// [`StoreError::Invalid`], or a backend error.
    fn record(&self, session: LogoutSession)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically remove and return the live targets of one session, in no
    /// particular order.
    ///
    /// # Errors
    /// Backend errors only.
    fn take_session(
        &self,
        sid: &str,
        now: UnixTime,
    ) -> impl Future<Output = Result<Vec<LogoutSession>, StoreError>> + Send;

    /// Atomically remove and return the live targets of every session of a
    /// subject, in no particular order.
    ///
    /// # Errors
    /// Backend errors only.
    fn take_subject(
        &self,
        subject: &str,
        now: UnixTime,
    ) -> impl Future<Output = Result<Vec<LogoutSession>, StoreError>> + Send;

    /// Delete at most `batch` targets with `expires_at < now`; returns how many
    /// were deleted.
    ///
    /// # Errors
    /// Backend errors only.
    fn sweep_expired(
        &self,
        now: UnixTime,
        batch: NonZeroU32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
