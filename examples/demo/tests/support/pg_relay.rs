//! A TCP relay to PostgreSQL that the test controls: it forwards every
//! connection to the real server, and it reads the client → server byte
//! stream as PostgreSQL frontend messages, so a test can
//!
//! * cut everything ([`PgRelay::cut`]: drop every live connection, refuse
//!   new ones until [`PgRelay::restore`]),
//! * cut once, mid-transaction ([`PgRelay::cut_once_at`]): drop the
//!   connection that is about to send a statement whose SQL starts with a
//!   given text (e.g. `COMMIT`), without forwarding that message, then pass
//!   traffic again,
//! * lose a reply ([`PgRelay::cut_once_after`]): forward that statement, so
//!   the server runs it, but drop the connection before its answer comes
//!   back (an ambiguous `COMMIT`),
//! * count round trips ([`PgRelay::round_trips`]): every simple `Query` and
//!   every `Sync` (one per extended-protocol statement, and a pool's ping)
//!   makes the client wait for the server once.
//!
//! Protocol: <https://www.postgresql.org/docs/current/protocol-message-formats.html>.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What the relay shares with its connection tasks.
#[derive(Default)]
struct State {
    /// Forwarding (false: refuse new connections).
    on: AtomicBool,
    /// Live connections.
    live: Mutex<Vec<tokio::task::AbortHandle>>,
    /// The armed one-shot cut: the SQL prefix (upper case) that triggers
    /// it, and whether the statement is forwarded first.
    cut_at: Mutex<Option<(String, bool)>>,
    /// How many one-shot cuts fired.
    cuts: AtomicU64,
    /// Simple `Query` messages seen.
    queries: AtomicU64,
    /// `Sync` messages seen.
    syncs: AtomicU64,
    /// `Parse` messages seen (statements prepared).
    parses: AtomicU64,
}

/// A relay listening on a loopback port.
#[derive(Clone)]
pub struct PgRelay {
    /// Where the relay listens.
    pub addr: SocketAddr,
    state: Arc<State>,
}

/// Round-trip counters of a relay (see [`PgRelay::round_trips`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireCounts {
    /// Simple `Query` messages (`BEGIN`, `COMMIT`, unparameterised SQL).
    pub queries: u64,
    /// `Sync` messages (one per extended-protocol statement or ping).
    pub syncs: u64,
    /// `Parse` messages (statements prepared, i.e. statement-cache misses).
    pub parses: u64,
}

impl WireCounts {
    /// Round trips: every `Query` and every `Sync` waits for the server once.
    pub fn round_trips(&self) -> u64 {
        self.queries + self.syncs
    }

    /// `self - earlier`.
    pub fn since(&self, earlier: WireCounts) -> WireCounts {
        WireCounts {
            queries: self.queries - earlier.queries,
            syncs: self.syncs - earlier.syncs,
            parses: self.parses - earlier.parses,
        }
    }
}

impl PgRelay {
    /// Start a relay to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> PgRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        state.on.store(true, Ordering::SeqCst);
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !shared.on.load(Ordering::SeqCst) {
                    drop(inbound); // refused
                    continue;
                }
                let upstream = upstream.clone();
                let conn_state = Arc::clone(&shared);
                let task = tokio::spawn(async move {
                    if let Ok(out) = TcpStream::connect(&upstream).await {
                        relay_connection(inbound, out, conn_state).await;
                    }
                });
                shared.live.lock().unwrap().push(task.abort_handle());
            }
        });
        PgRelay { addr, state }
    }

    /// Start a relay in front of the server of the database URL `url` and
    /// return it with `url` rewritten to go through it.
    pub async fn in_front_of(url: &str) -> (PgRelay, String) {
        let mut via = url::Url::parse(url).unwrap();
        let upstream = format!(
            "{}:{}",
            via.host_str().unwrap_or("127.0.0.1"),
            via.port_or_known_default().unwrap_or(5432)
        );
        let relay = PgRelay::start(upstream).await;
        via.set_host(Some("127.0.0.1")).unwrap();
        via.set_port(Some(relay.addr.port())).unwrap();
        (relay, via.to_string())
    }

    /// Drop every live connection and refuse new ones until [`restore`](Self::restore).
    pub fn cut(&self) {
        self.state.on.store(false, Ordering::SeqCst);
        for task in self.state.live.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Accept connections again.
    pub fn restore(&self) {
        self.state.on.store(true, Ordering::SeqCst);
    }

    /// Arm a one-shot cut: the next connection that sends a statement whose
    /// SQL starts with `sql_prefix` (case-insensitive, after leading
    /// whitespace) is dropped before that message reaches the server. The
    /// relay keeps accepting connections.
    pub fn cut_once_at(&self, sql_prefix: &str) {
        *self.state.cut_at.lock().unwrap() = Some((sql_prefix.to_ascii_uppercase(), false));
    }

    /// Arm a one-shot lost reply: like [`cut_once_at`](Self::cut_once_at),
    /// but the statement is forwarded (the server executes it) after the
    /// server → client direction has stopped, so its answer never arrives.
    pub fn cut_once_after(&self, sql_prefix: &str) {
        *self.state.cut_at.lock().unwrap() = Some((sql_prefix.to_ascii_uppercase(), true));
    }

    /// How many one-shot cuts have fired.
    pub fn cuts(&self) -> u64 {
        self.state.cuts.load(Ordering::SeqCst)
    }

    /// Whether an armed one-shot cut is still waiting for its statement.
    pub fn cut_pending(&self) -> bool {
        self.state.cut_at.lock().unwrap().is_some()
    }

    /// The round-trip counters so far.
    pub fn round_trips(&self) -> WireCounts {
        WireCounts {
            queries: self.state.queries.load(Ordering::SeqCst),
            syncs: self.state.syncs.load(Ordering::SeqCst),
            parses: self.state.parses.load(Ordering::SeqCst),
        }
    }
}

