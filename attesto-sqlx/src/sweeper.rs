//! [`Sweeper`]: periodic deletion of expired rows.
//!
//! Sweeping is housekeeping, not correctness: every store re-checks expiry on
//! read, so an expired row that is still present is never honoured. The
//! sweeper only keeps the tables small.
//!
//! Each sweep reads the clock **once** and uses that instant for every table,
//! so one sweep applies one consistent boundary; the stores delete only rows
//! with `expires_at < now` (strictly), so a sweep never widens an acceptance
//! window. Each table is swept in batches of at most `batch` rows (one
//! statement each) until a batch comes back short, so no statement holds
//! locks on an unbounded number of rows.
//!
//! A failing table is logged (target `attesto_sqlx::sweeper`, with the error
//! and the table name, never a row's content) and retried on the next tick;
//! the other tables are still swept.

use std::collections::BTreeMap;
use std::future::Future;
use std::num::NonZeroU32;
use std::time::Duration;

use attesto::clock::{Clock, SystemClock, UnixTime};
use attesto::store::{
    AuthorizationCodeStore, ClientMetadataCache, ConsentGrantStore, DeviceCodeStore,
    DpopNonceStore, LogoutSessionStore, ParStore, RefreshTokenStore, ReplayStore, StoreError,
    Stores,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const TARGET: &str = "attesto_sqlx::sweeper";

/// The default interval between sweeps: one minute.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The default batch size: rows deleted per statement.
pub const DEFAULT_BATCH: NonZeroU32 = match NonZeroU32::new(500) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

/// The tables a sweep visits (named by store, independent of the prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SweptTable {
    /// [`AuthorizationCodeStore`].
    AuthorizationCodes,
    /// [`RefreshTokenStore`] (tokens; expired empty families go too).
    RefreshTokens,
    /// [`ParStore`].
    PushedRequests,
    /// [`DpopNonceStore`].
    DpopNonces,
    /// [`ReplayStore`].
    Replay,
    /// [`DeviceCodeStore`].
    DeviceCodes,
    /// [`ConsentGrantStore`].
    ConsentGrants,
    /// [`LogoutSessionStore`].
    LogoutSessions,
    /// [`ClientMetadataCache`].
    ClientMetadata,
}

impl SweptTable {
    /// Every table, in sweep order.
    pub const ALL: [Self; 9] = [
        Self::AuthorizationCodes,
        Self::RefreshTokens,
        Self::PushedRequests,
        Self::DpopNonces,
        Self::Replay,
        Self::DeviceCodes,
        Self::ConsentGrants,
        Self::LogoutSessions,
        Self::ClientMetadata,
    ];

    /// A stable name, for logs.
    ///
    /// ```
    /// use attesto_sqlx::SweptTable;
    /// assert_eq!(SweptTable::DpopNonces.as_str(), "dpop_nonces");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCodes => "authorization_codes",
            Self::RefreshTokens => "refresh_tokens",
            Self::PushedRequests => "pushed_authorization_requests",
            Self::DpopNonces => "dpop_nonces",
            Self::Replay => "jti_replays",
            Self::DeviceCodes => "device_codes",
            Self::ConsentGrants => "consent_grants",
            Self::LogoutSessions => "logout_sessions",
            Self::ClientMetadata => "client_id_metadata",
        }
    }
}

/// The outcome of one sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepReport {
    /// The instant the sweep used for every table.
    pub now: UnixTime,
    /// Rows deleted per table (every table swept without error appears, with
    /// 0 when nothing had expired).
    pub deleted: BTreeMap<SweptTable, u64>,
    /// Tables whose sweep failed (partially deleted rows stay deleted); they
    /// are retried on the next tick.
    pub failed: Vec<SweptTable>,
    /// Whether a shutdown request cut the sweep short.
    pub interrupted: bool,
}

impl SweepReport {
    /// Rows deleted across all tables.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.deleted.values().sum()
    }
}

