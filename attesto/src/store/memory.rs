//! In-memory store implementations, for tests and single-node deployments.
//!
//! Each store keeps its rows in a [`std::sync::Mutex`]-guarded map and performs
//! every check-and-update of a method under **one** lock acquisition, which is
//! what makes single use hold between concurrent requests of one process. No
//! lock is ever held across an `.await` (the methods never await).
//!
//! These stores are **per process**. Behind a load balancer a per-node store is
//! a silently broken security boundary: a captured code, nonce or DPoP proof
//! could be used once per node. Clustered deployments use shared stores
//! (`attesto-sqlx` on PostgreSQL). State is lost on restart.
//!
//! [`MemoryStores`] bundles one of each; clones share the same state.
//!
//! A poisoned lock (a panic while it was held, which the stores themselves
//! never cause) makes every later call fail with
//! [`StoreError::Unavailable`] rather than serve possibly torn state.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};

use super::device::SLOW_DOWN_STEP_SECONDS;
use super::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CachedClientMetadata, ClientMetadataCache,
    CodeIssuance, CodeRedemption, ConsentGrantRecord, ConsentGrantStore, ConsentOutcome,
    DeviceApproval, DeviceCodeRecord, DeviceCodeStatus, DeviceCodeStore, DeviceDecision,
    DevicePoll, DeviceRedemption, DpopNonceRecord, DpopNonceStore, FamilyId, LogoutSession,
    LogoutSessionStore, NewRefreshToken, NonceOutcome, ParOutcome, ParStore, PushedRequest,
    RefreshLookup, RefreshTokenRecord, RefreshTokenStore, ReplayNamespace, ReplayOutcome,
    ReplayStore, RotationOutcome, SealedSuccessor, StoreError, TokenHash, is_live, is_sweepable,
    validate_replay_window,
};
use crate::clock::UnixTime;

/// A lock of an in-memory store was poisoned by a panic in another thread.
#[derive(Debug, thiserror::Error)]
#[error("an in-memory store lock was poisoned")]
struct PoisonedLock;

fn lock<T>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>, StoreError> {
    mutex
        .lock()
        .map_err(|_| StoreError::unavailable(PoisonedLock))
}

fn batch_len(batch: NonZeroU32) -> usize {
    usize::try_from(batch.get()).unwrap_or(usize::MAX)
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Remove at most `batch` entries whose expiry is `< now`.
fn sweep_map<K: Clone + Eq + Hash, V>(
    map: &mut HashMap<K, V>,
    now: UnixTime,
    batch: NonZeroU32,
    expires_at: impl Fn(&V) -> UnixTime,
) -> Vec<(K, V)> {
    let keys: Vec<K> = map
        .iter()
        .filter(|(_, v)| is_sweepable(expires_at(v), now))
        .map(|(k, _)| k.clone())
        .take(batch_len(batch))
        .collect();
    keys.into_iter()
        .filter_map(|k| map.remove(&k).map(|v| (k, v)))
        .collect()
}

macro_rules! opaque_debug {
    ($($ty:ident),* $(,)?) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).finish_non_exhaustive()
            }
        }
    )*};
}

opaque_debug!(
    MemoryAuthorizationCodeStore,
    MemoryRefreshTokenStore,
    MemoryParStore,
    MemoryDpopNonceStore,
    MemoryReplayStore,
    MemoryDeviceCodeStore,
    MemoryConsentGrantStore,
    MemoryLogoutSessionStore,
    MemoryClientMetadataCache,
);

