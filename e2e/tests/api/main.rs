//! Black-box tests of the REST API, the event stream and the rate limits,
//! against the real Worker under `wrangler dev`. One binary, one shared server
//! with the default configuration; every test makes its own keys, so tests are
//! independent tenants and can run in parallel.

mod bodies;
mod bursts;
mod byte_caps;
mod daily_quota;
mod decisions;
mod events;
mod exclude;
mod helpers;
mod idempotency;
mod isolation;
mod keys;
mod members;
mod mentions;
mod messages;
mod names;
mod ratelimit;
mod readlimit;
mod revoke;
mod rooms;
mod send_cost;
mod sessions;
mod tickets;
