#[derive(attesto::Principal)]
struct User {
    id: String,
    #[attesto(claim)]
    email: String,
}

fn main() {}
