//! `#[derive(Principal)]`: the subject field, claim fields and the
//! principal kind of a host's user model. See the documentation on the
//! re-export `attesto::Principal` for the grammar.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::derive_util::{Errors, attesto_items, did_you_mean, impl_header, named_fields, unknown};

use attesto_rules::claims::{is_reserved_claim, standard_scope_of};

const FIELD_KEYS: &[&str] = &["subject", "claim", "scope", "skip", "with"];
const CONTAINER_KEYS: &[&str] = &["kind", "sub_prefix"];

struct Claim {
    name: String,
    field: syn::Field,
}

pub(crate) fn expand(input: syn::DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let header = impl_header(&input, quote!(::attesto::__private::derive::Principal));
    let d = quote!(::attesto::__private::derive);
    let std = quote!(::attesto::__private::std);

    // ---- container: kind / sub_prefix
    let mut kind: Option<syn::LitStr> = None;
    let mut prefix: Option<syn::LitStr> = None;
    for (_, items) in attesto_items(&input.attrs, &mut errors) {
        for item in items {
            let slot = match item.name.as_str() {
                "kind" => &mut kind,
                "sub_prefix" => &mut prefix,
                other => {
                    errors.at(
                        item.name_span,
                        unknown("principal argument", other, CONTAINER_KEYS),
                    );
                    continue;
                }
            };
            let Some(s) = item.expect_str(
                &mut errors,
                "the principal kind and its `sub` prefix: `#[attesto(kind = \"user\", sub_prefix = \"usr_\")]`",
            ) else {
                continue;
            };
            if slot.is_some() {
                errors.at(item.name_span, format!("`{}` is given twice", item.name));
                continue;
            }
            if s.value().is_empty() {
                errors.at(
                    s.span(),
                    format!("`{}` must not be empty\nhelp: subjects of different kinds must be told apart by their prefix", item.name),
                );
                continue;
            }
            *slot = Some(s);
        }
    }

    // ---- fields
    let mut subject: Option<(syn::Field, Option<syn::Path>)> = None;
    let mut claims: Vec<Claim> = Vec::new();
    let mut custom: Vec<(String, String)> = Vec::new();
    // A `subject` mapping that was written but rejected already has its error.
    let mut subject_attempted = false;
    let fields = match named_fields(&input, "Principal") {
        Ok(f) => Some(f),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    for field in fields.into_iter().flatten() {
        let Some(ident) = &field.ident else { continue };
        for (_, items) in attesto_items(&field.attrs, &mut errors) {
            let mut is_subject: Option<Span> = None;
            let mut claim: Option<(String, Span)> = None;
            let mut scope: Option<syn::LitStr> = None;
            let mut skip: Option<Span> = None;
            let mut with: Option<syn::Path> = None;
            for item in &items {
                match item.name.as_str() {
                    "subject" => {
                        if item.expect_bare(&mut errors, "write `#[attesto(subject)]`") {
                            is_subject = Some(item.name_span);
                        } else {
                            subject_attempted = true;
                        }
                    }
                    "claim" => match &item.value {
                        None => {
                            if item.expect_bare(
                                &mut errors,
                                "`#[attesto(claim)]` or `#[attesto(claim = \"email\")]`",
                            ) {
                                claim = Some((
                                    ident.to_string().trim_start_matches("r#").to_owned(),
                                    ident.span(),
                                ));
                            }
                        }
                        Some(_) => {
                            if let Some(s) = item.expect_str(
                                &mut errors,
                                "`#[attesto(claim = \"email\")]` names the claim",
                            ) {
                                claim = Some((s.value(), s.span()));
                            }
                        }
                    },
                    "scope" => {
                        scope = item.expect_str(
                            &mut errors,
                            "the scope that releases the claim: `#[attesto(claim = \"roles\", scope = \"roles\")]`",
                        );
                    }
                    "skip" => {
                        if item.expect_bare(&mut errors, "write `#[attesto(skip)]`") {
                            skip = Some(item.name_span);
                        }
                    }
                    "with" => with = item.expect_path(&mut errors),
                    other => {
                        if did_you_mean(other, FIELD_KEYS) == Some("subject") {
                            subject_attempted = true;
                        }
                        errors.at(
                            item.name_span,
                            unknown("principal mapping", other, FIELD_KEYS),
                        );
                    }
                }
            }
            if let Some(s) = skip {
                if is_subject.is_some() || claim.is_some() || scope.is_some() {
                    errors.at(s, "`skip` cannot be combined with a mapping\nhelp: unmapped fields are not claims anyway; remove `skip` or the mapping");
                }
                continue;
            }
            if let (Some(s), Some(_)) = (is_subject, &claim) {
                subject_attempted = true;
                errors.at(s, "a field is either the `subject` or a `claim`\nhelp: `sub` comes from the subject field and the kind's prefix; it is never a host claim (OIDC Core §5.1)");
                continue;
            }
            if let Some(sp) = is_subject {
                if let Some(sc) = &scope {
                    errors.at(
                        sc.span(),
                        "`scope` applies to a `claim`, not to the `subject`",
                    );
                }
                if subject.is_some() {
                    errors.at(
                        sp,
                        "`subject` is already mapped\nhelp: a principal has one local identifier",
                    );
                } else {
                    subject = Some((field.clone(), with));
                }
                continue;
            }
            if let Some(w) = &with {
                errors.at(
                    w.span(),
                    "`with` applies to the `subject`; a claim is any `serde::Serialize` value",
                );
            }
            let Some((name, span)) = claim else {
                if let Some(sc) = &scope {
                    errors.at(
                        sc.span(),
                        "`scope` needs a claim: `#[attesto(claim = \"roles\", scope = \"roles\")]`",
                    );
                }
                continue;
            };
            if is_reserved_claim(&name) {
                errors.at(
                    span,
                    format!("`{name}` is a registered claim only attesto sets; a host cannot map it\nhelp: attesto sets `{name}` itself (RFC 7519 §4.1, OIDC Core §2); rename the claim"),
                );
                continue;
            }
            if claims.iter().any(|c| c.name == name) {
                errors.at(
                    span,
                    format!(
                        "claim `{name}` is already mapped\nhelp: each claim is read from one field"
                    ),
                );
                continue;
            }
            let standard = standard_scope_of(&name).is_some();
            match &scope {
                Some(sc) => {
                    if sc.value().is_empty() || sc.value().contains(' ') {
                        errors.at(
                            sc.span(),
                            "a scope is one non-empty token without spaces (RFC 6749 §3.3)",
                        );
                        continue;
                    }
                    custom.push((sc.value(), name.clone()));
                }
                None if !standard => {
                    errors.at(
                        span,
                        format!("`{name}` is not an OIDC standard claim, so no standard scope releases it\nhelp: name the scope that releases it: `#[attesto(claim = \"{name}\", scope = \"…\")]` (OIDC Core §5.1, §5.4)"),
                    );
                    continue;
                }
                None => {}
            }
            claims.push(Claim {
                name,
                field: field.clone(),
            });
        }
    }
    if subject.is_none() && fields.is_some() && !subject_attempted {
        errors.at(
            input.ident.span(),
            "`#[derive(Principal)]` needs the principal's identifier: mark its field `#[attesto(subject)]`\nhelp: `sub` is the kind's prefix followed by this identifier (OIDC Core §2)",
        );
    }

    if !errors.is_empty() {
        let errs = errors.into_compile_errors();
        return quote! {
            #errs
            #[automatically_derived]
            #header {
                fn subject_id(&self) -> #std::borrow::Cow<'_, str> {
                    #std::borrow::Cow::Borrowed("")
                }
            }
        };
    }

    let subject_body = match &subject {
        Some((f, Some(path))) => {
            let id = &f.ident;
            quote_spanned!(path.span()=> #path(&self.#id))
        }
        Some((f, None)) => {
            let (id, ty) = (&f.ident, &f.ty);
            quote_spanned!(ty.span()=> <#ty as #d::IdField>::attesto_id(&self.#id))
        }
        None => quote!(#std::borrow::Cow::Borrowed("")),
    };
    let kind_const = if kind.is_some() || prefix.is_some() {
        let k = kind.map_or_else(|| quote!("user"), |k| quote!(#k));
        let p = prefix.map_or_else(|| quote!("usr_"), |p| quote!(#p));
        quote! {
            const KIND: #std::option::Option<#d::PrincipalKind> =
                #std::option::Option::Some(#d::PrincipalKind::new(#k, #p, &[]));
        }
    } else {
        TokenStream::new()
    };
    let custom_const = if custom.is_empty() {
        TokenStream::new()
    } else {
        let pairs = custom.iter().map(|(s, c)| quote!((#s, #c)));
        quote! {
            const CUSTOM_CLAIMS: &'static [(&'static str, &'static str)] = &[#(#pairs),*];
        }
    };
    let inserts = claims.iter().map(|c| {
        let id = &c.field.ident;
        let ty = &c.field.ty;
        let name = &c.name;
        quote_spanned!(ty.span()=> #d::claim::<#ty>(&mut claims, #name, &self.#id);)
    });
    let claims_fn = if claims.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            fn claims(&self) -> #d::Map<#std::string::String, #d::Value> {
                let mut claims = #d::Map::new();
                #(#inserts)*
                claims
            }
        }
    };
    quote! {
        #[automatically_derived]
        #header {
            #kind_const
            #custom_const
            fn subject_id(&self) -> #std::borrow::Cow<'_, str> { #subject_body }
            #claims_fn
        }
    }
}
