//! FAPI message signing forbids RS256 (FAPI 2.0 §5.4).
use attesto::host::LoginOutcome;
use ui_tests::*;

struct App;

#[attesto::authorization_server(request_objects(policy = "fapi_message_signing", algorithms = [PS256, RS256]))]
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

fn main() {}
