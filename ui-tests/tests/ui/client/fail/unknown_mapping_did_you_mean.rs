#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: String,
    #[attesto(redirect_uri)]
    redirect_uris: Vec<String>,
}

fn main() {}