/// Forward one connection: server → client verbatim, client → server
/// message by message (to count them and to cut at one).
async fn relay_connection(inbound: TcpStream, out: TcpStream, state: Arc<State>) {
    let (mut client_rx, mut client_tx) = inbound.into_split();
    let (mut server_rx, mut server_tx) = out.into_split();
    // While `swallow` is set, the server's answers are not forwarded: the
    // first one read wakes `replied` and ends the connection.
    let swallow = Arc::new(AtomicBool::new(false));
    let replied = Arc::new(tokio::sync::Notify::new());
    let (swallow2, replied2) = (Arc::clone(&swallow), Arc::clone(&replied));
    let down = tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        loop {
            let n = match server_rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if swallow2.load(Ordering::SeqCst) {
                replied2.notify_one();
                break;
            }
            if client_tx.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 8192];
    // The startup phase has untyped messages (SSLRequest, GSSENCRequest,
    // StartupMessage); after the StartupMessage every message is typed.
    let mut started = false;
    'conn: loop {
        let n = match client_rx.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        // Forward every complete message; keep a partial one for later.
        let mut done = 0;
        loop {
            let rest = &buf[done..];
            let (header, typ) = if started {
                if rest.len() < 5 {
                    break;
                }
                (1, Some(rest[0]))
            } else {
                if rest.len() < 4 {
                    break;
                }
                (0, None)
            };
            let len = u32::from_be_bytes(rest[header..header + 4].try_into().unwrap()) as usize;
            let total = header + len;
            if rest.len() < total {
                break;
            }
            let body = &rest[header + 4..total];
            match typ {
                None => {
                    // StartupMessage: protocol version 3.0 (196608).
                    if body.len() >= 4 && body[..4] == [0, 3, 0, 0] {
                        started = true;
                    }
                }
                Some(b'Q') => {
                    state.queries.fetch_add(1, Ordering::SeqCst);
                    if let Some(forward) = should_cut(&state, body) {
                        if forward {
                            // Stop forwarding answers, send the statement,
                            // and wait for the server's answer (sent once
                            // the statement is done, e.g. committed) before
                            // the client's connection drops.
                            swallow.store(true, Ordering::SeqCst);
                            if server_tx.write_all(&rest[..total]).await.is_ok() {
                                replied.notified().await;
                            }
                        }
                        break 'conn;
                    }
                }
                Some(b'P') => {
                    state.parses.fetch_add(1, Ordering::SeqCst);
                    // Parse: statement name (C string), then the query.
                    let query = body
                        .iter()
                        .position(|b| *b == 0)
                        .map_or(&body[..0], |i| &body[i + 1..]);
                    if should_cut(&state, query).is_some() {
                        // (A lost reply is only supported for simple queries.)
                        break 'conn;
                    }
                }
                Some(b'S') => {
                    state.syncs.fetch_add(1, Ordering::SeqCst);
                }
                Some(_) => {}
            }
            if server_tx.write_all(&rest[..total]).await.is_err() {
                break 'conn;
            }
            done += total;
        }
        buf.drain(..done);
    }
    // Dropping both sockets closes them: the server rolls back whatever
    // transaction the connection had open.
    down.abort();
    drop(server_tx);
}

/// Whether the armed one-shot cut matches this SQL (and disarm it if so):
/// `Some(forward_first)`.
fn should_cut(state: &State, sql: &[u8]) -> Option<bool> {
    let mut armed = state.cut_at.lock().unwrap();
    let (prefix, forward) = armed.as_ref()?;
    let text = String::from_utf8_lossy(sql);
    if text
        .trim_start()
        .to_ascii_uppercase()
        .starts_with(prefix.as_str())
    {
        let forward = *forward;
        *armed = None;
        state.cuts.fetch_add(1, Ordering::SeqCst);
        Some(forward)
    } else {
        None
    }
}
