#[derive(attesto::Principal)]
struct User {
    #[attesto(subject)]
    id: String,
    #[attesto(scope = "roles")]
    roles: Vec<String>,
}

fn main() {}
