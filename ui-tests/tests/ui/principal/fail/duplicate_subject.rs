#[derive(attesto::Principal)]
struct User {
    #[attesto(subject)]
    id: String,
    #[attesto(subject)]
    uuid: String,
}

fn main() {}
