//! What a handler gets: the request, parsed once, plus the bindings it may use.

use protocol::validate::MAX_BODY_BYTES;
use worker::{Env, Method, Request, Url};

use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::store::d1::Db;
use protocol::validate::ValidationError;

pub struct Ctx {
    pub req: Request,
    pub url: Url,
    pub env: Env,
    pub wctx: worker::Context,
    pub db: Db,
    pub config: Config,
    /// Wall-clock time at the start of the request, in epoch milliseconds.
    pub now_ms: i64,
}

impl Ctx {
    pub fn new(req: Request, env: Env, wctx: worker::Context) -> AppResult<Ctx> {
        let url = req.url()?;
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
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.req.headers().get(name).ok().flatten()
    }

    /// The first value of a query parameter.
    pub fn query(&self, name: &str) -> Option<String> {
        self.url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The client's IP as Cloudflare reports it. Locally `wrangler dev` passes a
    /// client-sent header through, which is what lets tests act as many IPs.
    pub fn client_ip(&self) -> String {
        self.header("CF-Connecting-IP")
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Reads the body, refusing oversized ones from `Content-Length` before
    /// reading a byte, and by length after (the header may be absent).
    pub async fn body(&mut self) -> AppResult<Vec<u8>> {
        let declared = self
            .header("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(ValidationError::BodyTooLarge.into());
        }
        let body = self.req.bytes().await.map_err(|e| {
            AppError::client(
                protocol::ErrorCode::BadRequest,
                format!("unreadable body: {e}"),
            )
        })?;
        if body.len() > MAX_BODY_BYTES {
            return Err(ValidationError::BodyTooLarge.into());
        }
        Ok(body)
    }
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
