//! A batch's transaction, lent now and then to a flush that writes the rows queued so far while
//! the batch goes on handling events.
//!
//! Handling an event is work for tokio; writing its rows is work for the database (on SQLite,
//! the connection's own thread). Done in turn, each waits for the other. A [`Lane`] hands the
//! queued rows and the transaction to a task of their own ([`Lane::flush_behind`]); the next
//! read, and the end of the batch, wait for it ([`Lane::conn`]). Nothing reads the tables while
//! the flush runs, so every read still sees every row queued before it.

use anyhow::Context;
use tokio::task::JoinHandle;

use super::writes::Writes;
use super::{Conn, Tx};

/// What a flush in the background gives back: the transaction, and what it wrote.
type Flushed = (Tx, Writes, anyhow::Result<()>);

/// A batch's transaction, or the flush that has it for now.
pub struct Lane {
    tx: Option<Tx>,
    flushing: Option<JoinHandle<Flushed>>,
}

impl Lane {
    pub fn new(tx: Tx) -> Lane {
        Lane {
            tx: Some(tx),
            flushing: None,
        }
    }

    /// The transaction, once the flush in the background (if any) is done; what it wrote is
    /// counted in `writes`, and its error is this call's.
    pub async fn conn(&mut self, writes: &mut Writes) -> anyhow::Result<&mut Conn> {
        if let Some(flushing) = self.flushing.take() {
            let (tx, flushed, result) = flushing.await.context("writing queued rows stopped")?;
            self.tx = Some(tx);
            writes.absorb(flushed);
            result?;
        }
        let tx = self.tx.as_mut().context("the batch's transaction was lost")?;
        Ok(&mut **tx)
    }

    /// Starts writing the rows queued in `writes` on a task of their own, unless an earlier
    /// flush still runs (the rows then wait for the next call or the next read).
    pub async fn flush_behind(&mut self, writes: &mut Writes) -> anyhow::Result<()> {
        if self.flushing.as_ref().is_some_and(|f| !f.is_finished()) || writes.is_empty() {
            return Ok(());
        }
        self.conn(writes).await?;
        let Some(mut tx) = self.tx.take() else {
            return Ok(());
        };
        let mut rows = writes.split_off();
        self.flushing = Some(tokio::spawn(async move {
            let result = rows.flush(&mut tx).await;
            (tx, rows, result)
        }));
        Ok(())
    }

    /// The transaction back, every queued row written by then, for the batch's last statements
    /// and its commit.
    pub async fn finish(mut self, writes: &mut Writes) -> anyhow::Result<Tx> {
        let conn = self.conn(writes).await?;
        writes.flush(conn).await?;
        self.tx.take().context("the batch's transaction was lost")
    }
}

/// The connection a handler reads and writes through: a command's savepoint, or the batch's
/// [`Lane`].
pub enum Db<'a> {
    Here(&'a mut Conn),
    Lane(&'a mut Lane),
}

impl Db<'_> {
    /// The connection, once no flush in the background has it (see [`Lane::conn`]).
    pub async fn conn(&mut self, writes: &mut Writes) -> anyhow::Result<&mut Conn> {
        match self {
            Db::Here(conn) => Ok(&mut **conn),
            Db::Lane(lane) => lane.conn(writes).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{Created, TaskEvent};
    use crate::store::tasks::NewEvent;
    use crate::store::writes::tests::{task, with_acme};
    use crate::store::Store;

    /// A lane over a new database's transaction, and a client for its tasks.
    async fn lane() -> (Store, Lane, i64) {
        let (store, tx, client) = with_acme().await;
        (store, Lane::new(tx), client)
    }

    fn queue(writes: &mut Writes, id: i64, client: i64) {
        let created = NewEvent {
            task_id: id,
            at: 100,
            actor: "bob@partner.org".into(),
            event: TaskEvent::Created(Created::default()),
        };
        writes.insert_task(task(id, client), created);
    }

    async fn scalar(conn: &mut Conn, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
    }

    /// Rows flushed behind and rows queued after them are all written by the end, the task ids
    /// counted on across the split, and what the flush behind wrote is counted as written.
    #[tokio::test]
    async fn rows_flushed_behind_and_after_are_all_written() {
        let (_store, mut lane, client) = lane().await;
        let mut writes = Writes::default();
        let conn = lane.conn(&mut writes).await.unwrap();
        let first = writes.next_task_id(conn).await.unwrap();
        queue(&mut writes, first, client);
        lane.flush_behind(&mut writes).await.unwrap();
        assert!(writes.is_empty(), "the rows went to the flush");
        let second = writes.next_counted_task_id().expect("counted on in memory");
        assert_eq!(second, first + 1);
        queue(&mut writes, second, client);
        let mut tx = lane.finish(&mut writes).await.unwrap();
        assert_eq!(scalar(&mut tx, "SELECT COUNT(*) FROM tasks").await, 2);
        assert_eq!(
            scalar(&mut tx, "SELECT value FROM counters WHERE name = 'task'").await,
            second
        );
        assert_eq!(writes.created(), 2);
        assert_eq!(writes.take_changed(), vec![first, second]);
        assert_eq!(writes.take_written().len(), 2);
    }

    /// A flush behind that fails makes the next use of the connection fail with its error, so
    /// the batch is rolled back (and its events are handled again one by one).
    #[tokio::test]
    async fn a_failed_flush_behind_fails_the_next_read() {
        let (_store, mut lane, client) = lane().await;
        let mut writes = Writes::default();
        queue(&mut writes, 7, client);
        lane.flush_behind(&mut writes).await.unwrap();
        lane.conn(&mut writes).await.unwrap();
        queue(&mut writes, 7, client);
        lane.flush_behind(&mut writes).await.unwrap();
        let Err(error) = lane.conn(&mut writes).await else {
            panic!("task 7 was written twice");
        };
        assert!(format!("{error:#}").contains("inserting tasks"), "{error:#}");
    }
}
