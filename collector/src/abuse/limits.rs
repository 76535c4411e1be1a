//! How much the public endpoint takes before it refuses: rates,
//! connections and timeouts, set from the command line (`config`).

use std::time::Duration;

/// Limits protecting the public endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_ip_per_minute: u32,
    pub per_site_per_minute: u32,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub min_fill: Duration,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        per_ip_per_minute: 20,
        per_site_per_minute: 1_200,
        max_connections: 1_024,
        max_connections_per_ip: 64,
        header_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(15),
        min_fill: Duration::from_millis(1_500),
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