/// Why the sweeper could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweeperError {
    /// The interval is zero: a sweeper that never waits would spin.
    #[error("the sweep interval must be positive")]
    ZeroInterval,
    /// [`Sweeper::start`] was called outside a tokio runtime.
    #[error("the sweeper needs a tokio runtime")]
    NoRuntime,
    /// The sweeper task panicked or was aborted.
    #[error("the sweeper task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// Deletes expired rows from every store of a bundle, periodically.
///
/// ```no_run
/// # #[cfg(feature = "sqlite")]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::num::NonZeroU32;
/// use std::time::Duration;
/// use attesto_sqlx::{SqliteStores, Sweeper};
/// let stores = SqliteStores::connect("sqlite://attesto.db?mode=rwc").await?.migrate().await?;
/// let sweeper = Sweeper::spawn(stores.clone(), Duration::from_secs(60), NonZeroU32::new(500).unwrap())?;
/// // … serve …
/// sweeper.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Sweeper<S, C = SystemClock> {
    stores: S,
    clock: C,
    interval: Duration,
    batch: NonZeroU32,
}

impl<S: Stores> Sweeper<S> {
    /// A sweeper over `stores` with the system clock, a one-minute interval
    /// and batches of 500 rows.
    pub fn new(stores: S) -> Self {
        Self {
            stores,
            clock: SystemClock,
            interval: DEFAULT_INTERVAL,
            batch: DEFAULT_BATCH,
        }
    }

    /// Start sweeping `stores` every `interval`, deleting at most `batch`
    /// rows per statement (the first sweep runs at once).
    ///
    /// # Errors
    /// [`SweeperError::ZeroInterval`], or [`SweeperError::NoRuntime`] outside
    /// a tokio runtime. Nothing is spawned on error.
    pub fn spawn(
        stores: S,
        interval: Duration,
        batch: NonZeroU32,
    ) -> Result<SweeperHandle, SweeperError> {
        Self::new(stores).interval(interval).batch(batch).start()
    }
}

