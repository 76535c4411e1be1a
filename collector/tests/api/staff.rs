//! A browser-like client for the review console, and a collector with
//! staff accounts on a manual clock, shared by the console's tests.

use earshot_collector::auth::{Password, password};
use earshot_collector::clock::Clock;
use earshot_collector::config::Config;
use earshot_collector::store::{NewSite, NewUser, Role, Site, Store};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

pub const PASSWORD: &str = "a long staff passphrase";
pub const DAY: i64 = 86_400_000;
/// 2026-11-22 12:00 UTC.
pub const NOON: i64 = 1_795_348_800_000;

/// A browser-like client: no automatic redirects, cookie kept by hand.
pub struct Console {
    pub http: reqwest::Client,
    pub base: String,
    /// The session cookie (`name=value`).
    pub cookie: Option<String>,
    /// The device cookie from an earlier sign-in, kept like a browser would.
    pub device: Option<String>,
}

impl Console {
    pub fn new(app: &TestApp) -> Console {
        Console::at(&app.address)
    }

    /// A browser for the collector at `base`.
    pub fn at(base: &str) -> Console {
        Console {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookie: None,
            device: None,
        }
    }

    /// Every cookie this browser holds, as a `Cookie` header.
    pub fn cookie_header(&self) -> Option<String> {
        let all: Vec<&str> = [&self.cookie, &self.device]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        (!all.is_empty()).then(|| all.join("; "))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = self.cookie_header() {
            req = req.header("cookie", c);
        }
        req.send().await.unwrap()
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_with(path, form, &[]).await
    }

    pub async fn post_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&'static str, &str)],
    ) -> reqwest::Response {
        let body = serde_html_form::to_string(form).unwrap();
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(c) = self.cookie_header() {
            req = req.header("cookie", c);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    pub async fn login(&mut self, email: &str, password: &str) -> reqwest::Response {
        self.login_with(email, password, &[]).await
    }

    /// Signs in from `ip`, as a trusted proxy in front would report it.
    pub async fn login_from(&mut self, email: &str, password: &str, ip: &str) -> reqwest::Response {
        self.login_with(email, password, &[("x-forwarded-for", ip)])
            .await
    }

    async fn login_with(
        &mut self,
        email: &str,
        password: &str,
        headers: &[(&'static str, &str)],
    ) -> reqwest::Response {
        let response = self
            .post_with(
                "/console/login",
                &[("email", email), ("password", password)],
                headers,
            )
            .await;
        if let Some(cookie) = session_cookie(response.headers()) {
            self.cookie = Some(cookie);
        }
        if let Some(device) = named_set_cookie(response.headers(), "earshot_device") {
            self.device = Some(device);
        }
        response
    }

    pub async fn html(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// The CSRF token from a console page's forms.
    pub async fn csrf(&self) -> String {
        let html = self.html("/console").await;
        between(&html, r#"name="_csrf" value=""#, "\"").to_owned()
    }

    /// Posts a form with the session's CSRF token; returns the response.
    pub async fn act(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut fields = vec![("_csrf", token.as_str())];
        fields.extend_from_slice(form);
        self.post(path, &fields).await
    }
}

/// The session cookie a response sets (`name=value`), unless it clears it.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    named_set_cookie(headers, "earshot_session")
}

/// The cookie called `name` that a response sets, unless it clears it.
pub fn named_set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| {
            pair.split_once('=')
                .is_some_and(|(k, v)| k == name && !v.is_empty())
        })
        .map(str::to_owned)
}

pub fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in page"))
        + start.len();
    let len = text[from..].find(end).unwrap();
    &text[from..from + len]
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// A collector on a manual clock with one admin and one agent.
pub async fn console_app() -> (TestApp, Clock) {
    console_app_with(|_| {}).await
}

/// [`console_app`] with the configuration adjusted by `configure`.
pub async fn console_app_with(configure: impl FnOnce(&mut Config)) -> (TestApp, Clock) {
    let clock = Clock::manual(NOON);
    let for_config = clock.clone();
    let app = spawn_app_with(move |c| {
        c.clock = for_config;
        configure(c);
    })
    .await;
    add_staff(&app.running.store).await;
    (app, clock)
}

/// [`console_app`] with email through a loopback SMTP sink, and what the
/// sink receives.
pub async fn console_app_with_mail()
-> (TestApp, Clock, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let (url, mails) = crate::helpers::smtp_sink().await;
    let (app, clock) = console_app_with(move |c| {
        c.smtp = Some(earshot_collector::config::Smtp {
            url: earshot_collector::config::Secret::new(url),
            from: "Earshot <earshot@example.com>".into(),
        });
    })
    .await;
    (app, clock, mails)
}

/// Ada (admin) and Bo (agent), both with [`PASSWORD`].
pub async fn add_staff(store: &Store) {
    add_staff_at(store, earshot_collector::clock::system_millis()).await;
}

/// [`add_staff`], the accounts made at `at` (a test's own clock).
pub async fn add_staff_at(store: &Store, at: i64) {
    let hash = password::hash(&Password::parse(PASSWORD).unwrap()).unwrap();
    for (email, name, role) in [
        ("ada@example.com", "Ada", Role::Admin),
        ("bo@example.com", "Bo", Role::Agent),
    ] {
        store
            .add_user(
                NewUser {
                    email: email.into(),
                    name: name.into(),
                    role,
                    password_hash: hash.clone(),
                },
                at,
            )
            .await
            .unwrap();
    }
}

/// Adds `count` sites named "Branch 000", "Branch 001", …, without origins.
pub async fn add_branches(store: &Store, count: usize, at: i64) -> Vec<Site> {
    let mut sites = Vec::new();
    for i in 0..count {
        let new = NewSite {
            name: format!("Branch {i:03}"),
            origins: Vec::new(),
        };
        sites.push(store.add_site(new, at).await.unwrap());
    }
    sites
}

pub async fn signed_in(app: &TestApp, email: &str) -> Console {
    let mut console = Console::new(app);
    let response = console.login(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    console
}

/// The id of the colleague who signs in as `email`.
pub fn user_id(app: &TestApp, email: &str) -> i64 {
    app.db()
        .query_row("SELECT id FROM users WHERE email = ?1", [email], |r| {
            r.get(0)
        })
        .unwrap()
}

/// Submits feedback through the public API; returns (public id, status url).
pub async fn submit(app: &TestApp, body: Value) -> (String, String) {
    let response = app.post_json(&body, None).await;
    assert_eq!(response.status().as_u16(), 201);
    let accepted: Value = response.json().await.unwrap();
    (
        accepted["id"].as_str().unwrap().to_owned(),
        accepted["status_url"].as_str().unwrap().to_owned(),
    )
}

pub fn complaint(app: &TestApp, message: &str) -> Value {
    json!({"site": app.site_key, "kind": "complaint", "message": message,
           "client": {"language": "de-DE"}})
}
