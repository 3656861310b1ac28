#[derive(attesto::Principal)]
struct User {
    #[attesto(subject)]
    id: String,
    #[attesto(claim)]
    iss: String,
}

fn main() {}
