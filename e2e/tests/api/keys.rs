use reqwest::Method;

use crate::helpers::api;

#[tokio::test]
async fn health_answers_without_auth() {
    let reply = api().call(Method::GET, "/api/health", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), serde_json::json!({ "ok": true }));
}
