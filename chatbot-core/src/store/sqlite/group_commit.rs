//! Group commit for the SQLite writer: the hot writes of concurrent chat turns (a visitor's
//! message, a reply) that queue while the writer is busy are committed together, in one
//! transaction, instead of one transaction each.
//!
//! Every SQLite commit appends each page it changed to the WAL, checksums it, and takes and
//! releases the WAL write lock; turns of different visitors touch the same table and index
//! pages, so one commit for many turns writes far fewer pages. Nobody waits for a batch to
//! fill: the writer task takes whatever queued while the previous batch ran (under light load,
//! a batch of one, run as before in its own implicit transaction).
//!
//! A caller's write is answered only after its batch committed, so "stored" still means
//! durable in the database. If any write of a batch fails, or the commit does, the whole batch
//! is rolled back and every write is run again alone: each caller gets exactly the result its
//! write would have had on its own, and one bad write never takes the others down.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use sqlx::SqliteConnection;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::{Error, Result};

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 256;

/// A write that can be run more than once (alone after a failed batch).
pub(crate) type WriteFn<R> =
    Box<dyn for<'c> Fn(&'c mut SqliteConnection) -> BoxFuture<'c, Result<R>> + Send + Sync>;

/// One queued write with the caller's reply channel.
trait Job: Send {
    /// Run the write on `conn`; true when it succeeded.
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool>;
    /// Answer the caller: its write's result, or `failed` when its batch did not commit.
    fn finish(self: Box<Self>, failed: Option<String>);
}

struct Pending<R> {
    write: WriteFn<R>,
    result: Option<Result<R>>,
    reply: oneshot::Sender<Result<R>>,
}

impl<R: Send + 'static> Job for Pending<R> {
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let r = (self.write)(conn).await;
            let ok = r.is_ok();
            self.result = Some(r);
            ok
        })
    }

    fn finish(self: Box<Self>, failed: Option<String>) {
        let out = match (failed, self.result) {
            (Some(why), _) => Err(Error::Storage(why)),
            (None, Some(r)) => r,
            (None, None) => Err(Error::Internal("a queued write was never run".into())),
        };
        // The caller may have gone away (a dropped request): its write still happened.
        let _ = self.reply.send(out);
    }
}

/// The queue in front of the writer connection.
pub(crate) struct GroupCommit {
    jobs: mpsc::UnboundedSender<Box<dyn Job>>,
    counts: Arc<Counts>,
}

/// How many batches ran and how many writes they held.
#[derive(Debug, Default)]
struct Counts {
    batches: AtomicU64,
    writes: AtomicU64,
}

impl GroupCommit {
    /// Start the writer task on `writer` (shared with the store's other, unbatched writes,
    /// which lock it as before). The task ends when the `GroupCommit` is dropped.
    pub fn start(writer: Arc<Mutex<SqliteConnection>>) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        tokio::spawn(writer_task(writer, rx, counts.clone()));
        Self { jobs, counts }
    }

    /// Batches run and writes committed through them so far.
    pub fn stats(&self) -> (u64, u64) {
        (self.counts.batches.load(Ordering::Relaxed), self.counts.writes.load(Ordering::Relaxed))
    }

    /// Queue `write` and wait until it is committed (alone or with others).
    pub async fn write<R: Send + 'static>(&self, write: WriteFn<R>) -> Result<R> {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Pending { write, result: None, reply });
        self.jobs.send(job).map_err(|_| Error::Storage("the SQLite writer has stopped".into()))?;
        answer.await.unwrap_or_else(|_| Err(Error::Storage("the SQLite writer has stopped".into())))
    }
}

async fn writer_task(
    writer: Arc<Mutex<SqliteConnection>>,
    mut rx: mpsc::UnboundedReceiver<Box<dyn Job>>,
    counts: Arc<Counts>,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let mut conn = writer.lock().await;
        // Everything that queued meanwhile (also while waiting for the connection).
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        counts.batches.fetch_add(1, Ordering::Relaxed);
        counts.writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
        run_batch(&mut conn, &mut batch).await;
        drop(conn);
    }
}

async fn run_batch(conn: &mut SqliteConnection, batch: &mut Vec<Box<dyn Job>>) {
    if batch.len() == 1 {
        // Alone: its own implicit transaction, exactly as an unbatched write.
        if let Some(mut j) = batch.pop() {
            j.run(conn).await;
            j.finish(None);
        }
        return;
    }
    let together = async {
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await.map_err(|e| e.to_string())?;
        let mut all_ok = true;
        for j in batch.iter_mut() {
            if !j.run(conn).await {
                all_ok = false;
                break;
            }
        }
        if all_ok {
            sqlx::raw_sql("COMMIT").execute(&mut *conn).await.map(|_| ()).map_err(|e| e.to_string())
        } else {
            Err("a write of the batch failed".to_string())
        }
    };
    match together.await {
        Ok(()) => {
            for j in batch.drain(..) {
                j.finish(None);
            }
        }
        Err(why) => {
            tracing::debug!(writes = batch.len(), %why, "group commit rolled back; writing one by one");
            if let Err(e) = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await {
                // Nothing was open (BEGIN failed), or the connection is broken: then the
                // writes below fail and say so.
                tracing::debug!(error = %e, "rollback after a failed batch");
            }
            for mut j in batch.drain(..) {
                j.run(conn).await;
                j.finish(None);
            }
        }
    }
}
