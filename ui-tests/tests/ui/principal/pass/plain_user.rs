//! A plain user with an integer id, a serde claim and no declared kind.
#![deny(missing_docs, warnings)]

/// A postal address claim (OIDC Core §5.1.1).
#[derive(serde::Serialize)]
pub struct Address {
    locality: String,
}

/// The host's user.
#[derive(attesto::Principal)]
pub struct User {
    #[attesto(subject)]
    id: i64,
    #[attesto(claim)]
    address: Option<Address>,
    #[attesto(claim)]
    phone_number: String,
    #[attesto(claim = "email", scope = "contact")]
    mail: String,
}

fn assert_principal<P: attesto::host::Principal>() {}

fn main() {
    assert_principal::<User>();
}