/// One in-memory store of each kind. Clones share state (the stores are
/// behind [`Arc`]s), so two clones behave like two nodes over one database.
///
/// ```
/// use attesto::store::memory::MemoryStores;
/// let node_a = MemoryStores::new();
/// let node_b = node_a.clone();
/// assert!(std::sync::Arc::ptr_eq(&node_a.replay, &node_b.replay));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MemoryStores {
    /// Authorization codes.
    pub authorization_codes: Arc<MemoryAuthorizationCodeStore>,
    /// Refresh-token families.
    pub refresh_tokens: Arc<MemoryRefreshTokenStore>,
    /// Pushed authorization requests.
    pub par: Arc<MemoryParStore>,
    /// DPoP nonces.
    pub dpop_nonces: Arc<MemoryDpopNonceStore>,
    /// `jti` replay records.
    pub replay: Arc<MemoryReplayStore>,
    /// Device authorizations.
    pub device_codes: Arc<MemoryDeviceCodeStore>,
    /// Consent grants.
    pub consent_grants: Arc<MemoryConsentGrantStore>,
    /// Back-channel logout targets.
    pub logout_sessions: Arc<MemoryLogoutSessionStore>,
    /// Client ID Metadata Document cache.
    pub client_metadata: Arc<MemoryClientMetadataCache>,
}

impl MemoryStores {
    /// Empty stores.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

// ---------------------------------------------------------------------------
// Authorization codes

struct CodeRow {
    record: AuthorizationCodeRecord,
    redeemed_at: Option<UnixTime>,
    issued: Option<CodeIssuance>,
}

/// In-memory [`AuthorizationCodeStore`] (single node).
#[derive(Default)]
pub struct MemoryAuthorizationCodeStore {
    rows: Mutex<HashMap<TokenHash, CodeRow>>,
}

impl MemoryAuthorizationCodeStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl AuthorizationCodeStore for MemoryAuthorizationCodeStore {
    async fn insert(&self, record: AuthorizationCodeRecord) -> Result<(), StoreError> {
        record.validate()?;
        let mut rows = lock(&self.rows)?;
        if rows.contains_key(&record.code_hash) {
            return Err(StoreError::Duplicate);
        }
        rows.insert(
            record.code_hash,
            CodeRow {
                record,
                redeemed_at: None,
                issued: None,
            },
        );
        Ok(())
    }

    async fn get(
        &self,
        code_hash: TokenHash,
        now: UnixTime,
    ) -> Result<Option<AuthorizationCodeRecord>, StoreError> {
        let rows = lock(&self.rows)?;
        Ok(rows
            .get(&code_hash)
            .filter(|row| row.redeemed_at.is_none() && is_live(row.record.expires_at, now))
            .map(|row| row.record.clone()))
    }

    async fn redeem(
        &self,
        code_hash: TokenHash,
        now: UnixTime,
    ) -> Result<CodeRedemption, StoreError> {
        let mut rows = lock(&self.rows)?;
        let Some(row) = rows.get_mut(&code_hash) else {
            return Ok(CodeRedemption::NotFound);
        };
        if row.redeemed_at.is_some() {
            return Ok(CodeRedemption::AlreadyRedeemed {
                issued: row.issued.clone(),
            });
        }
        if !is_live(row.record.expires_at, now) {
            return Ok(CodeRedemption::Expired);
        }
        row.redeemed_at = Some(now);
        Ok(CodeRedemption::Redeemed(row.record.clone()))
    }

