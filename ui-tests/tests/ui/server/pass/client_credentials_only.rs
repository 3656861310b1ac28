//! A machine-to-machine server: only client_credentials, so no login step is
//! needed and no authorization or UserInfo endpoint is mounted.
#![deny(missing_docs, warnings)]

use ui_tests::*;

/// The host.
pub struct Machines;

#[attesto::authorization_server(grants = [client_credentials], scopes = ["api.read", "api.write"], dpop = false)]
impl Machines {
    async fn find_client(&self, id: &str) -> Result<Option<Client>, DbError> {
        client(id)
    }

    async fn find_principal(&self, id: &str) -> Result<Option<User>, DbError> {
        user(id)
    }
}

fn main() {
    let md = Machines::discovery_metadata("https://m2m.example").unwrap();
    assert!(md.get("authorization_endpoint").is_none());
    assert!(md.get("dpop_signing_alg_values_supported").is_none());
    assert_eq!(md["grant_types_supported"], serde_json::json!(["client_credentials"]));
}
