//! `#[derive(OAuthClient)]`: field attributes map a host's client model to
//! `attesto::host::OAuthClient`. See the documentation on the re-export
//! `attesto::OAuthClient` for the grammar.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::derive_util::{
    Access, Errors, access, attesto_items, call, did_you_mean, impl_header, named_fields, unknown,
};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Target {
    ClientId,
    SecretHash,
    RedirectUris,
    GrantTypes,
    ResponseTypes,
    AuthMethod,
    Jwks,
    JwksUri,
    Public,
    RequiresDpop,
    RequiresMtls,
    Scopes,
    TlsDn,
    PostLogout,
    BackchannelUri,
    BackchannelSession,
}

use Target as T;

/// Every mapping name, with the RFC 7591 / RFC 8705 / OIDC member names as
/// aliases.
const KEYS: &[(&str, Target)] = &[
    ("client_id", T::ClientId),
    ("secret_hash", T::SecretHash),
    ("client_secret_hash", T::SecretHash),
    ("redirect_uris", T::RedirectUris),
    ("grant_types", T::GrantTypes),
    ("response_types", T::ResponseTypes),
    ("auth_method", T::AuthMethod),
    ("token_endpoint_auth_method", T::AuthMethod),
    ("jwks", T::Jwks),
    ("jwks_uri", T::JwksUri),
    ("public", T::Public),
    ("requires_dpop", T::RequiresDpop),
    ("dpop_bound_access_tokens", T::RequiresDpop),
    ("requires_mtls", T::RequiresMtls),
    (
        "tls_client_certificate_bound_access_tokens",
        T::RequiresMtls,
    ),
    ("scopes", T::Scopes),
    ("scope", T::Scopes),
    ("tls_client_auth_subject_dn", T::TlsDn),
    ("post_logout_redirect_uris", T::PostLogout),
    ("backchannel_logout_uri", T::BackchannelUri),
    ("backchannel_logout_session_required", T::BackchannelSession),
];

const OPTIONS: &[&str] = &["separator", "with", "into", "try_from"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Id,
    Text,
    List,
    AuthMethod,
    Jwks,
    Flag,
}

impl Target {
    fn kind(self) -> Kind {
        match self {
            T::ClientId => Kind::Id,
            T::SecretHash | T::JwksUri | T::TlsDn | T::BackchannelUri => Kind::Text,
            T::RedirectUris | T::GrantTypes | T::ResponseTypes | T::Scopes | T::PostLogout => {
                Kind::List
            }
            T::AuthMethod => Kind::AuthMethod,
            T::Jwks => Kind::Jwks,
            T::Public | T::RequiresDpop | T::RequiresMtls | T::BackchannelSession => Kind::Flag,
        }
    }

    /// The name used in messages.
    fn name(self) -> &'static str {
        KEYS.iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(n, _)| n)
    }
}

enum Conv {
    Default,
    Separator(syn::LitStr),
    With(syn::Path),
    Into,
    TryFrom,
}

struct Mapping {
    access: Access,
    field: syn::Ident,
    field_ty: syn::Type,
    conv: Conv,
}

pub(crate) fn expand(input: syn::DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let header = impl_header(&input, quote!(::attesto::__private::derive::OAuthClient));
    let mappings = collect(&input, &mut errors);
    if !errors.is_empty() {
        // Keep the type an `OAuthClient` so uses of it do not cascade into
        // follow-up errors; the compile errors fail the build anyway.
        let errs = errors.into_compile_errors();
        return quote! {
            #errs
            #[automatically_derived]
            #header {
                fn client_id(&self) -> ::attesto::__private::std::borrow::Cow<'_, str> {
                    ::attesto::__private::std::borrow::Cow::Borrowed("")
                }
            }
        };
    }
    generate(&header, &mappings)
}

