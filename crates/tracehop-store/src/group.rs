//! Group commit for SQLite: commands that arrive while the writer is busy are written together,
//! each inside its own savepoint, and share one commit (and one `fsync`). A command that fails
//! rolls back to its savepoint without touching the others. Nobody hears back before the commit
//! that holds their writes.

use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::write::{Arg, Statement};

/// Commands written in one transaction at most.
const MAX_BATCH: usize = 64;

type Reply = oneshot::Sender<Result<u64, sqlx::Error>>;

/// The way into the committer.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    sender: mpsc::UnboundedSender<(Statement, Reply)>,
}

impl GroupCommit {
    /// Starts the committer on the writer pool; it ends when the last handle is dropped.
    pub(crate) fn start(writer: SqlitePool) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(writer, receiver));
        Self { sender }
    }

    /// Writes a command's statements (without BEGIN/COMMIT) once committed.
    pub(crate) async fn write(&self, statement: Statement) -> Result<u64, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        self.sender.send((statement, reply)).map_err(|_| sqlx::Error::PoolClosed)?;
        answer.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

async fn execute(connection: &mut sqlx::SqliteConnection, sql: String, args: &[Arg]) -> Result<u64, sqlx::Error> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for arg in args {
        query = match arg {
            Arg::Int(value) => query.bind(*value),
            Arg::Text(value) => query.bind(value.clone()),
            Arg::Bool(value) => query.bind(*value),
        };
    }
    query.execute(connection).await.map(|r| r.rows_affected())
}

async fn run(writer: SqlitePool, mut receiver: mpsc::UnboundedReceiver<(Statement, Reply)>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut connection = match writer.acquire().await {
            Ok(connection) => connection,
            Err(error) => {
                let message = error.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(sqlx::Error::Protocol(message.clone())));
                }
                continue;
            }
        };
        if let [(statement, _)] = batch.as_slice() {
            // Alone: the transaction travels with the statements, one hand-off.
            let sql = format!("BEGIN IMMEDIATE;\n{};\nCOMMIT", statement.sql);
            let result = execute(&mut connection, sql, &statement.args).await;
            if result.is_err() {
                let _ = execute(&mut connection, "ROLLBACK".to_owned(), &[]).await;
            }
            if let Some((_, reply)) = batch.pop() {
                let _ = reply.send(result);
            }
            continue;
        }
        if let Err(error) = execute(&mut connection, "BEGIN IMMEDIATE".to_owned(), &[]).await {
            let message = error.to_string();
            for (_, reply) in batch {
                let _ = reply.send(Err(sqlx::Error::Protocol(message.clone())));
            }
            continue;
        }
        let mut results = Vec::with_capacity(batch.len());
        for (statement, _) in &batch {
            let sql = format!("SAVEPOINT command;\n{};\nRELEASE command", statement.sql);
            let result = execute(&mut connection, sql, &statement.args).await;
            if result.is_err() {
                let _ = execute(&mut connection, "ROLLBACK TO command; RELEASE command".to_owned(), &[]).await;
            }
            results.push(result);
        }
        let committed = execute(&mut connection, "COMMIT".to_owned(), &[]).await;
        if let Err(error) = &committed {
            let _ = execute(&mut connection, "ROLLBACK".to_owned(), &[]).await;
            let message = error.to_string();
            for result in &mut results {
                if result.is_ok() {
                    *result = Err(sqlx::Error::Protocol(format!("the group commit failed: {message}")));
                }
            }
        }
        for ((_, reply), result) in batch.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}
