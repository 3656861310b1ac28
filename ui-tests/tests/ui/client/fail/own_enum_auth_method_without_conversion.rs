enum Method {
    Basic,
}

#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: String,
    #[attesto(auth_method)]
    method: Method,
}

fn main() {}
