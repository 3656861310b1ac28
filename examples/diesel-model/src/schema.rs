//! The application's Diesel schema (what `diesel print-schema` wrote).
#![allow(missing_docs, unreachable_pub)]

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        grant_types -> Text,
        auth_method -> Text,
        is_public -> Bool,
        scope -> Nullable<Text>,
        dpop_bound -> Bool,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        password_sha256 -> Text,
        email -> Text,
        email_verified -> Bool,
        display_name -> Nullable<Text>,
        department -> Nullable<Text>,
    }
}
