//! Shared by the two derives: error accumulation, "did you mean" hints, the
//! named-struct check, field access (with sqlx `Json<T>` peeled), and the
//! parsing of one `#[attesto(...)]` attribute into its items.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Lit, Meta, Token};

/// Every error of one expansion, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub(crate) fn at(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span, msg));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.0.map(|e| e.to_compile_error()).unwrap_or_default()
    }
}

/// Levenshtein distance (the lists are a few dozen short names).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(usize::MAX) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(usize::MAX) + 1;
            let ins = cur.get(j).copied().unwrap_or(usize::MAX) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(usize::MAX)
}

/// The closest of `known` to `word`, when it is close enough to be a typo.
pub(crate) fn did_you_mean<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let close = known
        .iter()
        .map(|k| (distance(word, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k);
    // A shortened or lengthened name (`prefix` for `sub_prefix`).
    close.or_else(|| {
        known
            .iter()
            .find(|k| word.len() >= 3 && (k.contains(word) || word.contains(**k)))
            .copied()
    })
}

/// "unknown …" with a hint and the list of accepted names.
pub(crate) fn unknown(what: &str, word: &str, known: &[&str]) -> String {
    let hint = did_you_mean(word, known)
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    format!(
        "unknown {what} `{word}`{hint}\nhelp: expected one of: {}",
        known.join(", ")
    )
}

/// The named fields of a struct, or an error on the token that makes the
/// input something else (`enum`, `union`, a tuple struct's fields).
pub(crate) fn named_fields<'a>(
    input: &'a syn::DeriveInput,
    derive: &str,
) -> Result<&'a Punctuated<syn::Field, Token![,]>, syn::Error> {
    match &input.data {
        syn::Data::Struct(s) => match &s.fields {
            syn::Fields::Named(n) => Ok(&n.named),
            syn::Fields::Unnamed(u) => Err(syn::Error::new(
                u.paren_token.span.join(),
                format!(
                    "`#[derive({derive})]` needs a struct with named fields, not a tuple struct\nhelp: name the fields so each can carry its `#[attesto(...)]` mapping"
                ),
            )),
            syn::Fields::Unit => Err(syn::Error::new_spanned(
                &input.ident,
                format!("`#[derive({derive})]` needs a struct with named fields"),
            )),
        },
        syn::Data::Enum(e) => Err(syn::Error::new(
            e.enum_token.span,
            format!(
                "`#[derive({derive})]` is for structs, not enums\nhelp: derive it on the struct that holds one row of your table"
            ),
        )),
        syn::Data::Union(u) => Err(syn::Error::new(
            u.union_token.span,
            format!("`#[derive({derive})]` is for structs, not unions"),
        )),
    }
}

/// How a field is read: the expression and the type the conversion trait is
/// asked of. A field whose type is `Json<T>` (sqlx's `Json`, or any tuple
/// struct so named) is read through `.0`; `Option<Json<T>>` is read as an
/// `Option<&T>` (`optional`), through the `opt_*` helpers.
pub(crate) struct Access {
    pub(crate) expr: TokenStream,
    pub(crate) ty: syn::Type,
    pub(crate) optional: bool,
}

fn single_generic<'a>(ty: &'a syn::Type, name: &str) -> Option<&'a syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    if args.args.len() != 1 {
        return None;
    }
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

