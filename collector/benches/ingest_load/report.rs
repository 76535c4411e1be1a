//! The ingest report: rates, percentiles, CPU, the WAL over time, and the
//! writer's own timings from `/metrics`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::Phase;

pub(crate) fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Samples the WAL file's length every 100 ms until `stop`:
/// (seconds since the start, bytes).
pub(crate) fn wal_sampler(
    wal: std::path::PathBuf,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<(f64, u64)>> {
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut samples = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            samples.push((started.elapsed().as_secs_f64(), len));
            std::thread::sleep(Duration::from_millis(100));
        }
        samples
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The writer's histograms from `/metrics`: (name, count, sum seconds,
/// buckets as (upper bound, cumulative count)).
type Histograms = Vec<(String, f64, f64, Vec<(f64, f64)>)>;

pub(crate) fn scrape(metrics: &str) -> Histograms {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(metrics).expect("metrics listener");
    write!(
        stream,
        "GET /metrics HTTP/1.0\r\nHost: {metrics}\r\nConnection: close\r\n\r\n"
    )
    .expect("ask for metrics");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("metrics");
    let mut out: Histograms = Vec::new();
    for name in [
        "earshot_writer_commit_seconds",
        "earshot_writer_fsync_seconds",
        "earshot_writer_rewind_seconds",
    ] {
        let value = |line: &str| line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        let mut count = 0.0;
        let mut sum = 0.0;
        let mut buckets = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix(&format!("{name}_bucket{{le=\"")) {
                let le = rest.split('"').next().unwrap_or("+Inf");
                let le = le.parse::<f64>().unwrap_or(f64::INFINITY);
                buckets.push((le, value(line).unwrap_or(0.0)));
            } else if line.starts_with(&format!("{name}_count")) {
                count = value(line).unwrap_or(0.0);
            } else if line.starts_with(&format!("{name}_sum")) {
                sum = value(line).unwrap_or(0.0);
            }
        }
        out.push((name.to_owned(), count, sum, buckets));
    }
    out
}

/// The phases about the WAL and what they found.
pub(crate) struct WalPhases {
    /// Ingest beside a reader holding one snapshot for `hold`.
    pub(crate) reading: Phase,
    pub(crate) hold: Duration,
    /// WAL length samples over `reading`.
    pub(crate) reading_wal: Vec<(f64, u64)>,
    /// Ingest at `steady_rate` for `steady_secs`.
    pub(crate) steady: Phase,
    pub(crate) steady_secs: u64,
    pub(crate) steady_rate: f64,
    pub(crate) steady_wal: Vec<(f64, u64)>,
    pub(crate) writer_times: Histograms,
}

pub(crate) fn report_ingest(hello: &Phase, ingest: &Phase, wal: &WalPhases) {
    let WalPhases {
        reading,
        hold,
        reading_wal,
        steady,
        steady_secs,
        steady_rate,
        steady_wal,
        writer_times,
    } = wal;
    let (hold, steady_secs, steady_rate) = (*hold, *steady_secs, *steady_rate);
    let ratio = ingest.rate() / hello.rate();
    println!(
        "\ningest / hello-world throughput: {:.0}%  (target ≥ 25%)",
        ratio * 100.0
    );
    println!(
        "ingest p99: {:.2} ms (target ≤ 25 ms), max {:.2} ms (target ≤ 100 ms)",
        ingest.percentile(0.99),
        ingest.percentile(1.0)
    );
    let max_wal = |samples: &[(f64, u64)], from: f64, to: f64| {
        samples
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, len)| *len)
            .max()
            .unwrap_or(0)
    };
    let held = hold.as_secs_f64();
    println!(
        "\nwith a reader holding one snapshot for the first {held:.0} s of a {:.0} s ingest phase: {:.0} submissions/s, p99 {:.2} ms, max {:.2} ms; WAL up to {:.1} MiB while held, {:.1} MiB at the end (journal_size_limit 64 MiB)",
        reading.elapsed.as_secs_f64(),
        reading.rate(),
        reading.percentile(0.99),
        reading.percentile(1.0),
        mib(max_wal(reading_wal, 0.0, held + 0.5)),
        mib(reading_wal.last().map_or(0, |(_, len)| *len)),
    );
    println!(
        "\n{steady_secs} s at half the peak rate ({steady_rate:.0}/s offered): {:.0} submissions/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, WAL up to {:.1} MiB\n",
        steady.rate(),
        steady.percentile(0.5),
        steady.percentile(0.99),
        steady.percentile(1.0),
        mib(max_wal(steady_wal, 0.0, f64::MAX)),
    );
    println!("| from s | to s | requests | p99 ms | max ms | WAL max MiB |");
    println!("|---|---|---|---|---|---|");
    let window = (steady_secs / 10).max(1);
    for start in (0..steady_secs).step_by(usize::try_from(window).unwrap_or(1)) {
        let end = start + window;
        let mut latencies: Vec<u32> = steady
            .timeline
            .iter()
            .filter(|(t, _)| u64::from(*t) >= start && u64::from(*t) < end)
            .map(|(_, l)| *l)
            .collect();
        latencies.sort_unstable();
        let at = |q: f64| {
            latencies
                .get(((latencies.len().max(1) - 1) as f64 * q).round() as usize)
                .map_or(0.0, |us| f64::from(*us) / 1000.0)
        };
        println!(
            "| {start} | {end} | {} | {:.2} | {:.2} | {:.1} |",
            latencies.len(),
            at(0.99),
            at(1.0),
            mib(max_wal(steady_wal, start as f64, end as f64))
        );
    }
    println!("\nthe writer over the phases above (from /metrics; quantiles are bucket bounds):\n");
    println!("| histogram | count | mean ms | p50 ≤ ms | p99 ≤ ms | over 12.8 ms | over 51.2 ms |");
    println!("|---|---|---|---|---|---|---|");
    for (name, count, sum, buckets) in writer_times {
        let bound = |q: f64| {
            buckets
                .iter()
                .find(|(_, c)| *c >= q * count)
                .map_or(f64::INFINITY, |(le, _)| le * 1000.0)
        };
        let over = |seconds: f64| {
            count
                - buckets
                    .iter()
                    .find(|(le, _)| (*le - seconds).abs() < 1e-9)
                    .map_or(*count, |(_, c)| *c)
        };
        println!(
            "| {name} | {count:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} |",
            sum / count.max(1.0) * 1000.0,
            bound(0.5),
            bound(0.99),
            over(0.0128),
            over(0.0512)
        );
    }
}
