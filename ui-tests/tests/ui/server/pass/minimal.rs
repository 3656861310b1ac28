//! The smallest complete server: a client registry, principals and a login step,
//! under the host's `#![deny(missing_docs)]` and warnings denied.
#![deny(missing_docs, warnings)]

use attesto::host::LoginOutcome;
use ui_tests::*;

/// The host.
#[derive(Clone)]
pub struct App;

#[attesto::authorization_server]
impl App {
    async fn find_client(&self, id: &str) -> Result<Option<Client>, DbError> {
        client(id)
    }

    async fn find_principal(&self, id: &str) -> Result<Option<User>, DbError> {
        user(id)
    }

    async fn login(&self, _ctx: &AuthorizeContext<'_>) -> LoginOutcome<Response> {
        alice()
    }
}

fn main() {
    let md = App::discovery_metadata("https://id.example").unwrap();
    assert_eq!(md["token_endpoint"], "https://id.example/oauth/token");
    assert_eq!(md["authorization_endpoint"], "https://id.example/oauth/authorize");
    assert!(md.get("registration_endpoint").is_none());
}
