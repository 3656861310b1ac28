#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: String,
    #[attesto(redirect_uris)]
    redirect_uris: String,
}

fn main() {}
