#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: String,
    #[attesto(separator = " ")]
    redirect_uris: String,
}

fn main() {}
