//! The bounded pool that extraction runs on: at most one HTML or PDF extraction per core at a
//! time, across every ingest run of the process (a `serve --sync` may run several sources at
//! once), on tokio's blocking threads.
//!
//! Reading and fetching stay as concurrent as `IngestOptions::concurrency` says (they wait on
//! disks and sockets); only the CPU-bound step is bounded, so eight files in flight on two cores
//! do not become eight threads fighting for them, and a slow PDF never holds more than its own
//! core. Written here rather than with rayon: the work is a few whole documents, each already
//! long enough to amortise a thread hop, and the caller is async and needs a timeout per job.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// Jobs allowed to run at once: the cores this process may use.
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(workers()))
}

/// Run `job` on the pool; `timeout` counts from the moment it starts (not while it waits for a
/// slot). A job that runs out of time is reported as an error and gives its slot back at once:
/// its thread is left to finish on its own (Rust cannot stop a thread), so one document that
/// never ends does not stop the ones after it.
///
/// # Errors
/// [`Error::Invalid`] with `field` when the job panics (the panic is caught by tokio) or times out.
pub(crate) async fn run<T, F>(field: &'static str, timeout: Option<Duration>, job: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let _slot = slots().acquire().await.map_err(|_| Error::Internal("extraction pool closed".into()))?;
    let task = tokio::task::spawn_blocking(job);
    let joined = match timeout {
        Some(t) => match tokio::time::timeout(t, task).await {
            Ok(j) => j,
            Err(_) => {
                return Err(Error::invalid(field, format!("extraction timed out after {}s", t.as_secs())));
            }
        },
        None => task.await,
    };
    joined.map_err(|e| Error::invalid(field, format!("extraction task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_jobs_at_once_than_workers() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs = (0..4 * workers() + 3).map(|_| {
            let (running, peak) = (running.clone(), peak.clone());
            run("test", None, move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        });
        for r in futures::future::join_all(jobs).await {
            r.unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!(peak >= 1 && peak <= workers(), "peak {peak} with {} workers", workers());
    }

    #[tokio::test]
    async fn a_job_out_of_time_is_an_error_and_frees_its_slot() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let e = run("pdf", Some(Duration::from_millis(20)), move || {
            // Blocks until the test ends (the sender is dropped then).
            let _ = rx.recv();
        })
        .await
        .unwrap_err();
        assert_eq!(e.field(), Some("pdf"));
        assert!(e.to_string().contains("timed out"), "{e}");
        // Every slot is free again: as many jobs as workers run at once and finish.
        let all = (0..workers()).map(|i| run("test", Some(Duration::from_secs(30)), move || i));
        let out: Vec<usize> = futures::future::join_all(all).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(out, (0..workers()).collect::<Vec<_>>());
        drop(tx);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error() {
        let e = run("html", None, || -> u8 { panic!("boom") }).await.unwrap_err();
        assert_eq!(e.field(), Some("html"));
    }
}
