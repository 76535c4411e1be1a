use std::path::PathBuf;

use earshot_collector::config::Config;
use earshot_collector::server::{self, Running};
use serde_json::{Value, json};
use tempfile::TempDir;

pub struct TestApp {
    pub address: String,
    pub site_key: String,
    pub db_path: PathBuf,
    pub client: reqwest::Client,
    pub running: Running,
    _dir: TempDir,
}

/// A collector with every abuse limit off, so tests can send freely.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A collector whose configuration `configure` adjusts, starting from
/// limits that are all off.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("earshot.db");
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), db_path.clone());
    config.limits.per_ip_per_minute = 0;
    config.limits.per_site_per_minute = 0;
    config.limits.min_fill = std::time::Duration::ZERO;
    configure(&mut config);
    let running = server::start(&config).await.unwrap();
    let site_key = running.created_site.as_ref().unwrap().key.clone();
    TestApp {
        address: running.public_url.clone(),
        site_key,
        db_path,
        client: reqwest::Client::new(),
        running,
        _dir: dir,
    }
}

impl TestApp {
    pub fn valid_body(&self) -> Value {
        json!({
            "site": self.site_key,
            "kind": "complaint",
            "message": "The discount code was rejected at checkout.",
            "email": "ana@example.com",
            "page": {"url": "http://localhost:3000/checkout", "title": "Checkout", "referrer": ""},
            "client": {"user_agent": "Mozilla/5.0", "language": "pt-BR", "timezone": "America/Sao_Paulo", "viewport": "390x844"}
        })
    }

    pub async fn post_json(&self, body: &Value, origin: Option<&str>) -> reqwest::Response {
        self.post_raw(body.to_string(), "application/json", origin)
            .await
    }

    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/api/v1/feedback", self.address))
            .header("content-type", content_type)
            .body(body);
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req.send().await.unwrap()
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db_path).unwrap()
    }

    pub fn entry_count(&self) -> i64 {
        self.db()
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .unwrap()
    }
}

/// Asserts the standard error shape and returns (code, field).
pub async fn error_of(response: reqwest::Response, status: u16) -> (String, Option<String>) {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let body: Value = response.json().await.unwrap();
    let error = &body["error"];
    let message = error["message"].as_str().unwrap();
    assert!(!message.is_empty(), "every error explains itself");
    (
        error["code"].as_str().unwrap().to_owned(),
        error["field"].as_str().map(str::to_owned),
    )
}
