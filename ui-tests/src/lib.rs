//! trybuild compile-fail / compile-pass tests of the attesto macros live in `tests/ui/`; see `tests/ui.rs`.
