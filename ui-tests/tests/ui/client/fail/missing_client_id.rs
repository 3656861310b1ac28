#[derive(attesto::OAuthClient)]
struct Client {
    id: String,
    #[attesto(redirect_uris)]
    redirect_uris: Vec<String>,
}

fn main() {}
