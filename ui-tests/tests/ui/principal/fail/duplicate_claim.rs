#[derive(attesto::Principal)]
struct User {
    #[attesto(subject)]
    id: String,
    #[attesto(claim)]
    email: String,
    #[attesto(claim = "email")]
    backup_email: String,
}

fn main() {}
