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
//! write would have had on its own, and one bad write never takes the others down. A write of
//! several statements runs in a transaction of its own when it is alone, so it stays atomic.
//!
//! The writer is supervised: a write that panics answers every caller of its batch with an
//! error (the open transaction is rolled back), and the writer goes on with the next batch; if
//! the task itself ever ends by a panic, it is started again on the same queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt as _;
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
    /// Whether the write has several statements (alone, it runs in a transaction of its own).
    fn multi(&self) -> bool;
    /// Whether the write was started and has not returned (after a panic: the write that
    /// panicked).
    fn running(&self) -> bool;
    /// Run the write on `conn`; true when it succeeded.
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool>;
    /// Answer the caller: its write's result, or `failed` when its batch did not commit.
    fn finish(self: Box<Self>, failed: Option<String>);
}

struct Pending<R> {
    write: WriteFn<R>,
    multi: bool,
    running: bool,
    result: Option<Result<R>>,
    reply: oneshot::Sender<Result<R>>,
}

impl<R: Send + 'static> Job for Pending<R> {
    fn multi(&self) -> bool {
        self.multi
    }

    fn running(&self) -> bool {
        self.running
    }

    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            self.running = true;
            let r = (self.write)(conn).await;
            self.running = false;
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
    /// Batches a panicking write failed (the writer went on).
    panics: AtomicU64,
}

/// What a caller whose write was lost to a failed writer is told.
const WRITER_FAILED: &str = "the SQLite writer failed during this write; it was not confirmed";

impl GroupCommit {
    /// Start the writer task on `writer` (shared with the store's other, unbatched writes,
    /// which lock it as before). The task ends when the `GroupCommit` is dropped.
    pub fn start(writer: Arc<Mutex<SqliteConnection>>) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        tokio::spawn(supervise(writer, rx, counts.clone()));
        Self { jobs, counts }
    }

    /// Batches run and writes committed through them so far.
    pub fn stats(&self) -> (u64, u64) {
        (self.counts.batches.load(Ordering::Relaxed), self.counts.writes.load(Ordering::Relaxed))
    }

    /// Queue `write` (one statement) and wait until it is committed (alone or with others).
    pub async fn write<R: Send + 'static>(&self, write: WriteFn<R>) -> Result<R> {
        self.queue(write, false).await
    }

    /// Queue `write`, which runs several statements: alone in its batch it gets a transaction
    /// of its own, so it is all or nothing there too.
    pub async fn write_multi<R: Send + 'static>(&self, write: WriteFn<R>) -> Result<R> {
        self.queue(write, true).await
    }

    async fn queue<R: Send + 'static>(&self, write: WriteFn<R>, multi: bool) -> Result<R> {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Pending { write, multi, running: false, result: None, reply });
        self.jobs.send(job).map_err(|_| Error::Storage("the SQLite writer has stopped".into()))?;
        answer.await.unwrap_or_else(|_| Err(Error::Storage(WRITER_FAILED.into())))
    }
}

/// Run the writer task, and start it again (on the same queue) if it ever ends by a panic. It
/// ends for good when the queue closes (the store was dropped).
async fn supervise(
    writer: Arc<Mutex<SqliteConnection>>,
    rx: mpsc::UnboundedReceiver<Box<dyn Job>>,
    counts: Arc<Counts>,
) {
    let rx = Arc::new(Mutex::new(rx));
    loop {
        match tokio::spawn(writer_task(writer.clone(), rx.clone(), counts.clone())).await {
            Err(e) if e.is_panic() => {
                tracing::error!("the SQLite writer task panicked; restarting it");
                // Whatever it left open on the connection is undone before anyone else writes.
                let mut conn = writer.lock().await;
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
            }
            _ => return,
        }
    }
}

async fn writer_task(
    writer: Arc<Mutex<SqliteConnection>>,
    rx: Arc<Mutex<mpsc::UnboundedReceiver<Box<dyn Job>>>>,
    counts: Arc<Counts>,
) {
    let mut rx = rx.lock().await;
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
        let ran = std::panic::AssertUnwindSafe(run_batch(&mut conn, &mut batch)).catch_unwind().await;
        if ran.is_err() {
            recover(&mut conn, &mut batch, &counts).await;
        }
        drop(conn);
    }
}

/// After a write of `batch` panicked: roll back, answer the write that panicked with an error,
/// and run the others alone (again under the panic net, until none is left).
async fn recover(conn: &mut SqliteConnection, batch: &mut Vec<Box<dyn Job>>, counts: &Counts) {
    loop {
        counts.panics.fetch_add(1, Ordering::Relaxed);
        tracing::error!(writes = batch.len(), "a SQLite write panicked; its batch is rolled back");
        // Undo an open transaction while still holding the connection (an error here means
        // none was open).
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
        // The write that panicked inside a batch is still in it; a write taken out of it to
        // run alone was dropped by the unwinding, which answers its caller too.
        let (culprits, rest): (Vec<_>, Vec<_>) = batch.drain(..).partition(|j| j.running());
        for j in culprits {
            j.finish(Some("this write panicked; it was rolled back".into()));
        }
        *batch = rest;
        let ran = std::panic::AssertUnwindSafe(async {
            while !batch.is_empty() {
                let j = batch.remove(0);
                run_alone(conn, j).await;
            }
        })
        .catch_unwind()
        .await;
        if ran.is_ok() {
            return;
        }
    }
}

