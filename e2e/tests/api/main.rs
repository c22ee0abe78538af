//! Black-box tests of the REST API and the event stream, against the real
//! Worker under `wrangler dev`. One binary, one shared server; every test makes
//! its own keys, so tests are independent tenants.

mod helpers;
mod keys;
mod messages;
mod rooms;
