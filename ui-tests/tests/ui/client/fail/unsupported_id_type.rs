#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: f64,
}

fn main() {}
