//! trybuild compile-pass / compile-fail tests of the attesto macros (added with the macros issue).
