//! `earshot healthcheck`: asks a running server whether it is healthy, for
//! a container's HEALTHCHECK (Earshot's image has no shell and no curl).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::CliError;

/// Longer than a healthy server ever takes (`/healthz` answers in
/// milliseconds), shorter than Docker's default 30 s check timeout.
const PATIENCE: Duration = Duration::from_secs(5);

/// Why the server is not healthy, as the check prints it.
#[derive(Debug, thiserror::Error)]
pub enum Unhealthy {
    #[error("no answer from {url}: {reason}")]
    NoAnswer { url: String, reason: String },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
}

/// Where to ask a server listening on `addr`: a wildcard address is asked
/// on the loopback of its family.
pub fn healthz_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/healthz", SocketAddr::new(ip, addr.port()))
}

/// `Ok` when the server at `addr` answers `/healthz` with 200: it is up and
/// its database answers.
pub(super) async fn check(addr: SocketAddr) -> Result<(), CliError> {
    let url = healthz_url(addr);
    let no_answer = |reason: String| Unhealthy::NoAnswer {
        url: url.clone(),
        reason,
    };
    // No proxy from the environment: the server is on this machine.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(PATIENCE)
        .build()
        .map_err(|e| no_answer(e.to_string()))?;
    let response = client.get(&url).send().await.map_err(|e| {
        let reason = if e.is_timeout() {
            format!("nothing within {} s", PATIENCE.as_secs())
        } else if e.is_connect() {
            "nothing listens there".to_owned()
        } else {
            e.to_string()
        };
        no_answer(reason)
    })?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(Unhealthy::Status { url, status }.into());
    }
    println!("healthy: {url}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_address_is_asked_on_loopback_and_any_other_as_it_is() {
        let url = |a: &str| healthz_url(a.parse().unwrap());
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080/healthz");
        assert_eq!(url("[::]:9000"), "http://[::1]:9000/healthz");
        assert_eq!(url("10.0.0.5:8080"), "http://10.0.0.5:8080/healthz");
        assert_eq!(url("127.0.0.1:8080"), "http://127.0.0.1:8080/healthz");
    }
}
