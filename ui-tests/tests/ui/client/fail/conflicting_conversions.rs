fn split(s: &str) -> Vec<&str> {
    s.split(' ').collect()
}

#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: String,
    #[attesto(redirect_uris, separator = " ", with = split)]
    redirect_uris: String,
}

fn main() {}
