//! The meet-ai client library: one HTTP client, one SSE and one WebSocket
//! transport, one backoff and one error type for every Rust program that
//! speaks to a meet-ai server. The `meet-ai` binary (src/main.rs) is its
//! first user; the load generator (`loadtest/`) and the black-box tests
//! (`e2e/`) are the others, so a fix to how we talk to the server lands
//! everywhere at once. Wire formats themselves live in `protocol/`.

pub mod args;
pub mod backoff;
pub mod client;
pub mod commands;
pub mod config;
pub mod error;
pub mod hook;
pub mod listen;
pub mod output;
pub mod sse;
pub mod transport;
pub mod wire;
pub mod ws;
