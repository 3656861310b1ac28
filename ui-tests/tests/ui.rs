//! Every compile-fail and compile-pass case of the macros, in one trybuild
//! run (one mistake per `fail/` file; each `.stderr` is reviewed).
//!
//! Regenerate the expected output after a deliberate change with
//! `TRYBUILD=overwrite cargo test -p ui-tests --test ui`, then review the diff.

#[test]
fn macro_diagnostics_match_the_reviewed_stderr_files() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/fail/*.rs");
    t.pass("tests/ui/*/pass/*.rs");
}
