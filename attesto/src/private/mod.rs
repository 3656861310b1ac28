//! Not public API: the items the macros expand to. Generated code names
//! everything through `::attesto::__private::…` so it never depends on what
//! the host has imported. May change in any release.

pub mod derive;
#[cfg(feature = "axum")]
pub mod server;

pub use ::serde_json;
pub use ::std;

// The public modules generated code names, re-exported here so expansions
// depend on this one hidden path only.
#[cfg(feature = "axum")]
pub use crate::server as server_api;
pub use crate::{host, jose, secret, store};
