#[derive(attesto::Principal)]
struct User {
    #[attesto(subject)]
    id: Option<String>,
}

fn main() {}
