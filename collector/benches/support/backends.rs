//! `EARSHOT_BENCH_ONLY=backends`: the same ingest load on SQLite, on
//! PostgreSQL behind one collector and behind two (the connections split
//! between them, as a load balancer would), in one run on one machine.
//! PostgreSQL runs with its defaults (every commit flushed), as SQLite
//! fsyncs before every answer. Client, collectors and PostgreSQL share the
//! machine: compare the rows with each other, not with other machines.

use std::ffi::OsStr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::postgres_server::TempPostgres;
use super::{Keys, Phase, Rig, Server, Submissions, Target, run};

/// Drives every collector of `servers` at once, `conns` connections in all;
/// the phases merged.
async fn ingest(servers: &[&Server], conns: u64, secs: u64, counter: &Arc<AtomicU64>) -> Phase {
    let rigs: Vec<Rig> = servers
        .iter()
        .map(|s| Rig {
            pid: s.child.id(),
            addr: s.addr.clone(),
            submissions: Submissions {
                site: Arc::new(s.site.clone()),
                counter: counter.clone(),
                keys: Keys::from_env(),
            },
            conns: conns / servers.len() as u64,
        })
        .collect();
    for rig in &rigs {
        run(rig, Target::Ingest, 2).await;
    }
    let phases =
        futures_util::future::join_all(rigs.iter().map(|r| run(r, Target::Ingest, secs))).await;
    let mut all = Phase::default();
    for p in phases {
        all.requests += p.requests;
        all.created += p.created;
        all.other += p.other;
        all.latencies_us.extend(p.latencies_us);
        all.elapsed = all.elapsed.max(p.elapsed);
    }
    all.latencies_us.sort_unstable();
    all
}

fn row(name: &str, p: &Phase) {
    println!(
        "{name:<34} {:>8.0} req/s  p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  ({} stored, {} other)",
        p.rate(),
        p.percentile(0.5),
        p.percentile(0.99),
        p.percentile(1.0),
        p.created,
        p.other
    );
}

pub fn compare(conns: u64, secs: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let counter = Arc::new(AtomicU64::new(0));
    println!("ingest, {conns} connections, {secs} s each, one machine (2 cores shared by all)");

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bench.db");
    let sqlite = Server::start(&[OsStr::new("--db"), db.as_os_str()], &[]);
    let phase = runtime.block_on(ingest(&[&sqlite], conns, secs, &counter));
    row("SQLite, one collector", &phase);
    sqlite.stop();

    let pg = TempPostgres::start_durable();
    let url = pg.fresh_c_database();
    let args = [OsStr::new("--database-url"), OsStr::new(&url)];
    let one = Server::start(&args, &[]);
    let phase = runtime.block_on(ingest(&[&one], conns, secs, &counter));
    row("PostgreSQL, one collector", &phase);
    let two = Server::start(&args, &[]);
    let phase = runtime.block_on(ingest(&[&one, &two], conns, secs, &counter));
    row("PostgreSQL, two collectors", &phase);
    one.stop();
    two.stop();
}
