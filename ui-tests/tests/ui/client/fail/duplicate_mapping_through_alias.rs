#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: String,
    #[attesto(auth_method)]
    method: String,
    #[attesto(token_endpoint_auth_method)]
    method_again: String,
}

fn main() {}
