//! Timing pages over HTTP as a signed-in staff member.

use std::time::{Duration, Instant};

use earshot_collector::auth::{ApiToken, SessionId, csrf_token};
use earshot_collector::clock::system_millis;
use earshot_collector::store::Store;

/// A signed-in session for `user_id`, as the cookie that carries it.
pub async fn session_cookie(store: &Store, user_id: i64) -> String {
    let session = SessionId::generate();
    store
        .create_session(
            session.digest(),
            user_id,
            csrf_token(),
            system_millis(),
            None,
        )
        .await
        .unwrap();
    format!("earshot_session={}", session.as_str())
}

/// Requests each page once cold, then `repeats` times, and prints first,
/// p50, p99 and max in milliseconds.
pub async fn time_pages(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    token: Option<&ApiToken>,
    cases: &[(&str, String)],
    repeats: usize,
) {
    println!(
        "{:<40} {:>8} {:>8} {:>8} {:>8}",
        "page", "first", "p50", "p99", "max"
    );
    for (name, path) in cases {
        let mut times: Vec<Duration> = Vec::with_capacity(repeats + 1);
        for _ in 0..=repeats {
            let started = Instant::now();
            let mut request = client.get(format!("{base}{path}")).header("cookie", cookie);
            if let Some(token) = token {
                request = request.bearer_auth(token.reveal());
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let _ = response.bytes().await.unwrap();
            times.push(started.elapsed());
            assert!(status.is_success(), "{name}: {status}");
        }
        let first = times.remove(0);
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "{:<40} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            name,
            ms(first),
            ms(p(0.5)),
            ms(p(0.99)),
            ms(times[times.len() - 1])
        );
    }
}
