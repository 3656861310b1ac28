#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: String,
    #[attesto(grant_types, into)]
    grants: Vec<String>,
}

fn main() {}
