//! The authorization_code grant needs `login` (seed V21).
use ui_tests::*;

struct App;

#[attesto::authorization_server(grants = [authorization_code])]
impl App {
    async fn find_client(&self, id: &str) -> Result<Option<Client>, DbError> {
        client(id)
    }
    async fn find_principal(&self, id: &str) -> Result<Option<User>, DbError> {
        user(id)
    }
}

fn main() {}
