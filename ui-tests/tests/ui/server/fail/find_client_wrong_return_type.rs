//! find_client must return Result<Option<Client>, E>.
use attesto::host::LoginOutcome;
use ui_tests::*;

struct App;

#[attesto::authorization_server()]
impl App {
    async fn find_client(&self, id: &str) -> Option<Client> {
        client(id).ok().flatten()
    }
    async fn find_principal(&self, id: &str) -> Result<Option<User>, DbError> {
        user(id)
    }
    async fn login(&self, _ctx: &AuthorizeContext<'_>) -> LoginOutcome<Response> {
        alice()
    }
}

fn main() {}
