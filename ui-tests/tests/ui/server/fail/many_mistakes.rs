//! Every mistake is reported at once, each on its own token.
use ui_tests::*;

struct App;

#[attesto::authorization_server(prefix = "oauth/", scopes = ["openid", "openid"], grants = [authorization_code, refresh_tokn], registration, dpop(enabled = false, nonce = "required"), code_ttl = 3600)]
impl App {
    async fn find_principal(&self, id: &str) -> Result<Option<User>, DbError> {
        user(id)
    }
}

fn main() {}
