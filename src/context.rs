//! What a handler gets: the request, parsed once, plus the bindings it may use.

use protocol::validate::MAX_BODY_BYTES;
use worker::wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, web_sys};
use worker::{Env, Method, Request};

use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::store::d1::Db;
use protocol::validate::ValidationError;

pub struct Ctx {
    pub req: Request,
    /// The request's absolute URL as the runtime gives it (read with
    /// `protocol::uri`, not parsed: see there).
    pub url: String,
    pub env: Env,
    pub wctx: worker::Context,
    pub db: Db,
    pub config: Config,
    /// Wall-clock time at the start of the request, in epoch milliseconds.
    pub now_ms: i64,
    /// Whether this is `GET` of a stream route (`/events`, `/ws`): the only
    /// routes that take a credential (`?token=`) or a ticket in the URL.
    pub stream_route: bool,
}

impl Ctx {
    pub fn new(req: Request, env: Env, wctx: worker::Context) -> AppResult<Ctx> {
        let url = req.inner().url();
        let db = session_for(&req, &env)?;
        let config = Config::from_env(&env);
        Ok(Ctx {
            req,
            url,
            env,
            wctx,
            db,
            config,
            now_ms: now_ms(),
            stream_route: false,
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.req.headers().get(name).ok().flatten()
    }

    /// The first value of a query parameter.
    pub fn query(&self, name: &str) -> Option<String> {
        protocol::uri::query_value(&self.url, name)
    }

    /// The client's IP as Cloudflare reports it. Locally `wrangler dev` passes a
    /// client-sent header through, which is what lets tests act as many IPs.
    pub fn client_ip(&self) -> String {
        self.header("CF-Connecting-IP")
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Reads the body, up to [`MAX_BODY_BYTES`]: a `Content-Length` over it
    /// is refused (413) before a byte is read, and a body without one (chunked)
    /// is read chunk by chunk and refused (413) once it passes the cap, never
    /// holding more than the cap in memory. Every route calls this only after
    /// authenticating, so a bad key never gets its upload read at all.
    pub async fn body(&mut self) -> AppResult<Vec<u8>> {
        let declared = self
            .header("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(ValidationError::BodyTooLarge.into());
        }
        let Some(stream) = self.req.inner().body() else {
            return Ok(Vec::new());
        };
        // Chunk by chunk: past the cap nothing more is kept, so memory never
        // holds more than the cap. The rest is read and dropped rather than
        // left unread: under `wrangler dev` a body cancelled or left half
        // read stalled the isolate's next request for tens of seconds.
        let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
        let mut body = Vec::new();
        let mut over = false;
        loop {
            let result = JsFuture::from(reader.read())
                .await
                .map_err(|e| unreadable(format!("{e:?}")))?;
            let field = |name: &str| js_sys::Reflect::get(&result, &name.into());
            if field("done").ok().and_then(|d| d.as_bool()).unwrap_or(true) {
                break;
            }
            if over {
                continue;
            }
            let chunk = js_sys::Uint8Array::new(&field("value").unwrap_or_default());
            if body.len() + chunk.length() as usize > MAX_BODY_BYTES {
                over = true;
                body = Vec::new();
                continue;
            }
            body.extend_from_slice(&chunk.to_vec());
        }
        reader.release_lock();
        if over {
            return Err(ValidationError::BodyTooLarge.into());
        }
        Ok(body)
    }
}

fn unreadable(e: String) -> AppError {
    AppError::client(
        protocol::ErrorCode::BadRequest,
        format!("unreadable body: {e}"),
    )
}

impl Ctx {
    /// Runs `work` after the response has gone (`wait_until`), on its own
    /// handle on the bindings; a failure is logged under `label`.
    pub fn after_response<F, Fut>(&self, label: &'static str, work: F)
    where
        F: FnOnce(Env) -> Fut + 'static,
        Fut: std::future::Future<Output = AppResult<()>> + 'static,
    {
        let env = self.env.clone();
        self.wctx.wait_until(async move {
            if let Err(e) = work(env).await {
                worker::console_warn!("{label} failed: {e:?}");
            }
        });
    }
}

/// The request's D1 session: from the client's bookmark if it sent one (a
/// value that cannot be one is a 400, before any query), else from the
/// primary for a method that writes and from the nearest replica for a read.
fn session_for(req: &Request, env: &Env) -> AppResult<Db> {
    use protocol::bookmark::{default_constraint, parse, BOOKMARK_HEADER};
    let presented = req.headers().get(BOOKMARK_HEADER).ok().flatten();
    let start = match presented.as_deref() {
        Some(raw) => parse(raw).ok_or_else(|| {
            AppError::client(
                protocol::ErrorCode::BadRequest,
                format!(
                    "{BOOKMARK_HEADER} is not a D1 bookmark: send back the value a response \
                     gave, or nothing"
                ),
            )
        })?,
        None => default_constraint(!matches!(req.method(), Method::Get | Method::Head)),
    };
    Db::session(env, start)
}

pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}
