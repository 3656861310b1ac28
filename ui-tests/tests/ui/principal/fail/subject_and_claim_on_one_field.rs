#[derive(attesto::Principal)]
struct User {
    #[attesto(subject, claim)]
    id: String,
}

fn main() {}
