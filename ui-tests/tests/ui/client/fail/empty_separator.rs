#[derive(attesto::OAuthClient)]
struct Client {
    #[attesto(client_id)]
    id: String,
    #[attesto(grant_types, separator = "")]
    grants: String,
}

fn main() {}
