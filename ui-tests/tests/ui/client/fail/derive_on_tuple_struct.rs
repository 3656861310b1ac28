#[derive(attesto::OAuthClient)]
struct Client(#[attesto(client_id)] String);

fn main() {}
