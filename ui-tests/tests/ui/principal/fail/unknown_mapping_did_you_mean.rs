#[derive(attesto::Principal)]
struct User {
    #[attesto(subjet)]
    id: String,
}

fn main() {}
