//! Test harness: starts the real Worker under `wrangler dev` and talks to it.
//!
//! - [`Server`] runs `wrangler dev` on a free loopback port with a fresh state
//!   folder (migrations applied), in its own process group, bounded by
//!   `timeout`, and stops the whole group on drop and at process exit.
//! - [`Api`] wraps the REST API with typed helpers; every key it makes comes
//!   from a fresh client IP, so the key-creation limit never couples tests.
//! - [`SseStream`] reads `text/event-stream` with the client library's reader.
//! - [`fake`] is a canned-answer HTTP server for the client's unit tests.
//!
//! `make test` builds the Worker before these run; a missing build fails fast.

pub mod api;
pub mod fake;
pub mod server;
pub mod sse;
pub mod ws;

pub use api::Api;
pub use server::{paid_variant, Server, ServerOptions};
pub use sse::SseStream;
pub use ws::WsClient;
