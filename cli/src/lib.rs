//! The meet-ai client library: the one client every Rust program of ours
//! speaks to a meet-ai server with. The `meet-ai` binary (src/main.rs) is
//! its first user; the load generator (`loadtest/`) and the black-box tests
//! (`e2e/`) are the others, so a fix to how we talk to the server lands
//! everywhere at once. Wire formats themselves live in `protocol/`.
//!
//! - [`client`]: the HTTP client: one request builder per endpoint, typed
//!   with `protocol::wire` (sends are `SendBody`), sent either as a call
//!   that maps failures to [`error::CliError`] or as a timed call that
//!   returns the response's `Server-Timing` (`protocol::timing::D1Timing`).
//! - [`sse`] and [`transport`]: reading an event stream, and `listen`'s
//!   transports over it (the goodbye is `protocol::sse::Decoder::bye`).
//! - [`ws`]: the paid variant's WebSocket, the key in a header.
//! - [`follow`]: following a room across connections, the loop `listen`
//!   and the load generator's listeners share.
//! - [`backoff`]: retry and reconnect timing.
//! - [`error`]: the one error type, its exit codes, `error_chain`.
//! - [`config`]: the server URL and key, and when plain HTTP may carry a key.
//! - [`wire`]: the request bodies only this client sends.
//!
//! The command line itself (arguments, commands, output, the Claude Code
//! hook, what `listen` prints and when it retries) belongs to the binary.

pub mod backoff;
pub mod client;
pub mod config;
pub mod error;
pub mod follow;
pub mod sse;
pub mod transport;
pub mod wire;
pub mod ws;
