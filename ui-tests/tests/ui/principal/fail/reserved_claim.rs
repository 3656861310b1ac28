#[derive(attesto::Principal)]
struct User {
    #[attesto(subject)]
    id: String,
    #[attesto(claim = "sub")]
    public_id: String,
}

fn main() {}
