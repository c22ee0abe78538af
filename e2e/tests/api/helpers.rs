use meet_ai_e2e::{Api, Server};

/// A client of the shared server.
pub fn api() -> Api {
    Api::new(&Server::shared().base)
}

pub const UNKNOWN_ID: &str = "00000000-0000-4000-8000-000000000000";
