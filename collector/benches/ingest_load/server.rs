//! The collector under test, started as its own process.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::BIN;

/// A collector under test: the bench-profile binary serving `args`.
pub(crate) struct Server {
    pub(crate) child: std::process::Child,
    pub(crate) addr: String,
    pub(crate) site: String,
    pub(crate) metrics: String,
}

impl Server {
    /// Starts `earshot serve <args>` on free ports with every abuse limit
    /// off, then `env`; returns once it has printed where it listens.
    pub(crate) fn start(args: &[&OsStr], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(BIN);
        command
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--metrics-addr",
                "127.0.0.1:0",
            ])
            .args(args)
            .env("EARSHOT_RATE_LIMIT_PER_IP", "0")
            .env("EARSHOT_MAX_CONNECTIONS_PER_IP", "0")
            .env("EARSHOT_RATE_LIMIT_PER_SITE", "0")
            .env("EARSHOT_MIN_FILL_MS", "0")
            .env("EARSHOT_LOG", "warn");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("start earshot");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut addr, mut site, mut metrics) = (String::new(), String::new(), String::new());
        for line in lines.by_ref() {
            let line = line.expect("stdout line");
            if let Some(rest) = line.strip_prefix("Earshot is listening on http://") {
                addr = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
            if let Some(rest) = line.strip_prefix("Metrics (Prometheus): http://") {
                metrics = rest.trim_end_matches("/metrics").to_owned();
            }
            if let Some(rest) = line.split("data-site=\"").nth(1) {
                site = rest.split('"').next().unwrap_or_default().to_owned();
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            addr,
            site,
            metrics,
        }
    }

    pub(crate) fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(self.child.wait().expect("wait").success());
    }
}
