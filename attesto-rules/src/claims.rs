//! Claim tables shared by the runtime (what a principal's claims release)
//! and `#[derive(Principal)]` (which mappings are refused at compile time).

/// The OIDC standard scope → claim table
/// ([OIDC Core §5.4](https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims)).
pub const STANDARD_SCOPE_CLAIMS: [(&str, &[&str]); 4] = [
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// The claims only attesto sets: registered JWT claims
/// ([RFC 7519 §4.1](https://www.rfc-editor.org/rfc/rfc7519#section-4.1)) and
/// the protocol claims of access and ID tokens. A host's principal can never
/// supply them.
pub const RESERVED_CLAIMS: [&str; 16] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "nonce",
    "azp",
    "at_hash",
    "c_hash",
    "auth_time",
    "cnf",
    "client_id",
    "scope",
    "sid",
];

/// Whether only attesto may set the claim `name` (see [`RESERVED_CLAIMS`]).
///
/// ```
/// assert!(attesto_rules::claims::is_reserved_claim("sub"));
/// assert!(!attesto_rules::claims::is_reserved_claim("email"));
/// ```
#[must_use]
pub fn is_reserved_claim(name: &str) -> bool {
    RESERVED_CLAIMS.contains(&name)
}

/// The standard scope that releases the claim `name`, if it is a standard claim.
#[must_use]
pub fn standard_scope_of(name: &str) -> Option<&'static str> {
    STANDARD_SCOPE_CLAIMS
        .iter()
        .find(|(_, claims)| claims.contains(&name))
        .map(|(scope, _)| *scope)
}
