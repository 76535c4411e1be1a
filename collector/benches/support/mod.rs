//! What the benchmarks share (a folder, so cargo does not take it for a
//! benchmark of its own).

/// A memory figure of process `pid` (`"self"` for this one) from
/// `/proc/<pid>/status`, in KiB: `VmRSS:` now, `VmHWM:` at its peak. 0
/// where `/proc` is missing.
pub fn proc_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
