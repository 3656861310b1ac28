#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id = "id")]
    id: String,
}

fn main() {}
