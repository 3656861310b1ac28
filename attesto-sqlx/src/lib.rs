//! SQLite (embedded default) and PostgreSQL (clusters) implementations of the
//! [attesto](https://docs.rs/attesto) store traits.
//!
//! The stores land with the persistence issue; until then attesto's in-memory
//! stores serve single-node use.
