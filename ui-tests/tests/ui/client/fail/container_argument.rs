#[derive(attesto::OAuthClient)]
#[attesto(client_id)]
struct Client {
    #[attesto(client_id)]
    id: String,
}

fn main() {}
