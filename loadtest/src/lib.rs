//! meet-ai's load generator: measures a deployment (local or remote) through
//! its public API only. See `meet-ai-loadtest --help` and docs/BENCHMARKS.md.
//!
//! - `send`, `fanout`, `soak`, `history`, `idle`, `wake`, `waiting`: the
//!   scenarios (scenarios/, each a step and its loop); each prints one JSON
//!   object on stdout, its typed result from [`results`].
//! - `report`: reads a directory of those results back as the same types,
//!   checks the targets and renders docs/BENCHMARKS.md from templates.
//!
//! The pure parts (percentiles, the content stamp, delivery checks against a
//! history, target verdicts) are unit-tested without a server.

pub mod cli;
pub mod client;
pub mod content;
pub mod delivery;
pub mod listener;
pub mod report;
pub mod results;
pub mod scenarios;
pub mod stats;
