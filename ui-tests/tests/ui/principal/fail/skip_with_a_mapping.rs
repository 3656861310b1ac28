#[derive(attesto::Principal)]
struct User {
    #[attesto(subject)]
    id: String,
    #[attesto(skip, claim)]
    email: String,
}

fn main() {}
