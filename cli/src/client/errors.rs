//! Reading failures: error bodies into [`CliError`]s, transport errors into
//! sentences, and retrying what is worth retrying.

use std::future::Future;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response, StatusCode};

use crate::backoff::{jitter, retry_delay, Backoff};
use protocol::ErrorCode;

use crate::error::{parse_code, ApiErrorBody, CliError, Kind, Result};

/// Reads an error response: the server's sentence and code, or the status.
pub async fn error_from_response(resp: Response) -> CliError {
    let status = resp.status().as_u16();
    let retry_after = retry_after(resp.headers());
    let body = resp.text().await.unwrap_or_default();
    error_from_parts(status, retry_after, &body)
}

/// A response's `Retry-After`, in whole seconds (the only form we send).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The error this answer says (for a status that is not a success).
    pub fn error(&self) -> CliError {
        let after = retry_after(&self.headers);
        error_from_parts(self.status.as_u16(), after, &self.body)
    }
}

/// Sends `req` and reads its answer whole. A request refused in front of
/// the Worker (see [`unhandled_wait`]) is sent again, at most
/// [`UNHANDLED_RETRIES`] times, when its body can be copied.
pub async fn send_whole(mut req: RequestBuilder) -> reqwest::Result<Answer> {
    let mut retries = 0;
    loop {
        let again = (retries < UNHANDLED_RETRIES)
            .then(|| req.try_clone())
            .flatten();
        let resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.text().await?;
        let wait = unhandled_wait(status.as_u16(), retry_after(&headers), &body);
        match (again, wait) {
            (Some(again), Some(wait)) => {
                tokio::time::sleep(wait).await;
                req = again;
                retries += 1;
            }
            _ => {
                return Ok(Answer {
                    status,
                    headers,
                    body,
                })
            }
        }
    }
}

/// How many times a request that never reached the Worker is sent again.
pub const UNHANDLED_RETRIES: u32 = 2;

/// The wait before sending a request again that was refused in front of the
/// Worker, or `None` if the Worker itself answered. Every answer of ours is
/// JSON with a code; a 503 that is not, with a short `Retry-After`, was made
/// by what stands before the Worker and says the request was not handled:
/// `wrangler dev`'s proxy answers so when its pooled connection to the
/// Worker dies under a request (workers-sdk issue 14641, "Your worker
/// restarted mid-request", though nothing restarted). Sending it again
/// cannot apply anything twice, so even a POST may be repeated.
pub fn unhandled_wait(status: u16, retry_after: Option<Duration>, body: &str) -> Option<Duration> {
    const LONGEST: Duration = Duration::from_secs(2);
    // The body is parsed last: every answer passes through here, and a
    // success (a whole history page) must not be parsed a second time.
    let wait = retry_after.filter(|w| status == 503 && *w <= LONGEST)?;
    let ours = serde_json::from_str::<ApiErrorBody>(body).is_ok();
    (!ours).then_some(wait)
}

/// [`error_from_response`] without the I/O.
pub fn error_from_parts(status: u16, retry_after: Option<Duration>, body: &str) -> CliError {
    let parsed: Option<ApiErrorBody> = serde_json::from_str(body).ok();
    let code = parsed
        .as_ref()
        .and_then(|b| b.code.as_deref())
        .and_then(parse_code)
        .unwrap_or_else(|| ErrorCode::from_status(status));
    let message = match parsed {
        Some(b) if !b.error.trim().is_empty() => b.error.trim().to_owned(),
        _ => format!("the server answered HTTP {status}"),
    };
    CliError {
        kind: Kind::Api {
            code,
            status,
            retry_after,
        },
        message,
    }
}

/// An error with its whole chain of causes, on one line (`a: b: c`): what
/// the load generator and `listen` record when a connection breaks.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e;
    while let Some(next) = cur.source() {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cur = next;
    }
    text
}

/// The innermost cause of an error, which is the informative one for
/// networking ("Connection refused", "dns error: ..."), without "(os error N)".
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Runs `op` until it succeeds, fails for good, or `max_retries` retries are
/// spent. Transient failures (network, 5xx, 429) are retried after the
/// server's Retry-After or the backoff; `on_retry(retry, delay, error)` is
/// told before each wait. `op` must be safe to repeat (a send reuses its
/// Idempotency-Key).
pub async fn with_retries<T, F, Fut>(
    max_retries: u32,
    backoff: Backoff,
    mut op: F,
    mut on_retry: impl FnMut(u32, Duration, &CliError),
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut retry = 0;
    loop {
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) if !e.is_transient() => return Err(e),
            Err(e) => e,
        };
        retry += 1;
        let Some(delay) = retry_delay(backoff, retry, max_retries, err.retry_after(), jitter())
        else {
            return Err(gave_up(err, retry - 1));
        };
        on_retry(retry, delay, &err);
        tokio::time::sleep(delay).await;
    }
}

fn gave_up(mut err: CliError, retries: u32) -> CliError {
    if retries > 0 {
        err.message = format!("{} (gave up after {} attempts)", err.message, retries + 1);
    }
    err
}
