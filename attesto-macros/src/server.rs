//! `#[authorization_server(...)]`: parse the attribute and the impl block
//! into an [`attesto_rules::Plan`], run the shared rules, and generate the
//! Host-part impls, the static settings and the constructors.

use attesto_rules::plan::closest;
use attesto_rules::{
    At, Callback, ConfigError, Endpoint, Feature, Grant, Plan, RequestObjectPolicy, RequestObjects,
    Ttl,
};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ImplItem, ItemImpl, Lit, Meta, Token};

/// The attribute's top-level keys.
const KEYS: [&str; 24] = [
    "id_token_signing_alg",
    "id_token_extra_algs",
    "prefix",
    "paths",
    "scopes",
    "grants",
    "dpop",
    "registration",
    "par",
    "request_objects",
    "mtls",
    "jarm",
    "device_flow",
    "token_exchange",
    "jwt_bearer",
    "logout",
    "claims_parameter",
    "client_id_metadata",
    "access_token_ttl",
    "refresh_token_ttl",
    "refresh_grace",
    "code_ttl",
    "default_resource",
    "issuer",
];

/// The names generated on the host type; a host method with one of these
/// names would collide.
const GENERATED: [&str; 5] = [
    "server_config",
    "discovery_metadata",
    "server_builder",
    "router",
    "ATTESTO_SPEC",
];

/// Errors collected while reading, all reported at once.
#[derive(Default)]
struct Errors(Vec<syn::Error>);

impl Errors {
    fn push(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.0.push(syn::Error::new(span, msg));
    }

    fn rule(&mut self, span: Span, e: &ConfigError) {
        self.push(span, format!("{e}\n\nhelp: {}", e.help()));
    }

    fn unknown(&mut self, span: Span, what: &str, name: &str, names: &[&'static str]) {
        match closest(name, names.iter().copied()) {
            Some(s) => self.push(
                span,
                format!("unknown {what} `{name}`\n\nhelp: did you mean `{s}`?"),
            ),
            None => self.push(
                span,
                format!(
                    "unknown {what} `{name}`\n\nhelp: expected one of: {}",
                    names.join(", ")
                ),
            ),
        }
    }

    fn into_tokens(self) -> TokenStream {
        self.0
            .into_iter()
            .map(syn::Error::into_compile_error)
            .collect()
    }
}

/// What the attribute says, beyond the plan: values the generated `Spec` needs.
struct Settings {
    plan: Plan<Span>,
    /// `default_resource` as written (a path is joined to the issuer).
    default_resource: Option<String>,
    /// `id_token_signing_alg` / `id_token_extra_algs` as written.
    id_token_alg: Option<String>,
    id_token_extra: Vec<String>,
    /// Where `scopes` / `grants` were given (`None`: the runtime defaults).
    scopes_span: Option<Span>,
    grants_span: Option<Span>,
}

fn key_of(meta: &Meta) -> String {
    meta.path()
        .get_ident()
        .map_or_else(|| quote!(#meta).to_string(), ToString::to_string)
}

fn lit_str(expr: &Expr, errors: &mut Errors, what: &str) -> Option<(String, Span)> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some((s.value(), s.span())),
        other => {
            errors.push(other.span(), format!("`{what}` takes a string literal"));
            None
        }
    }
}

/// `["a", "b"]` (strings) or `[a, b]` (identifiers) as names with spans.
fn name_list(expr: &Expr, errors: &mut Errors, what: &str) -> Option<Vec<(String, Span)>> {
    let Expr::Array(arr) = expr else {
        errors.push(
            expr.span(),
            format!("`{what}` takes a list: `{what} = [...]`"),
        );
        return None;
    };
    let mut out = Vec::new();
    for e in &arr.elems {
        match e {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => out.push((s.value(), s.span())),
            Expr::Path(p) if p.path.get_ident().is_some() => {
                if let Some(id) = p.path.get_ident() {
                    out.push((id.to_string(), id.span()));
                }
            }
            other => errors.push(other.span(), format!("`{what}` takes names or strings")),
        }
    }
    Some(out)
}

fn lit_bool(expr: &Expr, errors: &mut Errors, what: &str) -> Option<bool> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.value),
        other => {
            errors.push(other.span(), format!("`{what}` takes `true` or `false`"));
            None
        }
    }
}

/// Seconds: `300`, or a string with a unit: `"5m"`, `"30d"`, `"90s"`, `"12h"`.
fn duration(expr: &Expr, errors: &mut Errors, what: &str) -> Option<u64> {
    let bad = |errors: &mut Errors, span| {
        errors.push(
            span,
            format!("`{what}` takes seconds (`300`) or a duration string (`\"5m\"`, `\"12h\"`, `\"30d\"`)"),
        );
        None
    };
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => match i.base10_parse::<u64>() {
            Ok(v) => Some(v),
            Err(_) => bad(errors, i.span()),
        },
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let v = s.value();
            let (num, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
            let mult = match unit {
                "" | "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                _ => return bad(errors, s.span()),
            };
            match num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)) {
                Some(v) => Some(v),
                None => bad(errors, s.span()),
            }
        }
        other => bad(errors, other.span()),
    }
}

