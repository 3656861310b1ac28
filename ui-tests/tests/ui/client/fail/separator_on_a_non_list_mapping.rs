#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id, separator = " ")]
    id: String,
}

fn main() {}
