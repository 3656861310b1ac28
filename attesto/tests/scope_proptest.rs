//! Properties of scope parsing and the grant algebra over arbitrary input.

// Test code: a panic on an unexpected value is the failure report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use attesto::scope::{Scope, ScopeSet, narrow};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-c]{1,3}",
        "[a-c]{1,2}\\.[a-c*]{1,2}",
        "[a-c]{1,2}\\.[a-c]{1,2}\\.\\*",
        "[!#-\\[\\]-~]{1,12}",
    ]
}

fn scope_set() -> impl Strategy<Value = ScopeSet> {
    proptest::collection::vec(token(), 0..8)
        .prop_map(|v| ScopeSet::from_tokens(v).expect("tokens are valid"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsing_arbitrary_strings_never_panics(s in any::<String>()) {
        let _ = ScopeSet::parse(&s);
        let _ = ScopeSet::from_param(Some(&s));
        let _ = Scope::new(&s);
    }

    #[test]
    fn accepted_values_are_nqchar_tokens_separated_by_single_spaces(s in "[ -~\\t\\r\\n]{0,40}") {
        if let Ok(set) = ScopeSet::parse(&s) {
            prop_assert!(!s.starts_with(' ') && !s.ends_with(' ') && !s.contains("  "));
            for t in set.as_strs() {
                prop_assert!(t.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)));
            }
        }
    }

    #[test]
    fn display_then_parse_is_identity(set in scope_set()) {
        if !set.is_empty() {
            let back = ScopeSet::parse(&set.to_string()).unwrap();
            prop_assert_eq!(back.to_string(), set.to_string());
        }
    }

    #[test]
    fn parse_drops_repeats_and_keeps_first_positions(v in proptest::collection::vec(token(), 1..10)) {
        let set = ScopeSet::parse(&v.join(" ")).unwrap();
        let mut expected: Vec<&str> = Vec::new();
        for t in &v {
            if !expected.contains(&t.as_str()) {
                expected.push(t);
            }
        }
        prop_assert_eq!(set.as_strs().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn equality_ignores_order(v in proptest::collection::vec(token(), 1..8)) {
        let a = ScopeSet::from_tokens(&v).unwrap();
        let mut r = v.clone();
        r.reverse();
        let b = ScopeSet::from_tokens(&r).unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a.sorted().to_string(), b.sorted().to_string());
    }

    #[test]
    fn narrowing_never_widens(requested in scope_set(), granted in scope_set()) {
        if let Ok(result) = narrow(&requested, &granted) {
            prop_assert!(granted.grants_all(&result));
        }
    }

    #[test]
    fn narrowing_to_any_subset_of_the_grant_succeeds(granted in scope_set(), mask in any::<u8>()) {
        let requested: ScopeSet = granted
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << (i % 8)) != 0)
            .map(|(_, s)| s.clone())
            .collect();
        let result = narrow(&requested, &granted).unwrap();
        if requested.is_empty() {
            prop_assert_eq!(result, granted);
        } else {
            prop_assert_eq!(result, requested);
        }
    }

    #[test]
    fn a_wildcard_grant_never_covers_other_namespaces_or_deeper_levels(
        prefix in "[a-c]{1,3}", other in "[a-c]{1,3}\\.[a-c]{1,2}(\\.[a-c]{1,2})?"
    ) {
        let w = Scope::new(&format!("{prefix}.*")).unwrap();
        let r = Scope::new(&other).unwrap();
        let expected = other
            .strip_prefix(&format!("{prefix}."))
            .is_some_and(|rest| !rest.contains('.'));
        prop_assert_eq!(w.grants(&r), expected);
    }

    #[test]
    fn granted_subset_is_granted_and_within_the_request(requested in scope_set(), granted in scope_set()) {
        let sub = granted.granted_subset(&requested);
        prop_assert!(sub.is_subset(&requested));
        prop_assert!(granted.grants_all(&sub));
    }
}
