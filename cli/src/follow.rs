//! Following a room across connections: connect where the follower says,
//! hand it what arrives, and when the connection ends (or an attempt fails)
//! let it say whether and when to connect again. `meet-ai listen` and the
//! load generator's listeners are this one loop with their own [`Follower`]:
//! listen prints and reconnects with its backoff, the load generator logs
//! every connection and reconnects the way `EventSource` does.
//!
//! Stopping from outside (a deadline, a signal) is the caller's: it drops
//! the [`follow`] future, for example in a `tokio::select!`.

use std::ops::ControlFlow;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::CliError;
use crate::transport::{Connection, Ended, Incoming, Transport};

/// What to do after something arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum Read<D> {
    /// Keep reading this connection.
    More,
    /// End this connection as if it had ended so (`Follower::ended` decides
    /// what follows).
    Close(Ended),
    /// Stop following, with this outcome.
    Stop(D),
}

/// The caller's side of [`follow`]: each method is told what happened and
/// answers with what to do next (`Break`: stop following with that outcome,
/// `Continue`: wait that long, then connect again).
pub trait Follower {
    type Done;
    /// Called before every connection attempt: the message id (or `START`)
    /// the next connection resumes after, `None` for from now.
    fn resume_point(&mut self) -> Option<String>;
    /// How long an attempt to connect may take (`None`: as long as it takes).
    fn connect_within(&self) -> Option<Duration> {
        None
    }
    /// A connection is open.
    fn opened(&mut self, conn: &impl Connection);
    fn incoming(&mut self, incoming: Incoming) -> Read<Self::Done>;
    /// The open connection ended, `lived` after it opened.
    fn ended(
        &mut self,
        conn: &impl Connection,
        ended: Ended,
        lived: Duration,
    ) -> ControlFlow<Self::Done, Duration>;
    /// An attempt to connect failed.
    fn failed(&mut self, error: CliError) -> ControlFlow<Self::Done, Duration>;
}

/// Follows `room` over `transport` until the follower stops.
pub async fn follow<T: Transport, F: Follower>(transport: &T, room: &str, f: &mut F) -> F::Done {
    loop {
        let cursor = f.resume_point();
        let connect = transport.connect(room, cursor.as_deref());
        let connected = match f.connect_within() {
            None => connect.await,
            Some(within) => tokio::time::timeout(within, connect)
                .await
                .unwrap_or_else(|_| {
                    let secs = within.as_secs();
                    Err(CliError::unreachable(format!(
                        "not connected within {secs} s"
                    )))
                }),
        };
        let next = match connected {
            Err(e) => f.failed(e),
            Ok(mut conn) => {
                f.opened(&conn);
                let opened = Instant::now();
                let ended = loop {
                    let read = match conn.next().await {
                        Ok(incoming) => f.incoming(incoming),
                        Err(ended) => break ended,
                    };
                    match read {
                        Read::More => {}
                        Read::Close(ended) => break ended,
                        Read::Stop(done) => return done,
                    }
                };
                f.ended(&conn, ended, opened.elapsed())
            }
        };
        match next {
            ControlFlow::Break(done) => return done,
            ControlFlow::Continue(wait) => tokio::time::sleep(wait).await,
        }
    }
}
