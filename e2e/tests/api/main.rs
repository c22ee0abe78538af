//! Black-box tests of the REST API, the event stream and the rate limits,
//! against the real Worker under `wrangler dev`. One binary, one shared server
//! with the default configuration; every test makes its own keys, so tests are
//! independent tenants and can run in parallel.

mod decisions;
mod events;
mod helpers;
mod isolation;
mod keys;
mod members;
mod mentions;
mod messages;
mod ratelimit;
mod rooms;
mod sessions;
