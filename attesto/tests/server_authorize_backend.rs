//! Backend failures at the authorization and UserInfo endpoints: a store
//! that cannot decide is a 503 `temporarily_unavailable`, never a redirect,
//! a code, or an accepted proof.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_authz_support;

use std::num::NonZeroU32;
use std::sync::Arc;

use attesto::clock::UnixTime;
use attesto::store::memory::{
    MemoryClientMetadataCache, MemoryConsentGrantStore, MemoryDeviceCodeStore,
    MemoryDpopNonceStore, MemoryLogoutSessionStore, MemoryParStore, MemoryRefreshTokenStore,
    MemoryStores,
};
use attesto::store::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CodeIssuance, CodeRedemption, ReplayNamespace,
    ReplayOutcome, ReplayStore, StoreError, Stores, TokenHash,
};
use serde_json::Value;
use server_authz_support::*;

fn down() -> StoreError {
    StoreError::unavailable(Down)
}

#[derive(Debug, Default)]
struct DownCodes;

impl AuthorizationCodeStore for DownCodes {
    async fn insert(&self, _record: AuthorizationCodeRecord) -> Result<(), StoreError> {
        Err(down())
    }
    async fn get(
        &self,
        _code_hash: TokenHash,
        _now: UnixTime,
    ) -> Result<Option<AuthorizationCodeRecord>, StoreError> {
        Err(down())
    }
    async fn redeem(
        &self,
        _code_hash: TokenHash,
        _now: UnixTime,
    ) -> Result<CodeRedemption, StoreError> {
        Err(down())
    }
    async fn record_issued(
        &self,
        _code_hash: TokenHash,
        _issuance: CodeIssuance,
    ) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn sweep_expired(&self, _now: UnixTime, _batch: NonZeroU32) -> Result<u64, StoreError> {
        Err(down())
    }
}

#[derive(Debug, Default)]
struct DownReplay;

impl ReplayStore for DownReplay {
    async fn check_and_record(
        &self,
        _namespace: ReplayNamespace,
        _key: TokenHash,
        _expires_at: UnixTime,
        _now: UnixTime,
    ) -> Result<ReplayOutcome, StoreError> {
        Err(down())
    }
    async fn sweep_expired(&self, _now: UnixTime, _batch: NonZeroU32) -> Result<u64, StoreError> {
        Err(down())
    }
}

/// Memory stores with the code and replay stores down.
#[derive(Clone, Default)]
struct DownStores {
    mem: MemoryStores,
    codes: Arc<DownCodes>,
    replay: Arc<DownReplay>,
}

impl Stores for DownStores {
    type Codes = DownCodes;
    type Refresh = MemoryRefreshTokenStore;
    type Par = MemoryParStore;
    type Nonces = MemoryDpopNonceStore;
    type Replay = DownReplay;
    type Device = MemoryDeviceCodeStore;
    type Consent = MemoryConsentGrantStore;
    type Logout = MemoryLogoutSessionStore;
    type Cimd = MemoryClientMetadataCache;

    fn authorization_codes(&self) -> Arc<DownCodes> {
        Arc::clone(&self.codes)
    }
    fn refresh_tokens(&self) -> Arc<MemoryRefreshTokenStore> {
        self.mem.refresh_tokens()
    }
    fn par(&self) -> Arc<MemoryParStore> {
        self.mem.par()
    }
    fn dpop_nonces(&self) -> Arc<MemoryDpopNonceStore> {
        self.mem.dpop_nonces()
    }
    fn replay(&self) -> Arc<DownReplay> {
        Arc::clone(&self.replay)
    }
    fn device_codes(&self) -> Arc<MemoryDeviceCodeStore> {
        self.mem.device_codes()
    }
    fn consent_grants(&self) -> Arc<MemoryConsentGrantStore> {
        self.mem.consent_grants()
    }
    fn logout_sessions(&self) -> Arc<MemoryLogoutSessionStore> {
        self.mem.logout_sessions()
    }
    fn client_metadata(&self) -> Arc<MemoryClientMetadataCache> {
        self.mem.client_metadata()
    }
}

async fn spawn_down() -> Harness<TestHost, DownStores> {
    spawn_with_stores(Options::new(TestHost::new()), DownStores::default()).await
}

#[tokio::test]
async fn code_store_failure_is_503_json_and_no_code() {
    let h = spawn_down().await;
    for resp in [
        h.get_authorize(&Authz::new()).await,
        h.post_authorize(&Authz::new()).await,
    ] {
        assert_eq!(resp.status(), 503);
        assert!(resp.headers().get("location").is_none());
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
    }
    assert!(
        !h.events
            .names()
            .contains(&attesto::host::EventName::CodeIssued)
    );
}

#[tokio::test]
async fn replay_store_failure_refuses_dpop_with_503() {
    let h = spawn_down().await;
    let key = dpop_key();
    let token = h.token_with("alice", "openid", Some(&jkt(&key)), API);
    let proof = dpop_proof(
        &key,
        "GET",
        &format!("{ISSUER}/oauth/userinfo"),
        Some(&token),
        NOW,
    );
    let resp = h
        .http
        .get(h.url("/oauth/userinfo"))
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // Bearer tokens need no replay store.
    let token = h.token("alice", "openid");
    let resp = h
        .http
        .get(h.url("/oauth/userinfo"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}
