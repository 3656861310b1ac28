//! The attribute goes on an inherent impl block.
use ui_tests::*;

struct App;

trait Lookup {
    fn find_client(&self, id: &str) -> Result<Option<Client>, DbError>;
}

#[attesto::authorization_server]
impl Lookup for App {
    fn find_client(&self, id: &str) -> Result<Option<Client>, DbError> {
        client(id)
    }
}

fn main() {}
