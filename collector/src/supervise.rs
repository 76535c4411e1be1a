//! Background work that one defect must not stop for good: a panic in the
//! notifier would otherwise leave every later complaint unannounced, and
//! nothing would say so but a line in the log at the time.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::task::JoinHandle;

/// The pause before work that panicked starts again: long enough that a
/// defect hit on every start does not spin, short enough that little
/// waits.
pub const RESTART_AFTER: Duration = Duration::from_secs(5);

/// Spawns `work()`, and whenever it panics, logs that (the panic hook has
/// logged where) and starts it again after [`RESTART_AFTER`]. Ends when
/// `work()` returns; aborting the handle stops it.
pub fn spawn<F, Fut>(name: &'static str, work: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    spawn_restarting_after(name, RESTART_AFTER, work)
}

fn spawn_restarting_after<F, Fut>(name: &'static str, pause: Duration, work: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        // Unwind safety: the work's state lives in the database and behind
        // locks; a fresh start reads it again rather than trusting memory
        // the panic interrupted.
        while AssertUnwindSafe(work()).catch_unwind().await.is_err() {
            tracing::error!(task = name, "background work panicked; starting it again");
            tokio::time::sleep(pause).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn work_that_panics_starts_again_until_it_returns() {
        let starts = Arc::new(AtomicUsize::new(0));
        let counted = starts.clone();
        let handle = spawn_restarting_after("test", Duration::from_millis(1), move || {
            let start = counted.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if start < 3 {
                    panic!("a defect");
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(5), handle)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(starts.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn aborting_stops_work_that_never_returns() {
        let handle = spawn("test", std::future::pending::<()>);
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
    }
}
