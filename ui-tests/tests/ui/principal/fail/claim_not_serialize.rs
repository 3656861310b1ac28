struct Address {
    street: String,
}

#[derive(attesto::Principal)]
struct User {
    #[attesto(subject)]
    id: String,
    #[attesto(claim)]
    address: Address,
}

fn main() {}
