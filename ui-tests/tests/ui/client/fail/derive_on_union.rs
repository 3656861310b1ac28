#[derive(attesto::OAuthClient)]
union Client {
    id: u64,
}

fn main() {}
