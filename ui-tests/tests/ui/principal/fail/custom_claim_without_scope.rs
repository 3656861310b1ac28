#[derive(attesto::Principal)]
struct User {
    #[attesto(subject)]
    id: String,
    #[attesto(claim = "roles")]
    roles: Vec<String>,
}

fn main() {}
