//! The pure core of meet-ai, shared by the Worker, the CLI and the load generator.
//!
//! Everything here is decidable without a runtime: no `worker`, tokio or HTTP
//! types, so plain `cargo test` covers it natively.
//!
//! # Layout
//! - [`bookmark`]: D1 session bookmarks (read-your-writes across replicas): header and format.
//! - [`client`]: the network a client counts as for per-client limits (IPv6 per /64).
//! - [`error`]: the stable error codes every client sees, and their HTTP statuses.
//! - [`role`]: a message's sender type and a member's role.
//! - [`wire`]: the JSON shapes of the API (rooms, messages, keys, errors).
//! - [`validate`]: parse-don't-validate newtypes for everything a client sends.
//! - [`key`]: API key and member token formats, generation from caller-supplied entropy, hashing.
//! - [`mention`]: which `@names` a message's text addresses (outside code).
//! - [`decision`]: decision requests (permissions, plans, questions) and fitting answers to them.
//! - [`cursor`]: message ids and cursors (with START), and where a live reader starts.
//! - [`access`]: who may do what: the order of refusals for owners and members.
//! - [`route`]: the API's route table, as a pure function of method and path.
//! - [`sse`]: Server-Sent Events encoding (server) and incremental decoding (clients).
//! - [`stream`]: the SSE poll schedule, its per-invocation query budget, and the stream's step decisions.
//! - [`retention`]: how long messages are kept, and how a purged cursor is answered.
//! - [`ratelimit`]: sliding-window decisions for the rate limits.
//! - [`quota`]: the account's daily D1 budget: shedding order, fair share, reset.
//! - [`client`]: the network a client address counts as (IPv6 per /64).
//! - [`send_quota`]: a key's per-minute limit and daily quota, from its row's counters.
//! - [`idempotency`]: an Idempotency-Key's message id and the body fingerprint a retry must repeat.
//! - [`page_bytes`]: the byte cap on history pages and stream batches.
//! - [`time`]: timestamps as the API shows them.
//! - [`object`]: the requests the Worker sends a room's Durable Object, encoded and read strictly.
//! - [`ws`]: WebSocket frames of the paid variant.

pub mod access;
pub mod bookmark;
pub mod client;
pub mod cursor;
pub mod decision;
pub mod error;
pub mod idempotency;
pub mod key;
pub mod mcp;
pub mod mention;
pub mod object;
pub mod page_bytes;
pub mod push;
pub mod quota;
pub mod ratelimit;
pub mod retention;
pub mod role;
pub mod route;
pub mod send_quota;
pub mod sse;
pub mod stream;
pub mod time;
pub mod timing;
pub mod uri;
pub mod validate;
pub mod wire;
pub mod ws;

pub use error::ErrorCode;
