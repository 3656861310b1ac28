//! Support for `#[derive(OAuthClient)]` and `#[derive(Principal)]`.
//!
//! The derives expand each mapped field to a call of one of the small
//! conversion traits below, spanned on the field's type, so a field of an
//! unsupported type is a trait-bound error pointing at that field (with the
//! `#[diagnostic::on_unimplemented]` message naming the attribute and the
//! accepted types). The helper functions turn the raw readings into the
//! values of [`OAuthClient`]'s methods and hold the fail-closed rules:
//!
//! - a list that cannot be read ([`List::Malformed`]) is empty: no redirect
//!   URI, no grant, no response type, no scope;
//! - an authentication method that does not parse makes the client unable to
//!   authenticate at all ([`auth_method`], [`credentials_usable`]): it reports
//!   `private_key_jwt` and exposes neither a secret nor keys;
//! - a JWK Set that is not a JSON object, or a client with both `jwks` and
//!   `jwks_uri` (RFC 7591 §2 forbids it), has no keys.

use std::borrow::Cow;
use std::sync::Arc;

pub use serde_json::{Map, Value};

pub use crate::host::{ClientKeys, OAuthClient, Principal, TokenEndpointAuthMethod};
pub use crate::token::PrincipalKind;

/// Stored data that cannot be read; the derived impl fails closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

// ---------------------------------------------------------------- text

/// A text value borrowed from a field (`String`, `&str`, `Box<str>`, …).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a text type attesto can read",
    label = "expected a string type here",
    note = "accepted: `String`, `&str`, `Box<str>`, `Cow<str>`, `Arc<str>`"
)]
pub trait StrLike {
    /// The text.
    fn attesto_str(&self) -> &str;
}

impl StrLike for str {
    fn attesto_str(&self) -> &str {
        self
    }
}
impl StrLike for String {
    fn attesto_str(&self) -> &str {
        self
    }
}
impl StrLike for Box<str> {
    fn attesto_str(&self) -> &str {
        self
    }
}
impl StrLike for Arc<str> {
    fn attesto_str(&self) -> &str {
        self
    }
}
impl StrLike for Cow<'_, str> {
    fn attesto_str(&self) -> &str {
        self
    }
}
impl<T: StrLike + ?Sized> StrLike for &T {
    fn attesto_str(&self) -> &str {
        (**self).attesto_str()
    }
}

// ---------------------------------------------------------------- identifiers

/// An identifier field: `#[attesto(client_id)]`, `#[attesto(subject)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an attesto identifier (`#[attesto(client_id)]` / `#[attesto(subject)]`)",
    label = "unsupported identifier type",
    note = "accepted: `String`, `&str`, `Box<str>`, `Cow<str>`, `Arc<str>`, integers, `uuid::Uuid` (attesto feature `uuid`)",
    note = "or convert it yourself: `#[attesto(client_id, with = path::to_fn)]` with `fn(&Field) -> Cow<'_, str>`"
)]
pub trait IdField {
    /// The identifier's text.
    fn attesto_id(&self) -> Cow<'_, str>;
}

impl<T: StrLike + ?Sized> IdField for T {
    fn attesto_id(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.attesto_str())
    }
}

macro_rules! int_ids {
    ($($t:ty),*) => {$(
        impl IdField for $t {
            fn attesto_id(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
        }
    )*};
}
int_ids!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

#[cfg(feature = "uuid")]
impl IdField for uuid::Uuid {
    fn attesto_id(&self) -> Cow<'_, str> {
        Cow::Owned(self.hyphenated().to_string())
    }
}

// ---------------------------------------------------------------- optional text

/// An optional text field (`secret_hash`, `jwks_uri`,
/// `tls_client_auth_subject_dn`, `backchannel_logout_uri`). An empty string
/// is absent.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an optional text field for attesto",
    label = "unsupported type for this `#[attesto(...)]` mapping",
    note = "accepted: `String`, `&str`, `Box<str>`, `Cow<str>`, `Arc<str>`, or an `Option` of one of them",
    note = "or convert it yourself: `with = path::to_fn` with `fn(&Field) -> Option<&str>`"
)]
pub trait TextField {
    /// The text, `None` when absent or empty.
    fn attesto_text(&self) -> Option<&str>;
}

impl<T: StrLike + ?Sized> TextField for T {
    fn attesto_text(&self) -> Option<&str> {
        Some(self.attesto_str()).filter(|s| !s.is_empty())
    }
}
impl<T: TextField> TextField for Option<T> {
    fn attesto_text(&self) -> Option<&str> {
        self.as_ref().and_then(TextField::attesto_text)
    }
}

// ---------------------------------------------------------------- lists

