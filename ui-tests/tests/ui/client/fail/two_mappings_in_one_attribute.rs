#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: String,
    #[attesto(redirect_uris, post_logout_redirect_uris)]
    uris: Vec<String>,
}

fn main() {}
