//! A command's savepoint together with the rows it queued: committed as one, or rolled back as
//! one, also when the guard is dropped without a decision (an error, a bug).

use keel_chat::Inbound;
use sqlx::{Any, Connection, Transaction};

use super::batch::Batch;
use super::keel::Keel;
use super::turn::{Turn, Who};
use crate::store::lane::Db;
use crate::store::people::Client;
use crate::store::Conn;

pub(super) struct Savepoint<'a> {
    /// `None` once committed or rolled back.
    tx: Option<Transaction<'a, Any>>,
    batch: &'a mut Batch,
    /// Tasks the batch had written when the savepoint began.
    created: u64,
}

impl<'a> Savepoint<'a> {
    /// Writes the rows earlier events queued (a rollback must not take them along), then opens
    /// the savepoint.
    pub async fn begin(conn: &'a mut Conn, batch: &'a mut Batch) -> anyhow::Result<Savepoint<'a>> {
        batch.writes.flush(conn).await?;
        let created = batch.writes.created();
        let tx = conn.begin().await?;
        Ok(Savepoint {
            tx: Some(tx),
            batch,
            created,
        })
    }

    /// The event's turn, inside the savepoint.
    pub fn turn<'t>(
        &'t mut self,
        keel: &'t Keel,
        inbound: &'t Inbound,
        who: Who,
        channel_client: Option<Client>,
    ) -> Turn<'t> {
        let tx = self
            .tx
            .as_mut()
            .expect("a savepoint is used only before it is released");
        Turn::new(Db::Here(tx), self.batch, keel, inbound, who, channel_client)
    }

    /// Writes the command's queued rows inside the savepoint and releases it.
    pub async fn commit(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.tx.as_mut() {
            self.batch.writes.flush(tx).await?;
        }
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        self.batch.forget();
        Ok(())
    }

    /// Undoes everything the command wrote or queued.
    pub async fn rollback(mut self) -> anyhow::Result<()> {
        self.undo_queue();
        if let Some(tx) = self.tx.take() {
            tx.rollback().await?;
        }
        Ok(())
    }

    /// A command may have changed clients, channels or tasks: the batch forgets its lookups.
    fn undo_queue(&mut self) {
        self.batch.writes.discard();
        self.batch.writes.rewind_created(self.created);
        self.batch.forget();
    }
}

impl Drop for Savepoint<'_> {
    /// Neither committed nor rolled back: the transaction rolls itself back when dropped, and
    /// the queue follows it.
    fn drop(&mut self) {
        if self.tx.is_some() {
            self.undo_queue();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::people::Touchpoint;
    use crate::store::Store;

    fn touch(client_id: i64) -> Touchpoint {
        Touchpoint {
            client_id,
            at: 1,
            adapter: "console".into(),
            channel: "c".into(),
            speaker: "s".into(),
            from_client: true,
        }
    }

    async fn counter(conn: &mut Conn) -> i64 {
        sqlx::query_scalar("SELECT value FROM counters WHERE name = 'task'")
            .fetch_one(conn)
            .await
            .unwrap()
    }

    /// Adds 5 to the task counter inside the savepoint.
    async fn bump(savepoint: &mut Savepoint<'_>) {
        let conn = savepoint.tx.as_mut().unwrap();
        sqlx::query("UPDATE counters SET value = value + 5 WHERE name = 'task'")
            .execute(&mut **conn)
            .await
            .unwrap();
    }

    /// A savepoint dropped without a decision (a handler's error) takes back its rows in the
    /// database and in the queue; one committed keeps them.
    #[tokio::test]
    async fn a_dropped_savepoint_undoes_the_database_and_the_queue() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let mut batch = Batch::default();
        let before = counter(&mut tx).await;
        {
            let mut savepoint = Savepoint::begin(&mut tx, &mut batch).await.unwrap();
            bump(&mut savepoint).await;
            savepoint.batch.writes.touchpoint(touch(1));
            assert!(!savepoint.batch.writes.is_empty());
        }
        assert!(batch.writes.is_empty(), "the queue follows the rollback");
        assert_eq!(counter(&mut tx).await, before, "the database rolled back");

        let mut savepoint = Savepoint::begin(&mut tx, &mut batch).await.unwrap();
        bump(&mut savepoint).await;
        savepoint.commit().await.unwrap();
        assert_eq!(counter(&mut tx).await, before + 5, "a commit keeps the change");
    }
}