/// A list read from a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum List<'a> {
    /// No value (`None`, SQL `NULL`, JSON `null`).
    Absent,
    /// The items (empty items skipped).
    Items(Vec<&'a str>),
    /// The stored value is not a list of strings.
    Malformed,
}

/// A list field: `redirect_uris`, `grant_types`, `response_types`, `scopes`,
/// `post_logout_redirect_uris`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list field for attesto",
    label = "unsupported list type",
    note = "accepted: `Vec<String>` (or of `&str`, `Box<str>`, …), `serde_json::Value` (an array of strings), sqlx `Json<…>` of those, or an `Option` of one of them",
    note = "a string holding several values needs a separator: `#[attesto(redirect_uris, separator = \" \")]`"
)]
pub trait ListField {
    /// The list.
    fn attesto_list(&self) -> List<'_>;
}

fn items<'a>(it: impl Iterator<Item = &'a str>) -> List<'a> {
    List::Items(it.filter(|s| !s.is_empty()).collect())
}

impl<T: StrLike> ListField for [T] {
    fn attesto_list(&self) -> List<'_> {
        items(self.iter().map(StrLike::attesto_str))
    }
}
impl<T: StrLike> ListField for Vec<T> {
    fn attesto_list(&self) -> List<'_> {
        self.as_slice().attesto_list()
    }
}
impl<T: StrLike, const N: usize> ListField for [T; N] {
    fn attesto_list(&self) -> List<'_> {
        self.as_slice().attesto_list()
    }
}
impl ListField for Value {
    fn attesto_list(&self) -> List<'_> {
        match self {
            Value::Null => List::Absent,
            Value::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for v in a {
                    match v.as_str() {
                        Some("") => {}
                        Some(s) => out.push(s),
                        None => return List::Malformed,
                    }
                }
                List::Items(out)
            }
            _ => List::Malformed,
        }
    }
}
impl<T: ListField> ListField for Option<T> {
    fn attesto_list(&self) -> List<'_> {
        self.as_ref().map_or(List::Absent, ListField::attesto_list)
    }
}
impl<T: ListField + ?Sized> ListField for &T {
    fn attesto_list(&self) -> List<'_> {
        (**self).attesto_list()
    }
}

/// A string holding a separated list (`separator = " "`).
#[diagnostic::on_unimplemented(
    message = "`separator` needs a string field; `{Self}` is not one",
    label = "not a string type",
    note = "`separator` splits `String`, `&str`, `Box<str>`, `Cow<str>`, `Arc<str>` or an `Option` of one of them; remove it for a `Vec` or JSON list"
)]
pub trait SeparatedField {
    /// The items between the separators, trimmed, empty ones skipped.
    fn attesto_split<'a>(&'a self, separator: &str) -> List<'a>;
}

impl<T: StrLike + ?Sized> SeparatedField for T {
    fn attesto_split<'a>(&'a self, separator: &str) -> List<'a> {
        items(self.attesto_str().split(separator).map(str::trim))
    }
}
impl<T: SeparatedField> SeparatedField for Option<T> {
    fn attesto_split<'a>(&'a self, separator: &str) -> List<'a> {
        self.as_ref()
            .map_or(List::Absent, |v| v.attesto_split(separator))
    }
}

/// Registered URIs (`redirect_uris`, `post_logout_redirect_uris`): absent or
/// malformed is none, so every request naming one is refused.
pub fn uris(list: List<'_>) -> impl Iterator<Item = &str> + '_ {
    match list {
        List::Items(v) => v,
        List::Absent | List::Malformed => Vec::new(),
    }
    .into_iter()
}

fn cows(v: Vec<&str>) -> Vec<Cow<'_, str>> {
    v.into_iter().map(Cow::Borrowed).collect()
}