fn nested(meta: &Meta, errors: &mut Errors) -> Vec<Meta> {
    match meta {
        Meta::List(list) => {
            match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(list.tokens.clone()) {
                Ok(items) => items.into_iter().collect(),
                Err(e) => {
                    errors.0.push(e);
                    Vec::new()
                }
            }
        }
        _ => Vec::new(),
    }
}

/// A feature switch: `name`, `name = bool`, or `name(...)` (on).
fn switch(meta: &Meta, errors: &mut Errors) -> Option<bool> {
    match meta {
        Meta::Path(_) | Meta::List(_) => Some(true),
        Meta::NameValue(nv) => lit_bool(&nv.value, errors, &key_of(meta)),
    }
}

fn feature_on(plan: &mut Plan<Span>, f: Feature, meta: &Meta, errors: &mut Errors) {
    if switch(meta, errors) == Some(true) {
        plan.features.push(At::new(f, meta.path().span()));
    }
}

fn algorithms(expr: &Expr, errors: &mut Errors, what: &str) -> Vec<At<String, Span>> {
    name_list(expr, errors, what)
        .unwrap_or_default()
        .into_iter()
        .map(|(n, s)| At::new(n, s))
        .collect()
}

fn parse_args(args: TokenStream, whole: Span, errors: &mut Errors) -> Settings {
    let mut plan = Plan::new(whole);
    let mut settings_resource = None;
    let (mut scopes_span, mut grants_span) = (None, None);
    let (mut id_token_alg, mut id_token_extra) = (None, Vec::new());
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(m) => m,
        Err(e) => {
            errors.0.push(e);
            Punctuated::new()
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for meta in &metas {
        let key = key_of(meta);
        let span = meta.path().span();
        if seen.contains(&key) {
            errors.push(
                span,
                format!("`{key}` is given twice\n\nhelp: give each argument once"),
            );
            continue;
        }
        seen.push(key.clone());
        let value = match meta {
            Meta::NameValue(nv) => Some(&nv.value),
            _ => None,
        };
        let need_value = |errors: &mut Errors, form: &str| {
            errors.push(span, format!("`{key}` is written `{key} = {form}`"));
        };
        match key.as_str() {
            "issuer" => match value {
                Some(v) => {
                    if let Some((s, sp)) = lit_str(v, errors, "issuer") {
                        plan.issuer = Some(At::new(s, sp));
                    }
                }
                None => need_value(errors, "\"https://…\""),
            },
            "prefix" => match value {
                Some(v) => {
                    if let Some((s, sp)) = lit_str(v, errors, "prefix") {
                        plan.prefix = Some(At::new(s, sp));
                    }
                }
                None => need_value(errors, "\"/oauth\""),
            },
            "default_resource" => match value {
                Some(v) => {
                    if let Some((s, sp)) = lit_str(v, errors, "default_resource") {
                        if s.starts_with('/') {
                            if let Err(e) = attesto_rules::validate_path(&s) {
                                errors.rule(
                                    sp,
                                    &ConfigError::Path {
                                        path: s.clone(),
                                        error: e,
                                    },
                                );
                            }
                        } else {
                            plan.default_resource = Some(At::new(s.clone(), sp));
                        }
                        settings_resource = Some(s);
                    }
                }
                None => need_value(errors, "\"/api\" or \"https://api.example\""),
            },
            "paths" => {
                if !matches!(meta, Meta::List(_)) {
                    errors.push(
                        span,
                        "`paths` is written `paths(token = \"/oauth/token\", ...)`",
                    );
                }
                let mut seen_paths: Vec<String> = Vec::new();
                for m in nested(meta, errors) {
                    let name = key_of(&m);
                    let sp = m.path().span();
                    let Some(endpoint) = Endpoint::parse(&name) else {
                        let names: Vec<&'static str> =
                            Endpoint::ALL.iter().map(|e| e.name()).collect();
                        errors.unknown(sp, "endpoint", &name, &names);
                        continue;
                    };
                    if seen_paths.contains(&name) {
                        errors.push(sp, format!("the path of `{name}` is given twice"));
                        continue;
                    }
                    seen_paths.push(name.clone());
                    match &m {
                        Meta::NameValue(nv) => {
                            if let Some((s, vs)) = lit_str(&nv.value, errors, &name) {
                                plan.paths.push(At::new((endpoint, s), vs));
                            }
                        }
                        _ => errors.push(sp, format!("write `{name} = \"/path\"`")),
                    }
                }
            }
            "scopes" => match value {
                Some(v) => {
                    scopes_span = Some(v.span());
                    for (s, sp) in name_list(v, errors, "scopes").unwrap_or_default() {
                        plan.scopes.push(At::new(s, sp));
                    }
                }
                None => need_value(errors, "[\"openid\", \"profile\"]"),
            },
            "grants" => match value {
                Some(v) => {
                    grants_span = Some(v.span());
                    for (g, sp) in name_list(v, errors, "grants").unwrap_or_default() {
                        match Grant::parse(&g) {
                            Some(grant) => plan.grants.push(At::new(grant, sp)),
                            None => {
                                let names: Vec<&'static str> =
                                    Grant::ALL.iter().map(|g| g.name()).collect();
                                errors.unknown(sp, "grant", &g, &names);
                            }
                        }
                    }
                }
                None => need_value(errors, "[authorization_code, refresh_token]"),
            },
            "dpop" => {
                if switch(meta, errors) == Some(false) {
                    plan.dpop_off = Some(span);
                }
                for m in nested(meta, errors) {
                    let name = key_of(&m);
                    let sp = m.path().span();
                    let v = match &m {
                        Meta::NameValue(nv) => Some(&nv.value),
                        _ => None,
                    };
                    match (name.as_str(), v) {
                        ("enabled", Some(v)) => {
                            if lit_bool(v, errors, "enabled") == Some(false) {
                                plan.dpop_off = Some(sp);
                            }
                        }
                        ("nonce", Some(v)) => {
                            if let Some((n, ns)) = lit_str(v, errors, "nonce") {
                                match n.as_str() {
                                    "required" => plan.dpop_nonce_required = Some(ns),
                                    "off" => {}
                                    _ => errors.push(
                                        ns,
                                        "`nonce` is `\"required\"` or `\"off\"` (RFC 9449 §8)",
                                    ),
                                }
                            }
                        }
                        ("algorithms", Some(v)) => {
                            plan.dpop_algorithms =
                                Some(At::new(algorithms(v, errors, "algorithms"), v.span()));
                        }
                        ("enabled" | "nonce" | "algorithms", None) => {
                            errors.push(sp, format!("write `{name} = ...`"));
                        }
                        _ => errors.unknown(
                            sp,
                            "dpop setting",
                            &name,
                            &["enabled", "nonce", "algorithms"],
                        ),
                    }
                }
            }
            "registration" => {
                feature_on(&mut plan, Feature::Registration, meta, errors);
                for m in nested(meta, errors) {
                    let name = key_of(&m);
                    match (&m, name.as_str()) {
                        (Meta::NameValue(nv), "default_scopes") => {
                            for (s, sp) in
                                name_list(&nv.value, errors, "default_scopes").unwrap_or_default()
                            {
                                plan.default_scopes.push(At::new(s, sp));
                            }
                        }
                        _ => errors.unknown(
                            m.path().span(),
                            "registration setting",
                            &name,
                            &["default_scopes"],
                        ),
                    }
                }
            }
            "par" => {
                let on = switch(meta, errors) == Some(true);
                let mut enabled = on;
                for m in nested(meta, errors) {
                    let name = key_of(&m);
                    let sp = m.path().span();
                    match (&m, name.as_str()) {
                        (Meta::Path(_), "required") => plan.par_required = Some(sp),
                        (Meta::NameValue(nv), "enabled") => {
                            enabled = lit_bool(&nv.value, errors, "enabled").unwrap_or(true);
                        }
                        _ => errors.unknown(sp, "par setting", &name, &["required", "enabled"]),
                    }
                }
                if enabled {
                    plan.features.push(At::new(Feature::Par, span));
                }
            }
            "request_objects" => {
                feature_on(&mut plan, Feature::RequestObjects, meta, errors);
                let mut policy = RequestObjectPolicy::Generic;
                let mut algs = None;
                for m in nested(meta, errors) {
                    let name = key_of(&m);
                    let sp = m.path().span();
                    match (&m, name.as_str()) {
                        (Meta::NameValue(nv), "policy") => {
                            if let Some((p, ps)) = lit_str(&nv.value, errors, "policy") {
                                match p.as_str() {
                                    "generic" => policy = RequestObjectPolicy::Generic,
                                    "fapi_message_signing" => {
                                        policy = RequestObjectPolicy::FapiMessageSigning;
                                    }
                                    _ => errors.unknown(
                                        ps,
                                        "request-object policy",
                                        &p,
                                        &["generic", "fapi_message_signing"],
                                    ),
                                }
                            }
                        }
                        (Meta::NameValue(nv), "algorithms") => {
                            algs = Some(algorithms(&nv.value, errors, "algorithms"));
                        }
                        _ => errors.unknown(
                            sp,
                            "request_objects setting",
                            &name,
                            &["policy", "algorithms"],
                        ),
                    }
                }
                plan.request_objects = Some(At::new(
                    RequestObjects {
                        policy,
                        algorithms: algs.unwrap_or_else(|| {
                            ["PS256", "ES256", "EdDSA"]
                                .into_iter()
                                .map(|a| At::new(a.to_owned(), span))
                                .collect()
                        }),
                    },
                    span,
                ));
            }
            "jwt_bearer" => {
                feature_on(&mut plan, Feature::JwtBearer, meta, errors);
                for m in nested(meta, errors) {
                    let name = key_of(&m);
                    match (&m, name.as_str()) {
                        (Meta::NameValue(nv), "issuers") => {
                            for (s, sp) in
                                name_list(&nv.value, errors, "issuers").unwrap_or_default()
                            {
                                plan.jwt_bearer_issuers.push(At::new(s, sp));
                            }
                        }
                        _ => errors.unknown(
                            m.path().span(),
                            "jwt_bearer setting",
                            &name,
                            &["issuers"],
                        ),
                    }
                }
            }
            "mtls" | "jarm" | "device_flow" | "token_exchange" | "logout" | "claims_parameter"
            | "client_id_metadata" => {
                if let Some(f) = Feature::parse(&key) {
                    feature_on(&mut plan, f, meta, errors);
                }
            }
            "id_token_signing_alg" => match value {
                Some(Expr::Path(p)) if p.path.get_ident().is_some() => {
                    if let Some(id) = p.path.get_ident() {
                        plan.id_token_algorithms
                            .insert(0, At::new(id.to_string(), id.span()));
                        id_token_alg = Some(id.to_string());
                    }
                }
                Some(v) => errors.push(
                    v.span(),
                    "write an algorithm name, e.g. `id_token_signing_alg = RS256`",
                ),
                None => need_value(errors, "RS256"),
            },
            "id_token_extra_algs" => match value {
                Some(v) => {
                    for a in algorithms(v, errors, "id_token_extra_algs") {
                        id_token_extra.push(a.value.clone());
                        plan.id_token_algorithms.push(a);
                    }
                }
                None => need_value(errors, "[ES256]"),
            },
            "access_token_ttl" | "refresh_token_ttl" | "refresh_grace" | "code_ttl" => {
                let ttl = match key.as_str() {
                    "access_token_ttl" => Ttl::AccessToken,
                    "refresh_token_ttl" => Ttl::RefreshToken,
                    "refresh_grace" => Ttl::RefreshGrace,
                    _ => Ttl::Code,
                };
                match value {
                    Some(v) => {
                        if let Some(secs) = duration(v, errors, &key) {
                            plan.ttls.push(At::new((ttl, secs), v.span()));
                        }
                    }
                    None => need_value(errors, "300"),
                }
            }
            _ => errors.unknown(span, "argument", &key, &KEYS),
        }
    }
    if scopes_span.is_none() {
        plan.scopes.push(At::new("openid".to_owned(), whole));
    }
    if grants_span.is_none() {
        for g in [
            Grant::AuthorizationCode,
            Grant::RefreshToken,
            Grant::ClientCredentials,
        ] {
            plan.grants.push(At::new(g, whole));
        }
    }
    Settings {
        plan,
        default_resource: settings_resource,
        scopes_span,
        grants_span,
        id_token_alg,
        id_token_extra,
    }
}

/// One recognised host method.
struct HostMethod {
    callback: Callback,
    ident: syn::Ident,
    sig: syn::Signature,
}

/// How many arguments (after `&self`) each callback takes, and their shape for messages.
fn arity(c: Callback) -> Option<(usize, &'static str)> {
    Some(match c {
        Callback::FindClient => (
            1,
            "async fn find_client(&self, client_id: &str) -> Result<Option<Client>, Error>",
        ),
        Callback::FindPrincipal => (
            1,
            "async fn find_principal(&self, subject_id: &str) -> Result<Option<User>, Error>",
        ),
        Callback::Login => (
            1,
            "async fn login(&self, ctx: &AuthorizeContext<'_>) -> LoginOutcome<Response>",
        ),
        Callback::Consent => (
            2,
            "async fn consent(&self, ctx: &AuthorizeContext<'_>, authentication: &Authentication) -> ConsentOutcome<Response>",
        ),
        Callback::ResourceAllowed => (
            2,
            "fn resource_allowed(&self, client_id: &str, resource: &str) -> bool",
        ),
        Callback::RegisterClient => (
            1,
            "async fn register_client(&self, client: NewClient) -> Result<(), RegistrationError>",
        ),
        Callback::AuthorizeScope => (
            3,
            "fn authorize_scope(&self, client: &Client, requested: &[&str], supported: &dyn Fn(&str) -> bool) -> Result<Vec<String>, InvalidScope>",
        ),
        _ => return None,
    })
}

fn scan_methods(item: &mut ItemImpl, errors: &mut Errors) -> Vec<HostMethod> {
    let names: Vec<&'static str> = Callback::ALL.iter().map(|c| c.name()).collect();
    let mut out: Vec<HostMethod> = Vec::new();
    for it in &mut item.items {
        let ImplItem::Fn(f) = it else { continue };
        let ident = f.sig.ident.clone();
        if GENERATED.contains(&ident.to_string().as_str()) {
            errors.push(
                ident.span(),
                format!("`{ident}` is generated by `#[authorization_server]`\n\nhelp: rename this method"),
            );
        }
        let mut mapped: Option<(Callback, Span)> = None;
        let mut keep = Vec::new();
        for attr in f.attrs.drain(..) {
            if !attr.path().is_ident("attesto") {
                keep.push(attr);
                continue;
            }
            match attr.parse_args::<syn::Ident>() {
                Ok(id) => match Callback::parse(&id.to_string()) {
                    Some(c) if mapped.is_none() => mapped = Some((c, id.span())),
                    Some(_) => errors.push(id.span(), "a method maps to one callback"),
                    None => {
                        errors.unknown(id.span(), "callback", &id.to_string(), &names);
                        // recover with the suggestion, so the callback does not
                        // also read as missing
                        if let Some(c) = closest(&id.to_string(), names.iter().copied())
                            .and_then(Callback::parse)
                        {
                            mapped = Some((c, id.span()));
                        }
                    }
                },
                Err(_) => errors.push(
                    attr.span(),
                    "write `#[attesto(<callback>)]`, e.g. `#[attesto(find_client)]`",
                ),
            }
        }
        f.attrs = keep;
        let (callback, span) = match mapped {
            Some(m) => m,
            None => match Callback::parse(&ident.to_string()) {
                Some(c) => (c, ident.span()),
                None => continue,
            },
        };
        if out.iter().any(|m| m.callback == callback) {
            errors.push(
                span,
                format!(
                    "a second method for `{}`\n\nhelp: keep one; each callback maps to exactly one method",
                    callback.name()
                ),
            );
            continue;
        }
        if let Some((n, shape)) = arity(callback) {
            let receiver_ok = matches!(
                f.sig.inputs.first(),
                Some(syn::FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none()
            );
            let args = f.sig.inputs.len().saturating_sub(1);
            if !receiver_ok || args != n {
                errors.push(
                    f.sig.inputs.span(),
                    format!(
                        "`{}` must take `&self` and {n} argument{}\n\nhelp: expected `{shape}`",
                        callback.name(),
                        if n == 1 { "" } else { "s" }
                    ),
                );
            } else if !f.sig.generics.params.is_empty() {
                errors.push(f.sig.generics.span(), "callbacks cannot be generic");
            }
        }
        out.push(HostMethod {
            callback,
            ident,
            sig: f.sig.clone(),
        });
    }
    out
}

/// The output type of a method, looking through `async` and `impl Future<Output = T>`.
/// Returns the type and whether a call must be awaited.
fn output_of(sig: &syn::Signature) -> (Option<syn::Type>, bool) {
    let ty = match &sig.output {
        syn::ReturnType::Default => return (None, sig.asyncness.is_some()),
        syn::ReturnType::Type(_, t) => (**t).clone(),
    };
    if sig.asyncness.is_some() {
        return (Some(ty), true);
    }
    if let syn::Type::ImplTrait(it) = &ty {
        for b in &it.bounds {
            if let syn::TypeParamBound::Trait(t) = b
                && let Some(seg) = t.path.segments.last()
                && seg.ident == "Future"
                && let syn::PathArguments::AngleBracketed(a) = &seg.arguments
            {
                for arg in &a.args {
                    if let syn::GenericArgument::AssocType(at) = arg
                        && at.ident == "Output"
                    {
                        return (Some(at.ty.clone()), true);
                    }
                }
            }
        }
    }
    (Some(ty), false)
}

/// `Result<Wrapper<T>, E>` → `(T, E)` where `Wrapper` is one of `wrappers`.
fn result_parts(ty: &syn::Type, wrappers: &[&str]) -> Option<(syn::Type, syn::Type)> {
    let generic_args = |ty: &syn::Type, name: &[&str]| -> Option<Vec<syn::Type>> {
        let syn::Type::Path(p) = ty else { return None };
        let seg = p.path.segments.last()?;
        if !name.iter().any(|n| seg.ident == n) {
            return None;
        }
        let syn::PathArguments::AngleBracketed(a) = &seg.arguments else {
            return None;
        };
        Some(
            a.args
                .iter()
                .filter_map(|g| match g {
                    syn::GenericArgument::Type(t) => Some(t.clone()),
                    _ => None,
                })
                .collect(),
        )
    };
    let mut outer = generic_args(ty, &["Result"])?.into_iter();
    let (ok, err) = (outer.next()?, outer.next()?);
    let inner = generic_args(&ok, wrappers)?.into_iter().next()?;
    Some((inner, err))
}

fn call(self_ty: &syn::Type, m: &HostMethod, args: &[TokenStream]) -> TokenStream {
    let ident = &m.ident;
    let (_, awaited) = output_of(&m.sig);
    if awaited {
        quote! { <#self_ty>::#ident(self, #(#args),*).await }
    } else {
        quote! { <#self_ty>::#ident(self, #(#args),*) }
    }
}

fn spec_tokens(s: &Settings) -> TokenStream {
    let plan = &s.plan;
    let opt_str = |v: Option<&str>| match v {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    let prefix = opt_str(plan.prefix.as_ref().map(|p| p.value.as_str()));
    let paths = plan.paths.iter().map(|p| {
        let (e, path) = (&p.value.0.name(), &p.value.1);
        quote!((#e, #path))
    });
    let scopes: Vec<&str> = plan.scopes.iter().map(|s| s.value.as_str()).collect();
    let scopes = if s.scopes_span.is_some() {
        quote!(::core::option::Option::Some(&[#(#scopes),*]))
    } else {
        quote!(::core::option::Option::None)
    };
    let defaults = plan.default_scopes.iter().map(|s| s.value.as_str());
    let grants: Vec<&str> = plan.grants.iter().map(|g| g.value.name()).collect();
    let grants = if s.grants_span.is_some() {
        quote!(::core::option::Option::Some(&[#(#grants),*]))
    } else {
        quote!(::core::option::Option::None)
    };
    let dpop = plan.has(Feature::Dpop);
    let dpop_algs = match &plan.dpop_algorithms {
        Some(a) => {
            let names = a.value.iter().map(|x| x.value.as_str());
            quote!(::core::option::Option::Some(&[#(#names),*]))
        }
        None => quote!(::core::option::Option::None),
    };
    let nonce = plan.dpop_nonce_required.is_some();
    let registration = plan.has(Feature::Registration);
    let ttl = |t: Ttl| match plan.ttls.iter().find(|x| x.value.0 == t) {
        Some(x) => {
            let v = x.value.1;
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    };
    let (access, refresh, grace, code) = (
        ttl(Ttl::AccessToken),
        ttl(Ttl::RefreshToken),
        ttl(Ttl::RefreshGrace),
        ttl(Ttl::Code),
    );
    let resource = opt_str(s.default_resource.as_deref());
    let id_alg = opt_str(s.id_token_alg.as_deref());
    let id_extra = s.id_token_extra.iter();
    quote! {
        ::attesto::__private::server::Spec {
            prefix: #prefix,
            paths: &[#(#paths),*],
            scopes: #scopes,
            default_scopes: &[#(#defaults),*],
            grants: #grants,
            dpop: #dpop,
            dpop_algorithms: #dpop_algs,
            dpop_nonce_required: #nonce,
            registration: #registration,
            id_token_signing_alg: #id_alg,
            id_token_extra_algs: &[#(#id_extra),*],
            access_token_ttl: #access,
            refresh_token_ttl: #refresh,
            refresh_grace: #grace,
            code_ttl: #code,
            default_resource: #resource,
        }
    }
}

/// The generated inherent items. With `ok == false` the bodies are
/// placeholders: the build fails on the reported errors anyway, and the
/// items still exist so the host's own code raises no follow-up errors.
fn inherent(item: &ItemImpl, settings: &Settings, ok: bool) -> TokenStream {
    let self_ty = &item.self_ty;
    let (ig, _, wc) = item.generics.split_for_impl();
    let spec = spec_tokens(settings);
    let host_bound = if ok {
        quote!()
    } else {
        quote!(#[allow(unreachable_code, unused_variables)])
    };
    let body = |t: TokenStream| {
        if ok {
            t
        } else {
            quote!(::core::panic!("attesto: the configuration has errors"))
        }
    };
    let b_config = body(quote!(::attesto::__private::server::server_config(
        issuer,
        &Self::ATTESTO_SPEC
    )));
    let b_meta = body(quote!(::attesto::__private::server::discovery_metadata(
        issuer,
        &Self::ATTESTO_SPEC
    )));
    let b_builder = body(quote!(::attesto::__private::server::server_builder(
        self,
        issuer,
        &Self::ATTESTO_SPEC,
        stores,
        keys
    )));
    let b_router = body(quote!(::attesto::__private::server::router(
        self,
        issuer,
        &Self::ATTESTO_SPEC,
        stores,
        keys,
        secret
    )));
    quote! {
        #[automatically_derived]
        #[allow(clippy::all, clippy::pedantic)]
        impl #ig #self_ty #wc {
            /// The static settings of this authorization server, checked at
            /// compile time by `#[authorization_server]`.
            #[doc(hidden)]
            pub const ATTESTO_SPEC: ::attesto::__private::server::Spec = #spec;

            /// The server configuration for `issuer` (the canonical https URL
            /// clients see), generated by `#[authorization_server]`.
            ///
            /// # Errors
            /// An `attesto::server::ConfigError` when `issuer`
            /// is not an absolute https URL (http only on loopback); every
            /// other rule was checked at compile time.
            #host_bound
            pub fn server_config(
                issuer: &str,
            ) -> ::core::result::Result<::attesto::__private::server_api::ServerConfig, ::attesto::__private::server_api::ConfigError> {
                #b_config
            }

            /// The discovery document (RFC 8414 and OpenID Connect Discovery)
            /// this server publishes for `issuer`.
            ///
            /// # Errors
            /// As [`Self::server_config`].
            #host_bound
            pub fn discovery_metadata(
                issuer: &str,
            ) -> ::core::result::Result<::attesto::__private::serde_json::Value, ::attesto::__private::server_api::ConfigError> {
                #b_meta
            }

            /// A server builder with this host, for setting the clock, the
            /// event sink or the server secret before `build()`.
            ///
            /// # Errors
            /// As [`Self::server_config`].
            #host_bound
            pub fn server_builder<S: ::attesto::__private::store::Stores>(
                self,
                issuer: &str,
                stores: S,
                keys: ::std::sync::Arc<dyn ::attesto::__private::jose::Keystore>,
            ) -> ::core::result::Result<::attesto::__private::server_api::AuthorizationServerBuilder<Self, S>, ::attesto::__private::server_api::ConfigError> {
                #b_builder
            }

            /// Every endpoint, discovery and JWKS as one router to `.merge()`
            /// into the host's app. `secret` keys stored client-secret hashes
            /// and DPoP nonces: share it between nodes, keep it across restarts.
            ///
            /// # Errors
            /// An `attesto::server::SetupError` for the issuer
            /// or a component that rejects the configuration (keys).
            #host_bound
            pub fn router<St: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static, S: ::attesto::__private::store::Stores>(
                self,
                issuer: &str,
                stores: S,
                keys: ::std::sync::Arc<dyn ::attesto::__private::jose::Keystore>,
                secret: ::attesto::__private::secret::Secret,
            ) -> ::core::result::Result<::attesto::__private::server::Router<St>, ::attesto::__private::server_api::SetupError> {
                #b_router
            }
        }
    }
}

fn trait_impls(item: &ItemImpl, methods: &[HostMethod], errors: &mut Errors) -> TokenStream {
    let self_ty = &item.self_ty;
    let (ig, _, wc) = item.generics.split_for_impl();
    let find = |c: Callback| methods.iter().find(|m| m.callback == c);
    let mut out = TokenStream::new();

    if let Some(m) = find(Callback::FindClient) {
        let (ty, _) = output_of(&m.sig);
        match ty.as_ref().and_then(|t| result_parts(t, &["Option", "ClientLookup"])) {
            Some((client, err)) => {
                let c = call(self_ty, m, &[quote!(client_id)]);
                out.extend(quote! {
                    #[automatically_derived]
                    impl #ig ::attesto::__private::host::ClientRegistry for #self_ty #wc {
                        type Client = #client;
                        type Error = #err;
                        fn find_client(
                            &self,
                            client_id: &str,
                        ) -> impl ::core::future::Future<Output = ::core::result::Result<::attesto::__private::host::ClientLookup<#client>, #err>> + ::core::marker::Send {
                            ::attesto::__private::server::client_lookup(async move { #c })
                        }
                    }
                });
            }
            None => errors.push(
                m.sig.output.span(),
                "`find_client` must return `Result<Option<Client>, Error>` or `Result<ClientLookup<Client>, Error>`\n\nhelp: name the error type: the client type and the error type become `ClientRegistry::Client` and `ClientRegistry::Error`",
            ),
        }
    }
    if let Some(m) = find(Callback::FindPrincipal) {
        let (ty, _) = output_of(&m.sig);
        match ty.as_ref().and_then(|t| result_parts(t, &["Option"])) {
            Some((principal, err)) => {
                let c = call(self_ty, m, &[quote!(subject_id)]);
                out.extend(quote! {
                    #[automatically_derived]
                    impl #ig ::attesto::__private::host::PrincipalStore for #self_ty #wc {
                        type Principal = #principal;
                        type Error = #err;
                        fn find_principal(
                            &self,
                            subject_id: &str,
                        ) -> impl ::core::future::Future<Output = ::core::result::Result<::core::option::Option<#principal>, #err>> + ::core::marker::Send {
                            async move { #c }
                        }
                    }
                });
            }
            None => errors.push(
                m.sig.output.span(),
                "`find_principal` must return `Result<Option<Principal>, Error>`",
            ),
        }
    }
    let login = match find(Callback::Login) {
        Some(m) => {
            let c = call(self_ty, m, &[quote!(ctx)]);
            quote! {
                fn login(
                    &self,
                    ctx: &::attesto::__private::server_api::AuthorizeContext<'_>,
                ) -> impl ::core::future::Future<Output = ::attesto::__private::host::LoginOutcome<::attesto::__private::server::Response>> + ::core::marker::Send {
                    async move { #c }
                }
            }
        }
        // no authorization endpoint is mounted: nobody can get here
        None => quote! {
            fn login(
                &self,
                ctx: &::attesto::__private::server_api::AuthorizeContext<'_>,
            ) -> impl ::core::future::Future<Output = ::attesto::__private::host::LoginOutcome<::attesto::__private::server::Response>> + ::core::marker::Send {
                let _ = ctx;
                ::attesto::__private::server::ready(::attesto::__private::host::LoginOutcome::InteractionRequired(
                    ::attesto::__private::host::InteractionRequired::Login,
                ))
            }
        },
    };
    let consent = find(Callback::Consent).map(|m| {
        let c = call(self_ty, m, &[quote!(ctx), quote!(authentication)]);
        quote! {
            fn consent(
                &self,
                ctx: &::attesto::__private::server_api::AuthorizeContext<'_>,
                authentication: &::attesto::__private::host::Authentication,
            ) -> impl ::core::future::Future<Output = ::attesto::__private::host::ConsentOutcome<::attesto::__private::server::Response>> + ::core::marker::Send {
                async move { #c }
            }
        }
    });
    out.extend(quote! {
        #[automatically_derived]
        impl #ig ::attesto::__private::server_api::Interaction for #self_ty #wc {
            #login
            #consent
        }
    });
    let resource = find(Callback::ResourceAllowed).map(|m| {
        let c = call(self_ty, m, &[quote!(client_id), quote!(resource)]);
        quote! {
            fn resource_allowed(&self, client_id: &str, resource: &str) -> bool {
                #c
            }
        }
    });
    let introspection = find(Callback::IntrospectionAllowed).map(|m| {
        let c = call(self_ty, m, &[quote!(caller_client_id), quote!(token)]);
        quote! {
            fn introspection_allowed(
                &self,
                caller_client_id: &str,
                token: &::attesto::__private::server_api::IntrospectedToken,
            ) -> bool {
                #c
            }
        }
    });
    out.extend(quote! {
        #[automatically_derived]
        impl #ig ::attesto::__private::server_api::ResourcePolicy for #self_ty #wc {
            #resource
            #introspection
        }
    });
    let scope = find(Callback::AuthorizeScope).map(|m| {
        let c = call(self_ty, m, &[quote!(client), quote!(requested), quote!(supported)]);
        quote! {
            fn authorize_scope(
                &self,
                client: &<Self as ::attesto::__private::host::ClientRegistry>::Client,
                requested: &[&str],
                supported: &dyn ::core::ops::Fn(&str) -> bool,
            ) -> ::core::result::Result<::std::vec::Vec<::std::string::String>, ::attesto::__private::host::InvalidScope> {
                #c
            }
        }
    });
    out.extend(quote! {
        #[automatically_derived]
        impl #ig ::attesto::__private::host::ScopePolicy for #self_ty #wc {
            #scope
        }
    });
    let register = find(Callback::RegisterClient).map(|m| {
        let c = call(self_ty, m, &[quote!(client)]);
        quote! {
            fn register_client(
                &self,
                client: ::attesto::__private::server_api::NewClient,
            ) -> impl ::core::future::Future<Output = ::core::result::Result<(), ::attesto::__private::server_api::RegistrationError>> + ::core::marker::Send {
                async move { #c }
            }
        }
    });
    let unregister = find(Callback::UnregisterClient).map(|m| {
        let c = call(self_ty, m, &[quote!(client_id)]);
        quote! {
            fn unregister_client(
                &self,
                client_id: &str,
            ) -> impl ::core::future::Future<Output = ::core::result::Result<(), ::attesto::__private::server_api::RegistrationError>> + ::core::marker::Send {
                async move { #c }
            }
        }
    });
    out.extend(quote! {
        #[automatically_derived]
        impl #ig ::attesto::__private::server_api::ClientRegistration for #self_ty #wc {
            #register
            #unregister
        }
    });
    out
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item: ItemImpl = match syn::parse2(item.clone()) {
        Ok(i) => i,
        Err(_) => {
            let mut out = syn::Error::new(
                Span::call_site(),
                "`#[authorization_server]` goes on an inherent impl block: `impl MyHost { ... }`",
            )
            .into_compile_error();
            out.extend(item);
            return out;
        }
    };
    let mut errors = Errors::default();
    if let Some((_, path, _)) = &item.trait_ {
        errors.push(
            path.span(),
            "`#[authorization_server]` goes on an inherent impl block, not a trait impl\n\nhelp: write `impl MyHost { ... }`; the macro generates the trait impls",
        );
        let mut out = quote!(#item);
        out.extend(errors.into_tokens());
        return out;
    }
    let whole = item.self_ty.span();
    let settings = parse_args(args, whole, &mut errors);
    let methods = scan_methods(&mut item, &mut errors);
    let mut plan = settings.plan.clone();
    plan.callbacks = methods
        .iter()
        .map(|m| At::new(m.callback, m.ident.span()))
        .collect();
    for (span, e) in attesto_rules::check(&plan) {
        let span = match e {
            ConfigError::NoGrants => settings.grants_span.unwrap_or(span),
            ConfigError::NoScopes => settings.scopes_span.unwrap_or(span),
            _ => span,
        };
        errors.rule(span, &e);
    }
    let impls = trait_impls(&item, &methods, &mut errors);
    let ok = errors.0.is_empty();
    let collides = item.items.iter().any(|it| match it {
        ImplItem::Fn(f) => GENERATED.contains(&f.sig.ident.to_string().as_str()),
        ImplItem::Const(c) => GENERATED.contains(&c.ident.to_string().as_str()),
        _ => false,
    });
    let mut out = quote!(#item);
    if ok {
        out.extend(impls);
    }
    if !collides {
        out.extend(inherent(&item, &Settings { plan, ..settings }, ok));
    }
    out.extend(errors.into_tokens());
    out
}