fn collect(input: &syn::DeriveInput, errors: &mut Errors) -> HashMap<Target, Mapping> {
    let mut out: HashMap<Target, Mapping> = HashMap::new();
    for (_, items) in attesto_items(&input.attrs, errors) {
        if let Some(first) = items.first() {
            errors.at(
                first.name_span,
                "`#[derive(OAuthClient)]` takes no container arguments\nhelp: put each `#[attesto(...)]` mapping on the field it reads",
            );
        }
    }
    let fields = match named_fields(input, "OAuthClient") {
        Ok(f) => f,
        Err(e) => {
            errors.push(e);
            return out;
        }
    };
    let key_names: Vec<&str> = KEYS.iter().map(|(n, _)| *n).collect();
    let all_names: Vec<&str> = key_names.iter().chain(OPTIONS).copied().collect();
    let mut first_field: HashMap<Target, String> = HashMap::new();
    // A `client_id` mapping that was written but rejected: its own error
    // says what is wrong, so "missing client_id" would only repeat it.
    let mut id_attempted = false;
    for field in fields {
        let Some(ident) = &field.ident else { continue };
        for (_, items) in attesto_items(&field.attrs, errors) {
            let mut target: Option<(Target, Span)> = None;
            let mut opts = Vec::new();
            for item in &items {
                if let Some((_, t)) = KEYS.iter().find(|(n, _)| *n == item.name) {
                    if let Some((prev, _)) = target {
                        id_attempted |= *t == T::ClientId;
                        errors.at(
                            item.name_span,
                            format!(
                                "one mapping per `#[attesto(...)]`: this field already maps `{}`\nhelp: add a second attribute: `#[attesto({})]`",
                                prev.name(),
                                item.name
                            ),
                        );
                        continue;
                    }
                    if item.expect_bare(
                        errors,
                        &format!(
                            "write `#[attesto({})]` on the field that holds it",
                            item.name
                        ),
                    ) {
                        target = Some((*t, item.name_span));
                    } else if *t == T::ClientId {
                        id_attempted = true;
                    }
                } else if OPTIONS.contains(&item.name.as_str()) {
                    opts.push(item);
                } else {
                    if did_you_mean(&item.name, &key_names) == Some("client_id") {
                        id_attempted = true;
                    }
                    errors.at(
                        item.name_span,
                        unknown(
                            "client mapping (RFC 7591 §2 client metadata names, or their short forms)",
                            &item.name,
                            &all_names,
                        ),
                    );
                }
            }
            let Some((t, key_span)) = target else {
                if let Some(o) = opts.first() {
                    errors.at(
                        o.name_span,
                        format!(
                            "`{}` is an option of a mapping; name the mapping first\nhelp: e.g. `#[attesto(redirect_uris, separator = \" \")]`",
                            o.name
                        ),
                    );
                }
                continue;
            };
            let mut conv = Conv::Default;
            for o in opts {
                let applies = match o.name.as_str() {
                    "separator" => t.kind() == Kind::List,
                    "into" | "try_from" => t.kind() == Kind::AuthMethod,
                    _ => t.kind() != Kind::Jwks,
                };
                if !applies {
                    let help = match o.name.as_str() {
                        "separator" => {
                            "`separator` splits a string into a list: it applies to `redirect_uris`, `post_logout_redirect_uris`, `grant_types`, `response_types` and `scopes`"
                        }
                        "into" | "try_from" => {
                            "`into` / `try_from` convert your own enum: they apply to `auth_method`"
                        }
                        _ => {
                            "`jwks` reads a `serde_json::Value`, JSON text or `Json<Value>` field directly"
                        }
                    };
                    errors.at(
                        o.name_span,
                        format!(
                            "`{}` does not apply to `{}`\nhelp: {help}",
                            o.name,
                            t.name()
                        ),
                    );
                    continue;
                }
                if !matches!(conv, Conv::Default) {
                    errors.at(
                        o.name_span,
                        format!(
                            "`{}` conflicts with the conversion already given for `{}`\nhelp: give one of `separator`, `with`, `into`, `try_from`",
                            o.name,
                            t.name()
                        ),
                    );
                    continue;
                }
                conv = match o.name.as_str() {
                    "separator" => match o
                        .expect_str(errors, "e.g. `separator = \" \"` or `separator = \",\"`")
                    {
                        Some(s) if s.value().is_empty() => {
                            errors.at(s.span(), "the separator must not be empty");
                            continue;
                        }
                        Some(s) => Conv::Separator(s),
                        None => continue,
                    },
                    "with" => match o.expect_path(errors) {
                        Some(p) => Conv::With(p),
                        None => continue,
                    },
                    "into" => {
                        if !o.expect_bare(errors, "write `#[attesto(auth_method, into)]`") {
                            continue;
                        }
                        Conv::Into
                    }
                    _ => {
                        if !o.expect_bare(errors, "write `#[attesto(auth_method, try_from)]`") {
                            continue;
                        }
                        Conv::TryFrom
                    }
                };
            }
            if let Some(prev) = first_field.get(&t) {
                errors.at(
                    key_span,
                    format!(
                        "`{}` is already mapped to field `{prev}`\nhelp: each client metadata member (RFC 7591 §2) is read from one field",
                        t.name()
                    ),
                );
                continue;
            }
            first_field.insert(t, ident.to_string());
            out.insert(
                t,
                Mapping {
                    access: access(field),
                    field: ident.clone(),
                    field_ty: field.ty.clone(),
                    conv,
                },
            );
        }
    }
    if !out.contains_key(&T::ClientId) && !id_attempted {
        errors.at(
            input.ident.span(),
            "`#[derive(OAuthClient)]` needs the client identifier: mark its field `#[attesto(client_id)]`\nhelp: every client has a `client_id` (RFC 6749 §2.2, RFC 7591 §3.2.1)",
        );
    }
    out
}