/// Run one write by itself: in an implicit transaction (one statement), or in an explicit one
/// (several statements).
async fn run_alone(conn: &mut SqliteConnection, mut j: Box<dyn Job>) {
    if !j.multi() {
        j.run(conn).await;
        j.finish(None);
        return;
    }
    if let Err(e) = sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await {
        j.finish(Some(format!("could not begin a transaction: {e}")));
        return;
    }
    if j.run(conn).await {
        match sqlx::raw_sql("COMMIT").execute(&mut *conn).await {
            Ok(_) => j.finish(None),
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                j.finish(Some(format!("commit failed: {e}")));
            }
        }
    } else {
        // Its own error is the answer; nothing of it stays.
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
        j.finish(None);
    }
}

async fn run_batch(conn: &mut SqliteConnection, batch: &mut Vec<Box<dyn Job>>) {
    if batch.len() == 1 {
        // Alone: as an unbatched write.
        if let Some(j) = batch.pop() {
            run_alone(conn, j).await;
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
            while !batch.is_empty() {
                let j = batch.remove(0);
                run_alone(conn, j).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Connection as _;

    use super::*;

    async fn writer() -> (GroupCommit, Arc<Mutex<SqliteConnection>>) {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (v INTEGER NOT NULL)").execute(&mut conn).await.unwrap();
        let conn = Arc::new(Mutex::new(conn));
        (GroupCommit::start(conn.clone()), conn)
    }

    fn exec(sql: &'static str) -> WriteFn<u64> {
        Box::new(move |conn| {
            Box::pin(async move { Ok(sqlx::raw_sql(sql).execute(conn).await?.rows_affected()) })
        })
    }

    fn panicking() -> WriteFn<u64> {
        Box::new(|conn| {
            Box::pin(async move {
                sqlx::raw_sql("INSERT INTO t VALUES (99)").execute(&mut *conn).await?;
                panic!("a write that panics after its statement ran");
            })
        })
    }

    async fn values(conn: &Arc<Mutex<SqliteConnection>>) -> Vec<i64> {
        let mut c = conn.lock().await;
        sqlx::query_scalar("SELECT v FROM t ORDER BY v").fetch_all(&mut *c).await.unwrap()
    }

    #[tokio::test]
    async fn a_lone_multi_statement_write_is_all_or_nothing() {
        let (g, conn) = writer().await;
        // The second statement fails (NOT NULL): the first must not stay.
        let r = g.write_multi(exec("INSERT INTO t VALUES (1); INSERT INTO t VALUES (NULL)")).await;
        assert!(r.is_err(), "{r:?}");
        assert_eq!(values(&conn).await, Vec::<i64>::new(), "nothing of the failed write stays");
        g.write_multi(exec("INSERT INTO t VALUES (2); INSERT INTO t VALUES (3)")).await.unwrap();
        assert_eq!(values(&conn).await, vec![2, 3]);
        // A single statement needs no transaction and still works.
        g.write(exec("INSERT INTO t VALUES (4)")).await.unwrap();
        assert_eq!(values(&conn).await, vec![2, 3, 4]);
    }

    #[tokio::test]
    async fn a_panicking_write_answers_with_an_error_and_the_writer_goes_on() {
        let (g, conn) = writer().await;
        let r = g.write_multi(panicking()).await;
        assert!(matches!(r, Err(Error::Storage(_))), "the caller gets an error: {r:?}");
        assert!(values(&conn).await.is_empty(), "its transaction was rolled back");
        assert_eq!(g.counts.panics.load(Ordering::Relaxed), 1);
        // The writer still serves writes.
        assert_eq!(g.write(exec("INSERT INTO t VALUES (5)")).await.unwrap(), 1);
        let g = Arc::new(g);
        // In a batch: hold the connection so the writes queue up and share one batch.
        let held = conn.lock().await;
        let mut calls = Vec::new();
        for i in 0..5 {
            let g = g.clone();
            calls.push(tokio::spawn(async move {
                if i == 2 {
                    g.write(panicking()).await
                } else {
                    g.write(exec("INSERT INTO t VALUES (7)")).await
                }
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(held);
        let mut results = Vec::new();
        for c in calls {
            results.push(c.await.unwrap().is_ok());
        }
        assert_eq!(results, [true, true, false, true, true], "only the panicking write fails");
        assert_eq!(g.counts.panics.load(Ordering::Relaxed), 2);
        let v = values(&conn).await;
        assert!(!v.contains(&99), "the panicked write was rolled back: {v:?}");
        assert_eq!(v.iter().filter(|x| **x == 7).count(), 4, "the others were written: {v:?}");
        // And the writer is still alive afterwards.
        g.write(exec("INSERT INTO t VALUES (8)")).await.unwrap();
        assert!(values(&conn).await.contains(&8));
    }
}
