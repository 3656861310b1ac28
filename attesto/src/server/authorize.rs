//! The `authorize` endpoint (being built).

use std::sync::Arc;

use axum::Router;

use super::{Host, Inner, ServerConfig};
use crate::store::Stores;

/// The routes of this endpoint.
pub(crate) fn routes<H: Host, S: Stores>(_cfg: &ServerConfig) -> Router<Arc<Inner<H, S>>> {
    Router::new()
}
