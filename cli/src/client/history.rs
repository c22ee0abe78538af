//! A room's whole stored history, read back page by page: what the load
//! generator checks its listeners against, and what the black-box tests
//! compare a stream with.

use protocol::wire::Message;

use super::{Client, HistoryQuery};
use crate::error::{CliError, Result};

/// The largest page the server gives.
const PAGE: u32 = 500;

fn page<'a>(after: Option<&'a str>, before: Option<&'a str>) -> HistoryQuery<'a> {
    HistoryQuery {
        after,
        before,
        limit: Some(PAGE),
    }
}

impl Client {
    async fn history_page(&self, room: &str, query: HistoryQuery<'_>) -> Result<Vec<Message>> {
        Ok(self.call(self.history_request(room, &query)?).await?.value)
    }

    /// The room's whole stored history, oldest first, read with `after`
    /// paging from its first message (found by paging back with `before`).
    /// Both walks must agree, or the history is reported as inconsistent.
    /// Stops once it holds `max_messages` or more.
    pub async fn whole_history(&self, room: &str, max_messages: usize) -> Result<Vec<Message>> {
        let full = PAGE as usize;
        // Backwards to the start.
        let mut back = self.history_page(room, page(None, None)).await?;
        let mut page_len = back.len();
        while page_len == full && back.len() < max_messages {
            let first = back[0].id.clone();
            let mut older = self.history_page(room, page(None, Some(&first))).await?;
            page_len = older.len();
            older.append(&mut back);
            back = older;
        }
        let Some(first) = back.first().cloned() else {
            return Ok(Vec::new());
        };
        // Forwards from the first message: the authoritative list.
        let mut all = vec![first];
        loop {
            let last = all.last().map(|m| m.id.clone()).unwrap_or_default();
            let newer = self.history_page(room, page(Some(&last), None)).await?;
            let n = newer.len();
            all.extend(newer);
            if n < full || all.len() >= max_messages {
                break;
            }
        }
        let same = all.len() == back.len() && all.iter().zip(&back).all(|(a, b)| a.id == b.id);
        if !same {
            return Err(CliError::other(format!(
                "history paging disagrees: {} messages paging forward, {} paging back",
                all.len(),
                back.len()
            )));
        }
        Ok(all)
    }
}
