//! meet-ai's load generator: measures a deployment (local or remote) through
//! its public API only. See `meet-ai-loadtest --help` and docs/BENCHMARKS.md.
//!
//! - `send`, `fanout`, `soak`, `history`, `idle`, `wake`, `waiting`: the
//!   scenarios; each prints one JSON object on stdout (and a table and
//!   progress bar on stderr when it is a terminal).
//! - `report`: turns a directory of results into docs/BENCHMARKS.md.
//!
//! The pure parts (percentiles, the content stamp, delivery checks against a
//! history, header parsing, target verdicts) are unit-tested without a server.

pub mod cli;
pub mod client;
pub mod content;
pub mod delivery;
pub mod listener;
pub mod members;
pub mod output;
pub mod report;
pub mod results;
pub mod scenarios;
pub mod stats;
pub mod ws;
