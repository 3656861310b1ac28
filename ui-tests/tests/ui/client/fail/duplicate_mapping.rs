#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: String,
    #[attesto(redirect_uris)]
    redirect_uris: Vec<String>,
    #[attesto(redirect_uris, separator = " ")]
    legacy_redirect_uris: String,
}

fn main() {}