    async fn record_issued(
        &self,
        code_hash: TokenHash,
        issuance: CodeIssuance,
    ) -> Result<bool, StoreError> {
        let mut rows = lock(&self.rows)?;
        match rows.get_mut(&code_hash) {
            Some(row) if row.redeemed_at.is_some() && row.issued.is_none() => {
                row.issued = Some(issuance);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn sweep_expired(&self, now: UnixTime, batch: NonZeroU32) -> Result<u64, StoreError> {
        let mut rows = lock(&self.rows)?;
        Ok(count(
            sweep_map(&mut rows, now, batch, |row| row.record.expires_at).len(),
        ))
    }
}

// ---------------------------------------------------------------------------
// Refresh tokens

struct TokenRow {
    record: RefreshTokenRecord,
    rotated_at: Option<UnixTime>,
    successor: Option<(TokenHash, Option<SealedSuccessor>)>,
}

struct FamilyRow {
    revoked_at: Option<UnixTime>,
    expires_at: UnixTime,
}

#[derive(Default)]
struct RefreshState {
    tokens: HashMap<TokenHash, TokenRow>,
    families: HashMap<FamilyId, FamilyRow>,
}

/// A token whose family row is missing: cannot happen through this store's
/// API; reported as corruption rather than guessed at.
#[derive(Debug, thiserror::Error)]
#[error("refresh token without a family")]
struct OrphanToken;

impl RefreshState {
    fn family(&self, id: &FamilyId) -> Result<&FamilyRow, StoreError> {
        self.families
            .get(id)
            .ok_or_else(|| StoreError::corrupt(OrphanToken))
    }

    fn revoke(&mut self, id: &FamilyId, now: UnixTime) {
        if let Some(family) = self.families.get_mut(id) {
            family.revoked_at.get_or_insert(now);
        }
    }

    /// The successor of a rotated token, if a grace-window retry may return it.
    fn retry_successor(
        &self,
        row: &TokenRow,
        now: UnixTime,
        grace_seconds: u32,
    ) -> Option<(RefreshTokenRecord, SealedSuccessor)> {
        let rotated_at = row.rotated_at?;
        if now >= rotated_at.saturating_add(i64::from(grace_seconds)) {
            return None;
        }
        let (successor_hash, sealed) = row.successor.as_ref()?;
        let sealed = sealed.as_ref()?;
        let successor = self.tokens.get(successor_hash)?;
        let usable =
            successor.rotated_at.is_none() && is_live(successor.record.effective_expires_at(), now);
        usable.then(|| (successor.record.clone(), sealed.clone()))
    }
}

/// In-memory [`RefreshTokenStore`] (single node).
#[derive(Default)]
pub struct MemoryRefreshTokenStore {
    state: Mutex<RefreshState>,
}

impl MemoryRefreshTokenStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl RefreshTokenStore for MemoryRefreshTokenStore {
    async fn issue_family(
        &self,
        family_id: FamilyId,
        family_expires_at: UnixTime,
        first: NewRefreshToken,
    ) -> Result<RefreshTokenRecord, StoreError> {
        first.validate_first(&family_id, family_expires_at)?;
        let mut state = lock(&self.state)?;
        if state.tokens.contains_key(&first.token_hash) || state.families.contains_key(&family_id) {
            return Err(StoreError::Duplicate);
        }
        let record = RefreshTokenRecord {
            token_hash: first.token_hash,
            family_id: family_id.clone(),
            generation: 0,
            parent_hash: None,
            issued_at: first.issued_at,
            expires_at: first.expires_at,
            family_expires_at,
            grant: first.grant,
        };
        state.families.insert(
            family_id,
            FamilyRow {
                revoked_at: None,
                expires_at: family_expires_at,
            },
        );
        state.tokens.insert(
            record.token_hash,
            TokenRow {
                record: record.clone(),
                rotated_at: None,
                successor: None,
            },
        );
        Ok(record)
    }

    async fn get(&self, token_hash: TokenHash, now: UnixTime) -> Result<RefreshLookup, StoreError> {
        let state = lock(&self.state)?;
        let Some(row) = state.tokens.get(&token_hash) else {
            return Ok(RefreshLookup::NotFound);
        };
        let record = row.record.clone();
        if state.family(&record.family_id)?.revoked_at.is_some() {
            return Ok(RefreshLookup::Revoked(record));
        }
        if !is_live(record.family_expires_at, now) {
            return Ok(RefreshLookup::Expired(record));
        }
        if row.rotated_at.is_some() {
            return Ok(RefreshLookup::Rotated(record));
        }
        if !is_live(record.expires_at, now) {
            return Ok(RefreshLookup::Expired(record));
        }
        Ok(RefreshLookup::Active(record))
    }

    async fn rotate(
        &self,
        presented: TokenHash,
        successor: NewRefreshToken,
        sealed_successor: Option<SealedSuccessor>,
        now: UnixTime,
        grace_seconds: u32,
    ) -> Result<RotationOutcome, StoreError> {
        successor.validate_successor(presented)?;
        let mut state = lock(&self.state)?;
        let Some(row) = state.tokens.get(&presented) else {
            return Ok(RotationOutcome::NotFound);
        };
        let parent = row.record.clone();
        if state.family(&parent.family_id)?.revoked_at.is_some() {
            return Ok(RotationOutcome::Revoked(parent));
        }
        if !is_live(parent.family_expires_at, now) {
            return Ok(RotationOutcome::Expired);
        }
        if row.rotated_at.is_some() {
            if let Some((successor, sealed)) = state.retry_successor(row, now, grace_seconds) {
                return Ok(RotationOutcome::Retry {
                    parent,
                    successor,
                    sealed,
                });
            }
            state.revoke(&parent.family_id, now);
            return Ok(RotationOutcome::ReuseDetected { presented: parent });
        }
        if !is_live(parent.expires_at, now) {
            return Ok(RotationOutcome::Expired);
        }
        if state.tokens.contains_key(&successor.token_hash) {
            return Err(StoreError::Duplicate);
        }
        let next = RefreshTokenRecord {
            token_hash: successor.token_hash,
            family_id: parent.family_id.clone(),
            generation: parent.generation.saturating_add(1),
            parent_hash: Some(presented),
            issued_at: successor.issued_at,
            expires_at: successor.expires_at,
            family_expires_at: parent.family_expires_at,
            grant: successor.grant,
        };
        if let Some(row) = state.tokens.get_mut(&presented) {
            row.rotated_at = Some(now);
            row.successor = Some((next.token_hash, sealed_successor));
        }
        state.tokens.insert(
            next.token_hash,
            TokenRow {
                record: next.clone(),
                rotated_at: None,
                successor: None,
            },
        );
        Ok(RotationOutcome::Rotated {
            parent,
            successor: next,
        })
    }

    async fn revoke_family(&self, family_id: FamilyId, now: UnixTime) -> Result<(), StoreError> {
        lock(&self.state)?.revoke(&family_id, now);
        Ok(())
    }

    async fn revoke_by_token(
        &self,
        token_hash: TokenHash,
        now: UnixTime,
    ) -> Result<Option<FamilyId>, StoreError> {
        let mut state = lock(&self.state)?;
        let Some(family_id) = state
            .tokens
            .get(&token_hash)
            .map(|row| row.record.family_id.clone())
        else {
            return Ok(None);
        };
        state.revoke(&family_id, now);
        Ok(Some(family_id))
    }

    async fn sweep_expired(&self, now: UnixTime, batch: NonZeroU32) -> Result<u64, StoreError> {
        let mut state = lock(&self.state)?;
        let swept = sweep_map(&mut state.tokens, now, batch, |row| {
            row.record.effective_expires_at()
        })
        .len();
        // A family row outlives its tokens until its own lifetime is over, so
        // its revocation stays sticky and its id cannot be reused meanwhile.
        let in_use: HashSet<FamilyId> = state
            .tokens
            .values()
            .map(|row| row.record.family_id.clone())
            .collect();
        state
            .families
            .retain(|id, family| in_use.contains(id) || !is_sweepable(family.expires_at, now));
        Ok(count(swept))
    }
}

// ---------------------------------------------------------------------------
// Pushed authorization requests

/// In-memory [`ParStore`] (single node).
#[derive(Default)]
pub struct MemoryParStore {
    rows: Mutex<HashMap<TokenHash, PushedRequest>>,
}

impl MemoryParStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn classify(row: Option<&PushedRequest>, client_id: &str, now: UnixTime) -> ParOutcome {
        match row {
            None => ParOutcome::NotFound,
            Some(row) if row.client_id != client_id => ParOutcome::ClientMismatch,
            Some(row) if !is_live(row.expires_at, now) => ParOutcome::Expired,
            Some(row) => ParOutcome::Found(row.clone()),
        }
    }
}

impl ParStore for MemoryParStore {
    async fn insert(&self, request: PushedRequest) -> Result<(), StoreError> {
        request.validate()?;
        let mut rows = lock(&self.rows)?;
        if rows.contains_key(&request.request_uri_hash) {
            return Err(StoreError::Duplicate);
        }
        rows.insert(request.request_uri_hash, request);
        Ok(())
    }

    async fn fetch(
        &self,
        request_uri_hash: TokenHash,
        client_id: &str,
        now: UnixTime,
    ) -> Result<ParOutcome, StoreError> {
        let rows = lock(&self.rows)?;
        Ok(Self::classify(rows.get(&request_uri_hash), client_id, now))
    }

    async fn take(
        &self,
        request_uri_hash: TokenHash,
        client_id: &str,
        now: UnixTime,
    ) -> Result<ParOutcome, StoreError> {
        let mut rows = lock(&self.rows)?;
        let outcome = Self::classify(rows.get(&request_uri_hash), client_id, now);
        if matches!(outcome, ParOutcome::Found(_)) {
            rows.remove(&request_uri_hash);
        }
        Ok(outcome)
    }

    async fn sweep_expired(&self, now: UnixTime, batch: NonZeroU32) -> Result<u64, StoreError> {
        let mut rows = lock(&self.rows)?;
        Ok(count(
            sweep_map(&mut rows, now, batch, |row| row.expires_at).len(),
        ))
    }
}

// ---------------------------------------------------------------------------
// DPoP nonces

struct NonceRow {
    record: DpopNonceRecord,
    used_at: Option<UnixTime>,
}

/// In-memory [`DpopNonceStore`] (single node).
#[derive(Default)]
pub struct MemoryDpopNonceStore {
    rows: Mutex<HashMap<TokenHash, NonceRow>>,
}

impl MemoryDpopNonceStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl DpopNonceStore for MemoryDpopNonceStore {
    async fn issue(&self, nonce: DpopNonceRecord) -> Result<(), StoreError> {
        nonce.validate()?;
        let mut rows = lock(&self.rows)?;
        if rows.contains_key(&nonce.nonce_hash) {
            return Err(StoreError::Duplicate);
        }
        rows.insert(
            nonce.nonce_hash,
            NonceRow {
                record: nonce,
                used_at: None,
            },
        );
        Ok(())
    }

    async fn is_valid(&self, nonce_hash: TokenHash, now: UnixTime) -> Result<bool, StoreError> {
        let rows = lock(&self.rows)?;
        Ok(rows
            .get(&nonce_hash)
            .is_some_and(|row| row.used_at.is_none() && is_live(row.record.expires_at, now)))
    }

    async fn accept(
        &self,
        nonce_hash: TokenHash,
        now: UnixTime,
    ) -> Result<NonceOutcome, StoreError> {
        let mut rows = lock(&self.rows)?;
        let Some(row) = rows.get_mut(&nonce_hash) else {
            return Ok(NonceOutcome::Unknown);
        };
        if row.used_at.is_some() {
            return Ok(NonceOutcome::Used);
        }
        if !is_live(row.record.expires_at, now) {
            return Ok(NonceOutcome::Expired);
        }
        row.used_at = Some(now);
        Ok(NonceOutcome::Accepted)
    }

    async fn sweep_expired(&self, now: UnixTime, batch: NonZeroU32) -> Result<u64, StoreError> {
        let mut rows = lock(&self.rows)?;
        Ok(count(
            sweep_map(&mut rows, now, batch, |row| row.record.expires_at).len(),
        ))
    }
}

// ---------------------------------------------------------------------------
// Replay

/// In-memory [`ReplayStore`] (single node).
#[derive(Default)]
pub struct MemoryReplayStore {
    rows: Mutex<HashMap<(ReplayNamespace, TokenHash), UnixTime>>,
}

impl MemoryReplayStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl ReplayStore for MemoryReplayStore {
    async fn check_and_record(
        &self,
        namespace: ReplayNamespace,
        key: TokenHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<ReplayOutcome, StoreError> {
        validate_replay_window(expires_at, now)?;
        let mut rows = lock(&self.rows)?;
        if rows.contains_key(&(namespace, key)) {
            return Ok(ReplayOutcome::Replayed);
        }
        rows.insert((namespace, key), expires_at);
        Ok(ReplayOutcome::Fresh)
    }

    async fn sweep_expired(&self, now: UnixTime, batch: NonZeroU32) -> Result<u64, StoreError> {
        let mut rows = lock(&self.rows)?;
        Ok(count(
            sweep_map(&mut rows, now, batch, |expires_at| *expires_at).len(),
        ))
    }
}

// ---------------------------------------------------------------------------
// Device codes

#[derive(Default)]
struct DeviceState {
    by_device: HashMap<TokenHash, DeviceCodeRecord>,
    by_user: HashMap<TokenHash, TokenHash>,
}

impl DeviceState {
    fn by_user_code_mut(&mut self, user_code_hash: TokenHash) -> Option<&mut DeviceCodeRecord> {
        let device = *self.by_user.get(&user_code_hash)?;
        self.by_device.get_mut(&device)
    }

    fn decide(
        &mut self,
        user_code_hash: TokenHash,
        now: UnixTime,
        status: DeviceCodeStatus,
        approval: Option<DeviceApproval>,
    ) -> DeviceDecision {
        let Some(record) = self.by_user_code_mut(user_code_hash) else {
            return DeviceDecision::NotFound;
        };
        if record.status != DeviceCodeStatus::Pending {
            return DeviceDecision::AlreadyDecided;
        }
        if !is_live(record.expires_at, now) {
            return DeviceDecision::Expired;
        }
        record.status = status;
        record.approval = approval;
        DeviceDecision::Recorded(record.clone())
    }
}

/// In-memory [`DeviceCodeStore`] (single node).
#[derive(Default)]
pub struct MemoryDeviceCodeStore {
    state: Mutex<DeviceState>,
}

impl MemoryDeviceCodeStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl DeviceCodeStore for MemoryDeviceCodeStore {
    async fn insert(&self, record: DeviceCodeRecord) -> Result<(), StoreError> {
        record.validate()?;
        let mut state = lock(&self.state)?;
        if state.by_device.contains_key(&record.device_code_hash)
            || state.by_user.contains_key(&record.user_code_hash)
        {
            return Err(StoreError::Duplicate);
        }
        state
            .by_user
            .insert(record.user_code_hash, record.device_code_hash);
        state.by_device.insert(record.device_code_hash, record);
        Ok(())
    }

    async fn find_pending(
        &self,
        user_code_hash: TokenHash,
        now: UnixTime,
    ) -> Result<Option<DeviceCodeRecord>, StoreError> {
        let mut state = lock(&self.state)?;
        Ok(state
            .by_user_code_mut(user_code_hash)
            .filter(|r| r.status == DeviceCodeStatus::Pending && is_live(r.expires_at, now))
            .map(|r| r.clone()))
    }

    async fn approve(
        &self,
        user_code_hash: TokenHash,
        approval: DeviceApproval,
        now: UnixTime,
    ) -> Result<DeviceDecision, StoreError> {
        approval.validate()?;
        let mut state = lock(&self.state)?;
        Ok(state.decide(
            user_code_hash,
            now,
            DeviceCodeStatus::Approved,
            Some(approval),
        ))
    }

    async fn deny(
        &self,
        user_code_hash: TokenHash,
        now: UnixTime,
    ) -> Result<DeviceDecision, StoreError> {
        let mut state = lock(&self.state)?;
        Ok(state.decide(user_code_hash, now, DeviceCodeStatus::Denied, None))
    }

    async fn poll(
        &self,
        device_code_hash: TokenHash,
        now: UnixTime,
    ) -> Result<DevicePoll, StoreError> {
        let mut state = lock(&self.state)?;
        let Some(record) = state.by_device.get_mut(&device_code_hash) else {
            return Ok(DevicePoll::NotFound);
        };
        if !is_live(record.expires_at, now) {
            return Ok(DevicePoll::Expired);
        }
        let too_soon = record
            .last_polled_at
            .is_some_and(|last| now < last.saturating_add(i64::from(record.interval_seconds)));
        record.last_polled_at = Some(now);
        if too_soon {
            record.interval_seconds = record
                .interval_seconds
                .saturating_add(SLOW_DOWN_STEP_SECONDS);
            return Ok(DevicePoll::SlowDown {
                interval_seconds: record.interval_seconds,
            });
        }
        Ok(match record.status {
            DeviceCodeStatus::Pending => DevicePoll::Pending,
            DeviceCodeStatus::Denied => DevicePoll::Denied,
            DeviceCodeStatus::Approved => DevicePoll::Approved(record.clone()),
            DeviceCodeStatus::Redeemed => DevicePoll::AlreadyRedeemed,
        })
    }

    async fn redeem(
        &self,
        device_code_hash: TokenHash,
        now: UnixTime,
    ) -> Result<DeviceRedemption, StoreError> {
        let mut state = lock(&self.state)?;
        let Some(record) = state.by_device.get_mut(&device_code_hash) else {
            return Ok(DeviceRedemption::NotFound);
        };
        if record.status == DeviceCodeStatus::Redeemed {
            return Ok(DeviceRedemption::AlreadyRedeemed);
        }
        if !is_live(record.expires_at, now) {
            return Ok(DeviceRedemption::Expired);
        }
        if record.status != DeviceCodeStatus::Approved {
            return Ok(DeviceRedemption::NotApproved);
        }
        record.status = DeviceCodeStatus::Redeemed;
        Ok(DeviceRedemption::Redeemed(record.clone()))
    }

    async fn sweep_expired(&self, now: UnixTime, batch: NonZeroU32) -> Result<u64, StoreError> {
        let mut state = lock(&self.state)?;
        let swept = sweep_map(&mut state.by_device, now, batch, |r| r.expires_at);
        for (_, record) in &swept {
            state.by_user.remove(&record.user_code_hash);
        }
        Ok(count(swept.len()))
    }
}

// ---------------------------------------------------------------------------
// Consent grants

struct ConsentRow {
    record: ConsentGrantRecord,
    consumed_at: Option<UnixTime>,
}

/// In-memory [`ConsentGrantStore`] (single node).
#[derive(Default)]
pub struct MemoryConsentGrantStore {
    rows: Mutex<HashMap<TokenHash, ConsentRow>>,
}

impl MemoryConsentGrantStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl ConsentGrantStore for MemoryConsentGrantStore {
    async fn mint(&self, grant: ConsentGrantRecord) -> Result<(), StoreError> {
        grant.validate()?;
        let mut rows = lock(&self.rows)?;
        if rows.contains_key(&grant.token_hash) {
            return Err(StoreError::Duplicate);
        }
        rows.insert(
            grant.token_hash,
            ConsentRow {
                record: grant,
                consumed_at: None,
            },
        );
        Ok(())
    }

    async fn consume(
        &self,
        token_hash: TokenHash,
        binding_hash: TokenHash,
        now: UnixTime,
    ) -> Result<ConsentOutcome, StoreError> {
        let mut rows = lock(&self.rows)?;
        let Some(row) = rows.get_mut(&token_hash) else {
            return Ok(ConsentOutcome::NotFound);
        };
        if row.record.binding_hash != binding_hash {
            return Ok(ConsentOutcome::BindingMismatch);
        }
        if row.consumed_at.is_some() {
            return Ok(ConsentOutcome::AlreadyConsumed);
        }
        if !is_live(row.record.expires_at, now) {
            return Ok(ConsentOutcome::Expired);
        }
        row.consumed_at = Some(now);
        Ok(ConsentOutcome::Consumed(row.record.clone()))
    }

    async fn sweep_expired(&self, now: UnixTime, batch: NonZeroU32) -> Result<u64, StoreError> {
        let mut rows = lock(&self.rows)?;
        Ok(count(
            sweep_map(&mut rows, now, batch, |row| row.record.expires_at).len(),
        ))
    }
}

// ---------------------------------------------------------------------------
// Logout sessions

/// In-memory [`LogoutSessionStore`] (single node).
#[derive(Default)]
pub struct MemoryLogoutSessionStore {
    rows: Mutex<HashMap<(String, String), LogoutSession>>,
}

impl MemoryLogoutSessionStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn take_where(
        &self,
        now: UnixTime,
        matches: impl Fn(&LogoutSession) -> bool,
    ) -> Result<Vec<LogoutSession>, StoreError> {
        let mut rows = lock(&self.rows)?;
        let keys: Vec<(String, String)> = rows
            .iter()
            .filter(|(_, s)| matches(s) && is_live(s.expires_at, now))
            .map(|(k, _)| k.clone())
            .collect();
        Ok(keys.iter().filter_map(|k| rows.remove(k)).collect())
    }
}

impl LogoutSessionStore for MemoryLogoutSessionStore {
    async fn record(&self, session: LogoutSession) -> Result<(), StoreError> {
        session.validate()?;
        let mut rows = lock(&self.rows)?;
        rows.insert((session.sid.clone(), session.client_id.clone()), session);
        Ok(())
    }

    async fn take_session(
        &self,
        sid: &str,
        now: UnixTime,
    ) -> Result<Vec<LogoutSession>, StoreError> {
        self.take_where(now, |s| s.sid == sid)
    }

    async fn take_subject(
        &self,
        subject: &str,
        now: UnixTime,
    ) -> Result<Vec<LogoutSession>, StoreError> {
        self.take_where(now, |s| s.subject == subject)
    }

    async fn sweep_expired(&self, now: UnixTime, batch: NonZeroU32) -> Result<u64, StoreError> {
        let mut rows = lock(&self.rows)?;
        Ok(count(
            sweep_map(&mut rows, now, batch, |s| s.expires_at).len(),
        ))
    }
}

// ---------------------------------------------------------------------------
// Client ID Metadata Document cache

/// In-memory [`ClientMetadataCache`] (per node; correct, since a miss only
/// re-fetches).
#[derive(Default)]
pub struct MemoryClientMetadataCache {
    rows: Mutex<HashMap<String, CachedClientMetadata>>,
}

impl MemoryClientMetadataCache {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl ClientMetadataCache for MemoryClientMetadataCache {
    async fn get(
        &self,
        client_id: &str,
        now: UnixTime,
    ) -> Result<Option<CachedClientMetadata>, StoreError> {
        let rows = lock(&self.rows)?;
        Ok(rows
            .get(client_id)
            .filter(|e| is_live(e.expires_at, now))
            .cloned())
    }

    async fn put(&self, entry: CachedClientMetadata) -> Result<(), StoreError> {
        entry.validate()?;
        let mut rows = lock(&self.rows)?;
        rows.insert(entry.client_id.clone(), entry);
        Ok(())
    }

    async fn remove(&self, client_id: &str) -> Result<(), StoreError> {
        lock(&self.rows)?.remove(client_id);
        Ok(())
    }

    async fn sweep_expired(&self, now: UnixTime, batch: NonZeroU32) -> Result<u64, StoreError> {
        let mut rows = lock(&self.rows)?;
        Ok(count(
            sweep_map(&mut rows, now, batch, |e| e.expires_at).len(),
        ))
    }
}
