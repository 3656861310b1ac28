#[derive(attesto::Principal)]
enum User {
    Admin { id: String },
}

fn main() {}
