// Every mistake below is reported in one build, each at its own token.
#[derive(attesto::Principal)]
#[attesto(knd = "user")]
struct User {
    id: String,
    #[attesto(claim = "iss")]
    issuer: String,
    #[attesto(claim = "roles")]
    roles: Vec<String>,
    #[attesto(claim)]
    email: String,
    #[attesto(claim = "email")]
    email2: String,
}

fn main() {}
