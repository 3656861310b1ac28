#[derive(attesto::Principal)]
#[attesto(sub_prefix = "")]
struct User {
    #[attesto(subject)]
    id: String,
}

fn main() {}
