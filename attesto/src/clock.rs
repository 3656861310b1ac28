//! Injectable time.
//!
//! Every time-dependent check in the protocol core (token expiry, DPoP `iat`
//! windows, code lifetimes) reads the time from a [`Clock`] so that tests are
//! exact and deterministic.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as used by JWT `NumericDate`
/// ([RFC 7519 §2](https://www.rfc-editor.org/rfc/rfc7519#section-2)).
pub type UnixTime = i64;

/// A source of the current time.
///
/// ```
/// use attesto::clock::{Clock, FixedClock};
/// let clock = FixedClock::new(1_700_000_000);
/// assert_eq!(clock.now(), 1_700_000_000);
/// clock.advance(30);
/// assert_eq!(clock.now(), 1_700_000_030);
/// ```
pub trait Clock: Send + Sync {
    /// The current time in whole seconds since the Unix epoch.
    fn now(&self) -> UnixTime;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // A clock before 1970 is a misconfigured host; report the epoch so
            // every expiry check fails closed (everything looks expired or not yet valid
            // relative to real tokens).
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to. For tests.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock frozen at `now`.
    #[must_use]
    pub const fn new(now: UnixTime) -> Self {
        Self(AtomicI64::new(now))
    }

    /// Set the time.
    pub fn set(&self, now: UnixTime) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Move the time forward (or backward, with a negative `secs`).
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}
