#[derive(attesto::OAuthClient)]
enum Client {
    Web { id: String },
}

fn main() {}
