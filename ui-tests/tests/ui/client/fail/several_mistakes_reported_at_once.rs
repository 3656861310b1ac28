// Every mistake below is reported in one build, each at its own token.
#[derive(attesto::OAuthClient)]
struct Client {
    id: String,
    #[attesto(redirect_uri)]
    redirect_uris: Vec<String>,
    #[attesto(grant_types)]
    grants: Vec<String>,
    #[attesto(grant_types)]
    more_grants: Vec<String>,
    #[attesto(public = true)]
    is_public: bool,
    #[attesto(secret_hash, separator = ",")]
    secret: Option<String>,
}

fn main() {}
