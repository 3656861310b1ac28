//! JOSE benchmarks (filled in with the token work).
#![allow(missing_docs)]
fn main() {}
