fn keys(v: &String) -> Option<&str> {
    Some(v)
}

#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: String,
    #[attesto(jwks, with = keys)]
    jwks: String,
}

fn main() {}
