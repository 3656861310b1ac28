#[derive(attesto::Principal)]
#[attesto(kind = "user", prefix = "usr_")]
struct User {
    #[attesto(subject)]
    id: String,
}

fn main() {}
