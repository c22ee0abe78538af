//! The HTML pages, served from `public/` through the assets binding.
//!
//! `wrangler.toml` routes only the page paths through the Worker
//! (`run_worker_first`); scripts, styles and images go straight to the asset
//! server, which costs no Worker invocation. The Worker's part is what a
//! static file cannot do: map `/r/<room id>` to the chat page and give every
//! page a strict Content-Security-Policy (`script-src 'self'`, no remote
//! origins at all), so injected markup can never run script.

use worker::{Env, Headers, Method, Request, Response};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn serve(req: Request, env: &Env) -> worker::Result<Response> {
    let assets = env.assets("ASSETS")?;
    let asset = if req.path().starts_with("/r/") {
        // A shared room link opens the chat page; the page reads the id from
        // its own location.
        let url = format!("{}/", protocol::uri::origin(&req.inner().url()));
        assets
            .fetch_request(Request::new(&url, Method::Get)?)
            .await?
    } else {
        assets.fetch_request(req).await?
    };
    let is_html = asset
        .headers()
        .get("Content-Type")?
        .is_some_and(|t| t.starts_with("text/html"));
    if !is_html {
        return Ok(asset);
    }
    // Headers of a fetched response are immutable: copy them into new ones.
    let headers = Headers::new();
    for (name, value) in asset.headers().entries() {
        headers.set(&name, &value)?;
    }
    headers.set("Content-Security-Policy", CSP)?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    headers.set("Referrer-Policy", "no-referrer")?;
    Ok(asset.with_headers(headers))
}

/// `GET /api/openapi.json`: the OpenAPI document, from the assets (it lives
/// in `public/openapi.json`, so it costs the wasm bundle nothing; the asset
/// server also serves it directly at `/openapi.json`). No auth, no database.
pub async fn openapi(req: Request, env: &Env) -> worker::Result<Response> {
    // The origin via protocol::uri, not req.url(): that would link the url
    // crate (~20 KB gzipped) for one string.
    let url = format!("{}/openapi.json", protocol::uri::origin(&req.inner().url()));
    let asset = env
        .assets("ASSETS")?
        .fetch_request(Request::new(&url, Method::Get)?)
        .await?;
    let headers = Headers::new();
    for (name, value) in asset.headers().entries() {
        headers.set(&name, &value)?;
    }
    headers.set("Content-Type", "application/json")?;
    headers.set("Cache-Control", "public, max-age=300")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    Ok(asset.with_headers(headers))
}
