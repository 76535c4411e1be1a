//! Where the CPU went during a phase: the collector's threads by group,
//! the load generator, and how idle the machine was.

use std::collections::BTreeMap;

/// Groups a thread by its name, as the collector names them.
fn group(comm: &str) -> &'static str {
    match comm {
        c if c.starts_with("tokio-rt-worker") => "server: HTTP workers",
        c if c.starts_with("earshot-writer") => "server: writer",
        c if c.starts_with("earshot-flush") => "server: flush",
        c if c.starts_with("earshot-checkp") => "server: checkpoint",
        _ => "server: other",
    }
}

/// CPU time so far of every thread of `pid`, added per group into `out`
/// (`schedstat`'s first field: nanoseconds on a CPU).
fn add_cpu(out: &mut BTreeMap<&'static str, u64>, pid: u32, group: fn(&str) -> &'static str) {
    let dir = format!("/proc/{pid}/task");
    for task in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns: u64 = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
            .unwrap_or(0);
        *out.entry(group(comm.trim())).or_insert(0) += ns;
    }
}

/// (idle + iowait, total) jiffies of the whole machine.
fn machine_idle() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (idle, fields.iter().sum())
}

/// Snapshot of everything a phase's CPU report needs.
pub(crate) struct Cpu {
    /// Server thread groups and the load generator (this process).
    by_group: BTreeMap<&'static str, u64>,
    idle: (u64, u64),
}

impl Cpu {
    pub(crate) fn now(server_pid: u32) -> Cpu {
        let mut by_group = BTreeMap::new();
        add_cpu(&mut by_group, server_pid, group);
        add_cpu(&mut by_group, std::process::id(), |_| "load generator");
        Cpu {
            by_group,
            idle: machine_idle(),
        }
    }

    /// Per-group CPU between `self` and `later`; threads that exited in
    /// between are missed, which the collector's long-lived threads never do.
    pub(crate) fn until(&self, later: &Cpu) -> (BTreeMap<&'static str, u64>, f64) {
        let spent = later
            .by_group
            .iter()
            .map(|(name, ns)| {
                let start = self.by_group.get(name).copied().unwrap_or(0);
                (*name, ns.saturating_sub(start))
            })
            .collect();
        let idle = later.idle.0.saturating_sub(self.idle.0) as f64;
        let total = later.idle.1.saturating_sub(self.idle.1).max(1) as f64;
        (spent, idle / total)
    }
}
