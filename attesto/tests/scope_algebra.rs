//! Scope parsing, wildcard grants, catalogs and narrowing.

// Test code: a panic on an unexpected value is the failure report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use attesto::error::{ErrorCode, OAuthError};
use attesto::scope::{
    MAX_SCOPE_LEN, MAX_SCOPE_TOKEN_LEN, MAX_SCOPE_TOKENS, Scope, ScopeCatalog, ScopeError,
    ScopeSet, narrow,
};

fn set(s: &str) -> ScopeSet {
    ScopeSet::parse(s).unwrap()
}

fn sc(s: &str) -> Scope {
    Scope::new(s).unwrap()
}

#[test]
fn parse_keeps_order_and_drops_repeats() {
    let s = set("write read write admin read");
    assert_eq!(s.as_strs().collect::<Vec<_>>(), ["write", "read", "admin"]);
    assert_eq!(s.to_string(), "write read admin");
    assert_eq!(s.len(), 3);
}

#[test]
fn parse_is_strict_about_spaces() {
    assert_eq!(ScopeSet::parse(""), Err(ScopeError::Empty));
    assert_eq!(ScopeSet::parse(" a"), Err(ScopeError::EmptyToken));
    assert_eq!(ScopeSet::parse("a "), Err(ScopeError::EmptyToken));
    assert_eq!(ScopeSet::parse("a  b"), Err(ScopeError::EmptyToken));
    assert_eq!(ScopeSet::parse(" "), Err(ScopeError::EmptyToken));
    assert_eq!(
        ScopeSet::parse("a\tb"),
        Err(ScopeError::InvalidCharacter { position: 1 })
    );
    assert_eq!(
        ScopeSet::parse("ok a\nb"),
        Err(ScopeError::InvalidCharacter { position: 4 })
    );
}

#[test]
fn parse_rejects_characters_outside_nqchar() {
    for bad in ["a\"b", "a\\b", "é", "a\u{0}", "a\u{7f}", "\r\n"] {
        assert!(
            matches!(
                ScopeSet::parse(bad),
                Err(ScopeError::InvalidCharacter { .. })
            ),
            "{bad:?}"
        );
    }
    // Every other printable ASCII character is allowed.
    assert!(
        ScopeSet::parse("read:reports https://api.example/x urn:a:b!#$%&'()*+,-./;<=>?@[]^_`{|}~")
            .is_ok()
    );
}