pub(crate) fn access(field: &syn::Field) -> Access {
    let ident = &field.ident;
    let ty = &field.ty;
    if let Some(inner) = single_generic(ty, "Json") {
        return Access {
            expr: quote!(&self.#ident.0),
            ty: inner.clone(),
            optional: false,
        };
    }
    if let Some(opt) = single_generic(ty, "Option")
        && let Some(inner) = single_generic(opt, "Json")
    {
        return Access {
            expr: quote!(self.#ident.as_ref().map(|json| &json.0)),
            ty: inner.clone(),
            optional: true,
        };
    }
    Access {
        expr: quote!(&self.#ident),
        ty: ty.clone(),
        optional: false,
    }
}

/// `<Ty as Trait>::method(expr, extra…)`, or `opt_fn::<Ty>(expr, extra…)`
/// for an optional access; spanned on the field's type so that an
/// unsupported type is reported there.
pub(crate) fn call(
    a: &Access,
    trait_name: &str,
    method: &str,
    opt_fn: &str,
    extra: &TokenStream,
) -> TokenStream {
    let ty = &a.ty;
    let expr = &a.expr;
    let span = ty.span();
    if a.optional {
        let f = syn::Ident::new(opt_fn, span);
        quote_spanned!(span=> ::attesto::__private::derive::#f::<#ty>(#expr #extra))
    } else {
        let t = syn::Ident::new(trait_name, span);
        let m = syn::Ident::new(method, span);
        quote_spanned!(span=> <#ty as ::attesto::__private::derive::#t>::#m(#expr #extra))
    }
}

/// One item of an `#[attesto(...)]` list.
pub(crate) struct Item {
    pub(crate) name: String,
    pub(crate) name_span: Span,
    pub(crate) value: Option<Expr>,
    pub(crate) meta: Meta,
}

/// The items of every `#[attesto(...)]` attribute in `attrs`, grouped per
/// attribute; malformed attributes are reported.
pub(crate) fn attesto_items(attrs: &[Attribute], errors: &mut Errors) -> Vec<(Span, Vec<Item>)> {
    let mut out = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("attesto") {
            continue;
        }
        let list = match &attr.meta {
            Meta::List(l) => l,
            other => {
                errors.at(
                    other.span(),
                    "expected `#[attesto(...)]` with at least one mapping",
                );
                continue;
            }
        };
        let metas = match list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
            Ok(m) => m,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let mut items = Vec::new();
        for meta in metas {
            let path = meta.path();
            let Some(ident) = path.get_ident() else {
                errors.at(path.span(), "expected a single name, not a path");
                continue;
            };
            let value = match &meta {
                Meta::NameValue(nv) => Some(nv.value.clone()),
                _ => None,
            };
            items.push(Item {
                name: ident.to_string(),
                name_span: ident.span(),
                value,
                meta,
            });
        }
        if items.is_empty() {
            errors.at(list.delimiter.span().join(), "empty `#[attesto()]`");
        }
        out.push((attr.span(), items));
    }
    out
}

impl Item {
    /// Error unless the item is a bare name.
    pub(crate) fn expect_bare(&self, errors: &mut Errors, help: &str) -> bool {
        match &self.meta {
            Meta::Path(_) => true,
            Meta::NameValue(nv) => {
                errors.at(
                    nv.value.span(),
                    format!("`{}` takes no value\nhelp: {help}", self.name),
                );
                false
            }
            Meta::List(l) => {
                errors.at(
                    l.delimiter.span().join(),
                    format!("`{}` takes no arguments\nhelp: {help}", self.name),
                );
                false
            }
        }
    }

    /// The string literal of `name = "…"`, or an error.
    pub(crate) fn expect_str(&self, errors: &mut Errors, help: &str) -> Option<syn::LitStr> {
        if let Some(Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        })) = &self.value
        {
            return Some(s.clone());
        }
        let span = match &self.value {
            Some(v) => v.span(),
            None => self.meta.span(),
        };
        errors.at(
            span,
            format!(
                "`{}` takes a string: `{} = \"…\"`\nhelp: {help}",
                self.name, self.name
            ),
        );
        None
    }

    /// The path of `with = path` or `with = "path"`.
    pub(crate) fn expect_path(&self, errors: &mut Errors) -> Option<syn::Path> {
        match &self.value {
            Some(Expr::Path(p)) if p.qself.is_none() => Some(p.path.clone()),
            Some(Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            })) => match s.parse::<syn::Path>() {
                Ok(p) => Some(p),
                Err(_) => {
                    errors.at(
                        s.span(),
                        "expected a function path, e.g. `with = my::to_fn`",
                    );
                    None
                }
            },
            Some(v) => {
                errors.at(
                    v.span(),
                    "expected a function path, e.g. `with = my::to_fn`",
                );
                None
            }
            None => {
                errors.at(
                    self.meta.span(),
                    "`with` takes a function: `with = path::to_fn`",
                );
                None
            }
        }
    }
}

/// `impl` header pieces for the input's generics.
pub(crate) fn impl_header(input: &syn::DeriveInput, trait_path: TokenStream) -> TokenStream {
    let ident = &input.ident;
    let (ig, tg, wc) = input.generics.split_for_impl();
    quote!(impl #ig #trait_path for #ident #tg #wc)
}
