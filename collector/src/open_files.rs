//! Every connection is an open file, and a process may hold only so many:
//! systemd starts services with a soft limit of 1,024 (its hard limit far
//! above). Connections that used up the files would make accepting fail,
//! and with it the shedding that keeps slow clients from starving real
//! ones; opening a database reader, a webhook's socket or a backup would
//! fail too. So the collector raises its soft limit to the hard one, as
//! Go programs and nginx (`worker_rlimit_nofile`) do, and takes no more
//! connections than fit beside its own files.

/// Files the collector keeps for itself beside its clients' connections:
/// SQLite's writer and pooled readers (each a database and a write-ahead
/// log), the lock file, listeners, the runtime's, webhook deliveries (16
/// at a time), the SMTP relay, PostgreSQL's pool and a backup, with room
/// to spare.
pub const RESERVED: u64 = 128;

/// Fewest connections the collector takes, however few files it may open.
const LEAST: usize = 16;

/// Raises this process's soft limit on open files to its hard limit;
/// returns the limit it then has (`None`: none).
pub fn raise() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                return limit.maximum;
            }
        }
        limit.current
    }
    #[cfg(not(unix))]
    None
}

/// How many of the `wanted` connections fit in `limit` open files beside
/// the collector's own.
pub fn connections_that_fit(limit: Option<u64>, wanted: usize) -> usize {
    let Some(limit) = limit else {
        return wanted;
    };
    let fit = usize::try_from(limit.saturating_sub(RESERVED)).unwrap_or(usize::MAX);
    wanted.min(fit.max(LEAST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_leave_room_for_the_collectors_own_files() {
        assert_eq!(connections_that_fit(None, 1_024), 1_024);
        assert_eq!(connections_that_fit(Some(524_288), 1_024), 1_024);
        assert_eq!(connections_that_fit(Some(1_024), 1_024), 896);
        assert_eq!(connections_that_fit(Some(256), 1_024), 128);
        assert_eq!(connections_that_fit(Some(100), 1_024), 16);
        assert_eq!(connections_that_fit(Some(256), 10), 10);
    }
}