/// `path(&self.field)` for `with = path`.
fn with_call(m: &Mapping, path: &syn::Path) -> TokenStream {
    let f = &m.field;
    quote_spanned!(path.span()=> #path(&self.#f))
}

fn list_read(m: &Mapping) -> TokenStream {
    match &m.conv {
        Conv::Separator(sep) => call(
            &m.access,
            "SeparatedField",
            "attesto_split",
            "opt_split",
            &quote!(, #sep),
        ),
        _ => call(
            &m.access,
            "ListField",
            "attesto_list",
            "opt_list",
            &TokenStream::new(),
        ),
    }
}

fn text_read(m: &Mapping) -> TokenStream {
    match &m.conv {
        Conv::With(p) => with_call(m, p),
        _ => call(
            &m.access,
            "TextField",
            "attesto_text",
            "opt_text",
            &TokenStream::new(),
        ),
    }
}

fn flag_read(m: &Mapping) -> TokenStream {
    match &m.conv {
        Conv::With(p) => with_call(m, p),
        _ => call(
            &m.access,
            "FlagField",
            "attesto_flag",
            "opt_flag",
            &TokenStream::new(),
        ),
    }
}

/// Plain `&self.field` of the field's own type (no `Json` peeling): for
/// identifiers and the `into` / `try_from` conversions.
fn plain(m: &Mapping) -> (TokenStream, &syn::Type) {
    let f = &m.field;
    (quote!(&self.#f), &m.field_ty)
}

#[allow(clippy::too_many_lines)]
fn generate(header: &TokenStream, maps: &HashMap<Target, Mapping>) -> TokenStream {
    let d = quote!(::attesto::__private::derive);
    let cow = quote!(::attesto::__private::std::borrow::Cow);
    let opt = quote!(::attesto::__private::std::option::Option);
    let vec = quote!(::attesto::__private::std::vec::Vec);
    let mut methods = TokenStream::new();

    if let Some(m) = maps.get(&T::ClientId) {
        let body = match &m.conv {
            Conv::With(p) => with_call(m, p),
            _ => {
                let (expr, ty) = plain(m);
                quote_spanned!(ty.span()=> <#ty as #d::IdField>::attesto_id(#expr))
            }
        };
        methods.extend(quote! {
            fn client_id(&self) -> #cow<'_, str> { #body }
        });
    }

    // How the stored method reads (`Ok` when unmapped: the trait default).
    let auth_read = match maps.get(&T::AuthMethod) {
        Some(m) => {
            let (expr, ty) = plain(m);
            let r = match &m.conv {
                Conv::With(p) => {
                    let call = with_call(m, p);
                    quote!(::attesto::__private::std::result::Result::Ok::<#d::TokenEndpointAuthMethod, #d::Malformed>(#call))
                }
                Conv::Into => {
                    quote_spanned!(ty.span()=> #d::auth_method_into::<#ty>(#expr))
                }
                Conv::TryFrom => {
                    quote_spanned!(ty.span()=> #d::auth_method_try_from::<#ty>(#expr))
                }
                _ => {
                    quote_spanned!(ty.span()=> <#ty as #d::AuthMethodField>::attesto_auth_method(#expr))
                }
            };
            methods.extend(quote! {
                fn token_endpoint_auth_method(&self) -> #d::TokenEndpointAuthMethod {
                    #d::auth_method(#r)
                }
            });
            r
        }
        None => {
            quote!(::attesto::__private::std::result::Result::Ok::<#d::TokenEndpointAuthMethod, #d::Malformed>(#d::TokenEndpointAuthMethod::ClientSecretBasic))
        }
    };
    let public_flag = maps.get(&T::Public).map(flag_read);
    if let Some(flag) = &public_flag {
        methods.extend(quote! {
            fn is_public(&self) -> bool { #d::is_public(#auth_read, #flag) }
        });
    }
    let public_or_false = public_flag.unwrap_or_else(|| quote!(false));
    let usable = quote!(#d::credentials_usable(#auth_read, #public_or_false));

    for (t, method) in [
        (T::SecretHash, quote!(client_secret_hash)),
        (T::TlsDn, quote!(tls_client_auth_subject_dn)),
    ] {
        if let Some(m) = maps.get(&t) {
            let r = text_read(m);
            methods.extend(quote! {
                fn #method(&self) -> #opt<&str> { #d::credential(#usable, #r) }
            });
        }
    }
    if let Some(m) = maps.get(&T::BackchannelUri) {
        let r = text_read(m);
        methods.extend(quote! {
            fn backchannel_logout_uri(&self) -> #opt<&str> { #r }
        });
    }

    let jwks = maps.get(&T::Jwks);
    let uri = maps.get(&T::JwksUri);
    if jwks.is_some() || uri.is_some() {
        let j = match jwks {
            Some(m) => call(
                &m.access,
                "JwksField",
                "attesto_jwks",
                "opt_jwks",
                &TokenStream::new(),
            ),
            None => quote!(#d::Jwks::Absent),
        };
        let u = match uri {
            Some(m) => text_read(m),
            None => quote!(#opt::None),
        };
        methods.extend(quote! {
            fn keys(&self) -> #d::ClientKeys<'_> {
                #d::keys(::attesto::__private::std::result::Result::is_ok(&#auth_read), #j, #u)
            }
        });
    }

    for (t, method) in [
        (T::RequiresDpop, quote!(requires_dpop)),
        (T::RequiresMtls, quote!(requires_mtls)),
        (
            T::BackchannelSession,
            quote!(backchannel_logout_session_required),
        ),
    ] {
        if let Some(m) = maps.get(&t) {
            let r = flag_read(m);
            methods.extend(quote! { fn #method(&self) -> bool { #r } });
        }
    }

    for (t, method) in [
        (T::RedirectUris, quote!(redirect_uris)),
        (T::PostLogout, quote!(post_logout_redirect_uris)),
    ] {
        if let Some(m) = maps.get(&t) {
            let body = match &m.conv {
                Conv::With(p) => {
                    let call = with_call(m, p);
                    quote!(::attesto::__private::std::iter::IntoIterator::into_iter(#call))
                }
                _ => {
                    let r = list_read(m);
                    quote!(#d::uris(#r))
                }
            };
            methods.extend(quote! {
                fn #method(&self) -> impl ::attesto::__private::std::iter::Iterator<Item = &str> + '_ { #body }
            });
        }
    }
    for (t, method, helper, ret) in [
        (
            T::GrantTypes,
            quote!(grant_types),
            quote!(grant_types),
            quote!(#opt<#vec<#cow<'_, str>>>),
        ),
        (
            T::ResponseTypes,
            quote!(response_types),
            quote!(response_types),
            quote!(#vec<#cow<'_, str>>),
        ),
        (
            T::Scopes,
            quote!(allowed_scopes),
            quote!(scopes),
            quote!(#opt<#vec<#cow<'_, str>>>),
        ),
    ] {
        if let Some(m) = maps.get(&t) {
            let body = match &m.conv {
                Conv::With(p) => with_call(m, p),
                _ => {
                    let r = list_read(m);
                    quote!(#d::#helper(#r))
                }
            };
            methods.extend(quote! { fn #method(&self) -> #ret { #body } });
        }
    }

    quote! {
        #[automatically_derived]
        #header {
            #methods
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn every_mapping_kind_has_a_name() {
        for (_, t) in KEYS {
            assert_ne!(t.name(), "?");
        }
    }
}
