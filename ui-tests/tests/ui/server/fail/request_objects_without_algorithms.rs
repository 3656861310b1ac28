//! A request-object policy with no algorithm is unsatisfiable.
use attesto::host::LoginOutcome;
use ui_tests::*;

struct App;

#[attesto::authorization_server(request_objects(algorithms = []))]
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
