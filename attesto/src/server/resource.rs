//! The resource-server guard (being built).
