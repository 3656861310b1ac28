//! The attesto demo server (built in the server issue).
fn main() {}
