//! Generic conformance suite for store implementations. **Not a stable API.**
//!
//! Every function here exercises one trait's full contract — validation,
//! single use, expiry re-checked on read, the documented outcome precedence,
//! bounded sweeping, and 64-way races — and panics on the first violation.
//! Run it against any implementation:
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
//! // A real backend passes two pools over one database; the in-memory
//! // stores share state between clones.
//! let node_a = attesto::store::memory::MemoryStores::new();
//! let node_b = node_a.clone();
//! attesto::store::conformance::run_all(&node_a, &node_b).await;
//! # });
//! ```
//!
//! Requirements on the caller:
//!
//! * run inside a **multi-threaded** tokio runtime, so the races are real;
//! * `node_a` and `node_b` are two independent handles (pools, store
//!   instances) over the **same** backing state, standing in for two nodes;
//! * the store may hold rows from earlier runs, but nothing else may write to
//!   it while the suite runs (the sweep checks count deleted rows; they use
//!   timestamps around `SWEEP_T` = 1 000 000 000, far below every other
//!   timestamp the suite writes, so the per-store functions may also run
//!   concurrently with each other).
//!
//! Keys are random per run, so repeated runs against one database do not
//! collide.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::missing_panics_doc
)]

mod cimd;
mod codes;
mod consent;
mod device;
mod dpop;
mod logout;
mod par;
mod refresh;

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;

pub use cimd::{client_metadata, client_metadata_shared};
pub use codes::{authorization_codes, authorization_codes_shared};
pub use consent::{consent_grants, consent_grants_shared};
pub use device::{device_codes, device_codes_shared};
pub use dpop::{dpop_nonces, dpop_nonces_shared, replay, replay_shared};
pub use logout::{logout_sessions, logout_sessions_shared};
pub use par::{par, par_shared};
pub use refresh::{refresh_tokens, refresh_tokens_shared};

use super::TokenHash;
use crate::clock::UnixTime;
use crate::secret::{OsRandom, RandomSource};

/// How many tasks each race releases at once.
pub const RACE_WIDTH: usize = 64;

/// How many times each single-winner race is repeated.
pub const RACE_ROUNDS: usize = 4;

/// Base time of the functional checks.
pub(crate) const T0: UnixTime = 1_700_000_000;

/// Base time of the sweep checks: below every other timestamp the suite
/// writes, so a sweep at `SWEEP_T` only ever sees the sweep check's own rows.
pub(crate) const SWEEP_T: UnixTime = 1_000_000_000;

pub use crate::store::Stores as StoreBundle;

/// Run the whole suite: every per-store check on `node_a`, then every
/// cross-node check with `node_a` and `node_b`.
pub async fn run_all<B: StoreBundle>(node_a: &B, node_b: &B) {
    authorization_codes(node_a.authorization_codes()).await;
    authorization_codes_shared(node_a.authorization_codes(), node_b.authorization_codes()).await;
    refresh_tokens(node_a.refresh_tokens()).await;
    refresh_tokens_shared(node_a.refresh_tokens(), node_b.refresh_tokens()).await;
    par(node_a.par()).await;
    par_shared(node_a.par(), node_b.par()).await;
    dpop_nonces(node_a.dpop_nonces()).await;
    dpop_nonces_shared(node_a.dpop_nonces(), node_b.dpop_nonces()).await;
    replay(node_a.replay()).await;
    replay_shared(node_a.replay(), node_b.replay()).await;
    device_codes(node_a.device_codes()).await;
    device_codes_shared(node_a.device_codes(), node_b.device_codes()).await;
    consent_grants(node_a.consent_grants()).await;
    consent_grants_shared(node_a.consent_grants(), node_b.consent_grants()).await;
    logout_sessions(node_a.logout_sessions()).await;
    logout_sessions_shared(node_a.logout_sessions(), node_b.logout_sessions()).await;
    client_metadata(node_a.client_metadata()).await;
    client_metadata_shared(node_a.client_metadata(), node_b.client_metadata()).await;
}

/// A string unique to this run.
pub(crate) fn unique(label: &str) -> String {
    format!("{label}-{}", OsRandom.token(12).expect("OS random source"))
}

/// The hash of a value unique to this run.
pub(crate) fn fresh_hash(label: &str) -> TokenHash {
    TokenHash::of(&unique(label))
}

pub(crate) const fn batch(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

/// Release `width` tasks at once (behind a barrier) and collect their results.
/// Task `i` runs `make(i)`; the future is built before the barrier and polled
/// only after it, so every task starts the operation together.
pub(crate) async fn race<T, Fut>(width: usize, make: impl Fn(usize) -> Fut) -> Vec<T>
where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(width));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..width {
        let barrier = Arc::clone(&barrier);
        let op = make(i);
        tasks.spawn(async move {
            barrier.wait().await;
            op.await
        });
    }
    let mut results = Vec::with_capacity(width);
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.expect("a race task panicked"));
    }
    results
}

/// A named change that makes an input record invalid.
pub(crate) type Mutation<T> = (&'static str, fn(&mut T));

/// Pick `a` for even `i` and `b` for odd `i`: splits a race across two nodes.
pub(crate) fn alternate<S>(i: usize, a: &Arc<S>, b: &Arc<S>) -> Arc<S> {
    if i.is_multiple_of(2) {
        Arc::clone(a)
    } else {
        Arc::clone(b)
    }
}