/// `grant_types`: absent or malformed is *no* grant (never `None`, which
/// the trait reads as "every grant the server supports").
#[must_use]
pub fn grant_types(list: List<'_>) -> Option<Vec<Cow<'_, str>>> {
    Some(match list {
        List::Items(v) => cows(v),
        List::Absent | List::Malformed => Vec::new(),
    })
}

/// `response_types`: absent or malformed is none.
#[must_use]
pub fn response_types(list: List<'_>) -> Vec<Cow<'_, str>> {
    match list {
        List::Items(v) => cows(v),
        List::Absent | List::Malformed => Vec::new(),
    }
}

/// `scopes`: absent defers to the server's catalog (`None`); malformed
/// allows no scope at all.
#[must_use]
pub fn scopes(list: List<'_>) -> Option<Vec<Cow<'_, str>>> {
    match list {
        List::Items(v) => Some(cows(v)),
        List::Absent => None,
        List::Malformed => Some(Vec::new()),
    }
}

// ---------------------------------------------------------------- flags

/// A boolean field (`public`, `requires_dpop`, `requires_mtls`,
/// `backchannel_logout_session_required`); `None` is `false`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a flag field for attesto",
    label = "expected `bool` or `Option<bool>`",
    note = "or convert it yourself: `with = path::to_fn` with `fn(&Field) -> bool`"
)]
pub trait FlagField {
    /// The flag.
    fn attesto_flag(&self) -> bool;
}

impl FlagField for bool {
    fn attesto_flag(&self) -> bool {
        *self
    }
}
impl<T: FlagField> FlagField for Option<T> {
    fn attesto_flag(&self) -> bool {
        self.as_ref().is_some_and(FlagField::attesto_flag)
    }
}
impl<T: FlagField + ?Sized> FlagField for &T {
    fn attesto_flag(&self) -> bool {
        (**self).attesto_flag()
    }
}

// ---------------------------------------------------------------- auth method

/// A `token_endpoint_auth_method` field: its RFC 7591 name as text, or
/// [`TokenEndpointAuthMethod`] itself. `None` is the RFC 7591 §2 default,
/// `client_secret_basic`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an authentication-method field for attesto",
    label = "unsupported type for `#[attesto(auth_method)]`",
    note = "accepted: a string holding the RFC 7591 name (`String`, `&str`, …), `attesto::host::TokenEndpointAuthMethod`, or an `Option` of one of them",
    note = "for your own enum add `into` (it implements `Into<TokenEndpointAuthMethod>`), `try_from` (`TokenEndpointAuthMethod: TryFrom<YourEnum>`) or `with = path::to_fn`"
)]
pub trait AuthMethodField {
    /// The method, or [`Malformed`] when the stored name is unknown.
    ///
    /// # Errors
    /// [`Malformed`] when the stored value is not a method attesto knows.
    fn attesto_auth_method(&self) -> Result<TokenEndpointAuthMethod, Malformed>;
}

impl<T: StrLike + ?Sized> AuthMethodField for T {
    fn attesto_auth_method(&self) -> Result<TokenEndpointAuthMethod, Malformed> {
        self.attesto_str().parse().map_err(|_| Malformed)
    }
}
impl AuthMethodField for TokenEndpointAuthMethod {
    fn attesto_auth_method(&self) -> Result<TokenEndpointAuthMethod, Malformed> {
        Ok(*self)
    }
}
impl<T: AuthMethodField> AuthMethodField for Option<T> {
    fn attesto_auth_method(&self) -> Result<TokenEndpointAuthMethod, Malformed> {
        self.as_ref()
            .map_or(Ok(TokenEndpointAuthMethod::ClientSecretBasic), |v| {
                v.attesto_auth_method()
            })
    }
}

/// `#[attesto(auth_method, into)]`.
///
/// # Errors
/// Never; the `Result` matches the other readings.
pub fn auth_method_into<T: Clone + Into<TokenEndpointAuthMethod>>(
    v: &T,
) -> Result<TokenEndpointAuthMethod, Malformed> {
    Ok(v.clone().into())
}

/// `#[attesto(auth_method, try_from)]`.
///
/// # Errors
/// [`Malformed`] when the conversion fails.
pub fn auth_method_try_from<T: Clone>(v: &T) -> Result<TokenEndpointAuthMethod, Malformed>
where
    TokenEndpointAuthMethod: TryFrom<T>,
{
    TokenEndpointAuthMethod::try_from(v.clone()).map_err(|_| Malformed)
}

/// The method a derived client reports. An unreadable stored method becomes
/// `private_key_jwt` *without keys* (see [`credentials_usable`]): no
/// authentication can succeed, and the client is never taken for a public
/// one.
#[must_use]
pub fn auth_method(read: Result<TokenEndpointAuthMethod, Malformed>) -> TokenEndpointAuthMethod {
    read.unwrap_or(TokenEndpointAuthMethod::PrivateKeyJwt)
}

/// Whether the client's credentials (secret hash, keys, DN) may be exposed:
/// not when its stored authentication method is unreadable, and not for a
/// public client (RFC 6749 §2.1: a public client has no credentials).
#[must_use]
pub fn credentials_usable(read: Result<TokenEndpointAuthMethod, Malformed>, public: bool) -> bool {
    read.is_ok() && !public
}

/// `is_public` of a derived client with a `public` field: the flag, but never
/// when the stored method is unreadable.
#[must_use]
pub fn is_public(read: Result<TokenEndpointAuthMethod, Malformed>, flag: bool) -> bool {
    read.is_ok() && flag
}

/// Gate an optional credential on [`credentials_usable`].
#[must_use]
pub fn credential(usable: bool, v: Option<&str>) -> Option<&str> {
    v.filter(|_| usable)
}