#[test]
fn parse_bounds_sizes() {
    let long = "a".repeat(MAX_SCOPE_TOKEN_LEN + 1);
    assert_eq!(ScopeSet::parse(&long), Err(ScopeError::TokenTooLong));
    assert!(ScopeSet::parse(&"a".repeat(MAX_SCOPE_TOKEN_LEN)).is_ok());
    let many = (0..=MAX_SCOPE_TOKENS)
        .map(|i| format!("s{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(ScopeSet::parse(&many), Err(ScopeError::TooManyTokens));
    let huge = vec!["a"; MAX_SCOPE_LEN].join(" ");
    assert_eq!(ScopeSet::parse(&huge), Err(ScopeError::TooLong));
    // Repeats do not count towards the token limit.
    assert_eq!(
        ScopeSet::parse(&vec!["a"; 1000].join(" ")).unwrap().len(),
        1
    );
}

#[test]
fn absent_or_empty_parameter_is_the_empty_set() {
    assert!(ScopeSet::from_param(None).unwrap().is_empty());
    assert!(ScopeSet::from_param(Some("")).unwrap().is_empty());
    assert_eq!(ScopeSet::from_param(Some("a b")).unwrap(), set("a b"));
    assert!(ScopeSet::from_param(Some(" ")).is_err());
}

// seed-catalog-1 §4 item 52: scope order doesn't matter (sorted set).
#[test]
fn scope_order_does_not_matter_for_equality_or_canonical_form() {
    assert_eq!(set("b a c"), set("c b a"));
    assert_ne!(set("a b"), set("a b c"));
    assert_eq!(
        set("b a c").sorted().to_string(),
        set("c a b").sorted().to_string()
    );
    assert_eq!(set("b a c").sorted().to_string(), "a b c");
}

#[test]
fn subset_intersection_and_union_are_exact() {
    let a = set("a b c");
    assert!(set("a c").is_subset(&a));
    assert!(!set("a d").is_subset(&a));
    assert!(ScopeSet::new().is_subset(&a));
    assert_eq!(a.intersection(&set("c x a")).to_string(), "a c");
    assert_eq!(a.union(&set("d a")).to_string(), "a b c d");
    // Exact: a wildcard is not a superset in these operations.
    assert!(!set("documents.read").is_subset(&set("documents.*")));
}

#[test]
fn wildcard_grants_one_more_segment_only() {
    let w = sc("documents.*");
    assert!(w.is_wildcard());
    assert_eq!(w.wildcard_prefix(), Some("documents"));
    assert!(w.grants(&sc("documents.read")));
    assert!(w.grants(&sc("documents.write")));
    assert!(w.grants(&sc("documents.*")));
    assert!(!w.grants(&sc("documents")));
    assert!(!w.grants(&sc("documents.")));
    assert!(!w.grants(&sc("documentsX.read")));
    assert!(!w.grants(&sc("documents.a.b")));
    assert!(!w.grants(&sc("other.read")));
    assert!(sc("documents.a.*").grants(&sc("documents.a.b")));
    assert!(!sc("documents.a.*").grants(&sc("documents.a")));
}

#[test]
fn bare_star_and_inner_stars_are_not_wildcards() {
    for literal in ["*", ".*", "a.*.b", "a*", "documents.x*"] {
        let s = sc(literal);
        assert!(!s.is_wildcard(), "{literal}");
        assert!(s.grants(&s));
    }
    assert!(!sc("*").grants(&sc("documents.read")));
    assert!(!sc("*").grants(&sc("anything")));
}

#[test]
fn concrete_grants_never_cover_a_requested_wildcard() {
    let granted = set("documents.read documents.write");
    assert!(!granted.grants(&sc("documents.*")));
}

#[test]
fn readme_example_grants_via_catalog() {
    // seed 003 README, "Match scopes".
    let catalog = ScopeCatalog::new(["documents.read", "documents.write", "reports.read"]).unwrap();
    assert!(catalog.grants(&set("documents.*"), &sc("documents.write")));
    assert!(!catalog.grants_all(&set("documents.read"), &set("documents.write")));
    assert!(catalog.grants_all(
        &set("documents.* reports.read"),
        &set("documents.read reports.read")
    ));
}

#[test]
fn catalog_bounds_what_a_wildcard_grant_covers() {
    let catalog = ScopeCatalog::new(["documents.read", "documents.write"]).unwrap();
    // Syntactically covered, but not a supported scope.
    assert!(set("documents.*").grants(&sc("documents.delete")));
    assert!(!catalog.grants(&set("documents.*"), &sc("documents.delete")));
    // A granted concrete scope outside the catalog is not honoured either.
    assert!(!catalog.grants(&set("admin"), &sc("admin")));
}

#[test]
fn catalog_wildcard_entries_support_their_namespace() {
    let catalog = ScopeCatalog::new(["openid", "documents.*"]).unwrap();
    assert!(catalog.supports(&sc("documents.read")));
    assert!(catalog.supports(&sc("documents.*")));
    assert!(!catalog.supports(&sc("documents.a.b")));
    assert!(!catalog.supports(&sc("documents")));
    assert!(!catalog.supports(&sc("profile")));
    assert_eq!(catalog.supported().to_string(), "openid documents.*");
}

// seed-catalog-3a §7: default policy = requested must be a subset of scopes_supported.
#[test]
fn default_policy_rejects_unsupported_scope_as_invalid_scope() {
    let catalog = ScopeCatalog::new(["openid", "profile"]).unwrap();
    assert_eq!(
        catalog.authorize(&set("openid profile")).unwrap(),
        set("openid profile")
    );
    let err = catalog.authorize(&set("openid admin")).unwrap_err();
    assert_eq!(err, ScopeError::Unsupported(sc("admin")));
    let oauth: OAuthError = err.into();
    assert_eq!(oauth.code(), &ErrorCode::InvalidScope);
    assert_eq!(oauth.status(), 400);
    // The description does not echo the requested text.
    assert!(!oauth.json_body().contains("admin"));
}

// seed-catalog-1 §4 items 1-3: default scope.
#[test]
fn empty_request_gets_the_default_scope() {
    let catalog = ScopeCatalog::new(["openid", "profile", "email"])
        .unwrap()
        .with_defaults(["openid", "profile"])
        .unwrap();
    assert_eq!(
        catalog.authorize(&ScopeSet::new()).unwrap().to_string(),
        "openid profile"
    );
    assert_eq!(catalog.defaults().to_string(), "openid profile");
}

// seed-catalog-1 §4 item 2: no default → stays without scope (fail closed).
#[test]
fn empty_request_without_defaults_grants_nothing() {
    let catalog = ScopeCatalog::new(["openid"]).unwrap();
    assert!(catalog.authorize(&ScopeSet::new()).unwrap().is_empty());
}

// seed-catalog-1 §4 item 3: default outside scopes_supported → configuration error.
#[test]
fn default_scope_outside_the_catalog_is_a_configuration_error() {
    let err = ScopeCatalog::new(["openid"])
        .unwrap()
        .with_defaults(["openid", "admin"])
        .unwrap_err();
    assert_eq!(err, ScopeError::DefaultNotSupported(sc("admin")));
    // A default covered by a catalog wildcard is fine.
    assert!(
        ScopeCatalog::new(["documents.*"])
            .unwrap()
            .with_defaults(["documents.read"])
            .is_ok()
    );
    assert!(ScopeCatalog::new(["ok", "bad token"]).is_err());
}

// seed-catalog-1 §4 items 62 and 77: scope narrowing never widens.
#[test]
fn narrowing_beyond_the_grant_is_invalid_scope() {
    let granted = set("documents.read profile");
    let err = narrow(&set("documents.read admin"), &granted).unwrap_err();
    assert_eq!(err, ScopeError::NotGranted(sc("admin")));
    assert_eq!(OAuthError::from(err).code(), &ErrorCode::InvalidScope);
    assert!(narrow(&set("documents.*"), &granted).is_err());
}

#[test]
fn narrowing_to_a_subset_returns_the_request() {
    let granted = set("documents.read documents.write profile");
    assert_eq!(
        narrow(&set("profile documents.read"), &granted)
            .unwrap()
            .to_string(),
        "profile documents.read"
    );
    // Through a wildcard grant.
    assert_eq!(
        narrow(&set("documents.read"), &set("documents.*")).unwrap(),
        set("documents.read")
    );
}

// RFC 6749 §6: an omitted scope on refresh is the original grant.
#[test]
fn narrowing_with_no_request_keeps_the_grant() {
    let granted = set("a b");
    assert_eq!(narrow(&ScopeSet::new(), &granted).unwrap(), granted);
}

#[test]
fn granted_subset_drops_what_is_not_granted() {
    let granted = set("documents.* profile");
    assert_eq!(
        granted
            .granted_subset(&set("admin documents.read profile documents.a.b"))
            .to_string(),
        "documents.read profile"
    );
}

#[test]
fn scope_sets_serialize_as_the_space_joined_claim() {
    let s = set("b a");
    assert_eq!(serde_json::to_string(&s).unwrap(), r#""b a""#);
    let back: ScopeSet = serde_json::from_str(r#""b a""#).unwrap();
    assert_eq!(back.to_string(), "b a");
    assert!(serde_json::from_str::<ScopeSet>(r#""a  b""#).is_err());
    assert!(
        serde_json::from_str::<ScopeSet>(r#""""#)
            .unwrap()
            .is_empty()
    );
    assert_eq!(serde_json::to_string(&sc("x")).unwrap(), r#""x""#);
    assert!(serde_json::from_str::<Scope>(r#""x y""#).is_err());
}

#[test]
fn from_tokens_validates_each_token() {
    assert_eq!(
        ScopeSet::from_tokens(["a", "b", "a"]).unwrap().to_string(),
        "a b"
    );
    assert!(ScopeSet::from_tokens(["a b"]).is_err());
    assert!(ScopeSet::from_tokens([""]).is_err());
    let collected: ScopeSet = [sc("x"), sc("y"), sc("x")].into_iter().collect();
    assert_eq!(collected.to_string(), "x y");
}