impl<S: Stores, C: Clock + 'static> Sweeper<S, C> {
    /// Use `clock` instead of the system clock.
    pub fn clock<C2: Clock + 'static>(self, clock: C2) -> Sweeper<S, C2> {
        Sweeper {
            stores: self.stores,
            clock,
            interval: self.interval,
            batch: self.batch,
        }
    }

    /// Set the interval between sweeps.
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Set the batch size (rows deleted per statement).
    #[must_use]
    pub fn batch(mut self, batch: NonZeroU32) -> Self {
        self.batch = batch;
        self
    }

    /// Run one sweep now: read the clock once and sweep every table.
    pub async fn sweep_once(&self) -> SweepReport {
        self.sweep_until(None).await
    }

    async fn sweep_until(&self, mut stop: Option<&mut watch::Receiver<bool>>) -> SweepReport {
        let now = self.clock.now();
        let mut report = SweepReport {
            now,
            deleted: BTreeMap::new(),
            failed: Vec::new(),
            interrupted: false,
        };
        let s = &self.stores;
        for table in SweptTable::ALL {
            let result = match table {
                SweptTable::AuthorizationCodes => {
                    let store = s.authorization_codes();
                    self.drain(&mut stop, |b| store.sweep_expired(now, b)).await
                }
                SweptTable::RefreshTokens => {
                    let store = s.refresh_tokens();
                    self.drain(&mut stop, |b| store.sweep_expired(now, b)).await
                }
                SweptTable::PushedRequests => {
                    let store = s.par();
                    self.drain(&mut stop, |b| store.sweep_expired(now, b)).await
                }
                SweptTable::DpopNonces => {
                    let store = s.dpop_nonces();
                    self.drain(&mut stop, |b| store.sweep_expired(now, b)).await
                }
                SweptTable::Replay => {
                    let store = s.replay();
                    self.drain(&mut stop, |b| store.sweep_expired(now, b)).await
                }
                SweptTable::DeviceCodes => {
                    let store = s.device_codes();
                    self.drain(&mut stop, |b| store.sweep_expired(now, b)).await
                }
                SweptTable::ConsentGrants => {
                    let store = s.consent_grants();
                    self.drain(&mut stop, |b| store.sweep_expired(now, b)).await
                }
                SweptTable::LogoutSessions => {
                    let store = s.logout_sessions();
                    self.drain(&mut stop, |b| store.sweep_expired(now, b)).await
                }
                SweptTable::ClientMetadata => {
                    let store = s.client_metadata();
                    self.drain(&mut stop, |b| store.sweep_expired(now, b)).await
                }
            };
            match result {
                Ok((deleted, interrupted)) => {
                    tracing::debug!(target: TARGET, table = table.as_str(), deleted, "swept");
                    report.deleted.insert(table, deleted);
                    if interrupted {
                        report.interrupted = true;
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(
                        target: TARGET,
                        table = table.as_str(),
                        %error,
                        "sweep failed; retrying on the next tick"
                    );
                    report.failed.push(table);
                }
            }
        }
        if report.total() > 0 || !report.failed.is_empty() {
            tracing::info!(
                target: TARGET,
                now,
                deleted = report.total(),
                failed = report.failed.len(),
                interrupted = report.interrupted,
                "sweep done"
            );
        } else {
            tracing::debug!(target: TARGET, now, "sweep done: nothing expired");
        }
        report
    }

    /// Sweep one table batch by batch until a batch comes back short (or a
    /// stop is requested); returns the count and whether it was interrupted.
    async fn drain<F, Fut>(
        &self,
        stop: &mut Option<&mut watch::Receiver<bool>>,
        mut sweep: F,
    ) -> Result<(u64, bool), StoreError>
    where
        F: FnMut(NonZeroU32) -> Fut,
        Fut: Future<Output = Result<u64, StoreError>>,
    {
        let mut total = 0_u64;
        loop {
            let deleted = sweep(self.batch).await?;
            total = total.saturating_add(deleted);
            if deleted < u64::from(self.batch.get()) {
                return Ok((total, false));
            }
            if stop.as_deref().is_some_and(stop_requested) {
                return Ok((total, true));
            }
            tokio::task::yield_now().await;
        }
    }

    /// Start the periodic task (the first sweep runs at once).
    ///
    /// # Errors
    /// [`SweeperError::ZeroInterval`], or [`SweeperError::NoRuntime`] outside
    /// a tokio runtime. Nothing is spawned on error.
    pub fn start(self) -> Result<SweeperHandle, SweeperError> {
        if self.interval.is_zero() {
            return Err(SweeperError::ZeroInterval);
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SweeperError::NoRuntime)?;
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let task = runtime.spawn(async move {
            let mut ticker = tokio::time::interval(self.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tracing::info!(
                target: TARGET,
                interval_ms = u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX),
                batch = self.batch.get(),
                "sweeper started"
            );
            loop {
                tokio::select! {
                    _ = ticker.tick() => {
                        let report = self.sweep_until(Some(&mut stop_rx)).await;
                        if report.interrupted {
                            break;
                        }
                    }
                    // A shutdown request, or the handle was dropped.
                    _ = stop_rx.changed() => break,
                }
                if stop_requested(&stop_rx) {
                    break;
                }
            }
            tracing::info!(target: TARGET, "sweeper stopped");
        });
        Ok(SweeperHandle {
            stop: stop_tx,
            task,
        })
    }
}

fn stop_requested(rx: &watch::Receiver<bool>) -> bool {
    // A dropped handle (closed channel) also means stop.
    *rx.borrow() || rx.has_changed().is_err()
}

/// Controls a running [`Sweeper`]. Dropping the handle also stops the
/// sweeper (after the statement in flight), without waiting for it.
#[derive(Debug)]
pub struct SweeperHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl SweeperHandle {
    /// Ask the sweeper to stop and wait until it has: a sweep in progress
    /// finishes its current statement and skips the rest.
    ///
    /// # Errors
    /// [`SweeperError::Task`] if the task panicked.
    pub async fn shutdown(self) -> Result<(), SweeperError> {
        // Err only if the task is gone already, which is what we want.
        let _ = self.stop.send(true);
        self.task.await.map_err(SweeperError::Task)
    }

    /// Whether the task has stopped.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}