// ---------------------------------------------------------------- keys

/// An inline JWK Set read from a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Jwks<'a> {
    /// No value.
    Absent,
    /// A JSON object.
    Value(&'a Value),
    /// JSON text holding an object.
    Text(&'a str),
    /// Not a JSON object.
    Malformed,
}

/// A `jwks` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a JWK Set field for attesto",
    label = "unsupported type for `#[attesto(jwks)]`",
    note = "accepted: `serde_json::Value` (an object), JSON text (`String`, `&str`, …), sqlx `Json<Value>`, or an `Option` of one of them"
)]
pub trait JwksField {
    /// The JWK Set.
    fn attesto_jwks(&self) -> Jwks<'_>;
}

impl JwksField for Value {
    fn attesto_jwks(&self) -> Jwks<'_> {
        match self {
            Value::Null => Jwks::Absent,
            Value::Object(_) => Jwks::Value(self),
            _ => Jwks::Malformed,
        }
    }
}
impl<T: StrLike + ?Sized> JwksField for T {
    fn attesto_jwks(&self) -> Jwks<'_> {
        let s = self.attesto_str();
        if s.trim().is_empty() {
            return Jwks::Absent;
        }
        match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(_)) => Jwks::Text(s),
            _ => Jwks::Malformed,
        }
    }
}
impl<T: JwksField> JwksField for Option<T> {
    fn attesto_jwks(&self) -> Jwks<'_> {
        self.as_ref().map_or(Jwks::Absent, JwksField::attesto_jwks)
    }
}

/// The client's keys from its `jwks` and `jwks_uri` readings. Both present
/// (RFC 7591 §2: MUST NOT), a malformed set, or unusable credentials: none.
#[must_use]
pub fn keys<'a>(usable: bool, jwks: Jwks<'a>, uri: Option<&'a str>) -> ClientKeys<'a> {
    if !usable {
        return ClientKeys::None;
    }
    match (jwks, uri) {
        (Jwks::Malformed, _) | (Jwks::Value(_) | Jwks::Text(_), Some(_)) => ClientKeys::None,
        (Jwks::Value(v), None) => ClientKeys::Inline(Cow::Borrowed(v)),
        (Jwks::Text(s), None) => ClientKeys::InlineJson(Cow::Borrowed(s)),
        (Jwks::Absent, Some(u)) => ClientKeys::Uri(Cow::Borrowed(u)),
        (Jwks::Absent, None) => ClientKeys::None,
    }
}

// ---------------------------------------------------------------- principal claims

/// Insert claim `name` with the JSON form of `v`; `null` (a `None`) and a
/// value that fails to serialize are omitted.
pub fn claim<T: serde::Serialize + ?Sized>(claims: &mut Map<String, Value>, name: &str, v: &T) {
    match serde_json::to_value(v) {
        Ok(Value::Null) | Err(_) => {}
        Ok(v) => {
            claims.insert(name.to_owned(), v);
        }
    }
}

// ---------------------------------------------------------------- `Option<Json<T>>`

/// [`TextField`] of an `Option<Json<T>>` field, read as `Option<&T>`.
pub fn opt_text<T: TextField + ?Sized>(v: Option<&T>) -> Option<&str> {
    v.and_then(TextField::attesto_text)
}

/// [`ListField`] of an `Option<Json<T>>` field.
pub fn opt_list<T: ListField + ?Sized>(v: Option<&T>) -> List<'_> {
    v.map_or(List::Absent, ListField::attesto_list)
}

/// [`SeparatedField`] of an `Option<Json<T>>` field.
pub fn opt_split<'a, T: SeparatedField + ?Sized>(v: Option<&'a T>, separator: &str) -> List<'a> {
    v.map_or(List::Absent, |v| v.attesto_split(separator))
}

/// [`FlagField`] of an `Option<Json<T>>` field.
pub fn opt_flag<T: FlagField + ?Sized>(v: Option<&T>) -> bool {
    v.is_some_and(FlagField::attesto_flag)
}

/// [`AuthMethodField`] of an `Option<Json<T>>` field.
///
/// # Errors
/// As [`AuthMethodField::attesto_auth_method`].
pub fn opt_auth_method<T: AuthMethodField + ?Sized>(
    v: Option<&T>,
) -> Result<TokenEndpointAuthMethod, Malformed> {
    v.map_or(Ok(TokenEndpointAuthMethod::ClientSecretBasic), |v| {
        v.attesto_auth_method()
    })
}

/// [`JwksField`] of an `Option<Json<T>>` field.
pub fn opt_jwks<T: JwksField + ?Sized>(v: Option<&T>) -> Jwks<'_> {
    v.map_or(Jwks::Absent, JwksField::attesto_jwks)
}
