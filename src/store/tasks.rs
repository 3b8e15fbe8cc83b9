//! Tasks (the projection), their append-only event log, and inbound deduplication.

use anyhow::Context;
use sqlx::AssertSqlSafe;

use super::decode::{Flag, Word};
use super::{is_postgres, json_rows, values, Conn, Json};
use crate::domain::event::{Created, TaskEvent};
use crate::domain::{Priority, Source, Status};

/// A task as stored: the current state of its event log.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub client_id: Option<i64>,
    pub adapter: String,
    pub channel: String,
    pub channel_name: String,
    pub thread: Option<String>,
    /// The originating message's permalink (stored as `link`).
    #[sqlx(rename = "link")]
    pub permalink: Option<String>,
    pub requester_id: String,
    pub requester_name: String,
    #[sqlx(try_from = "Flag")]
    pub requester_is_client: bool,
    pub owner_id: Option<i64>,
    #[sqlx(try_from = "Word<Status>")]
    pub status: Status,
    #[sqlx(try_from = "Word<Priority>")]
    pub priority: Priority,
    #[sqlx(try_from = "Word<Source>")]
    pub source: Source,
    pub sentiment: f64,
    #[sqlx(try_from = "Flag")]
    pub frustrated: bool,
    pub created_at: i64,
    pub due_at: Option<i64>,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_activity_at: i64,
    pub last_client_message_at: Option<i64>,
    pub snoozed_until: Option<i64>,
    pub escalated_at: Option<i64>,
}

/// A task with the names a reader needs.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TaskView {
    #[sqlx(flatten)]
    pub task: Task,
    pub client_key: Option<String>,
    pub owner_name: Option<String>,
}

pub(super) const TASK_COLUMNS: &str =
    "t.id, t.title, t.client_id, t.adapter, t.channel, t.channel_name, t.thread, t.link, \
    t.requester_id, t.requester_name, t.requester_is_client, t.owner_id, t.status, t.priority, t.source, \
    t.sentiment, t.frustrated, t.created_at, t.due_at, t.first_response_at, t.resolved_at, t.last_activity_at, \
    t.last_client_message_at, t.snoozed_until, t.escalated_at";

pub(super) const VIEW_FROM: &str =
    "FROM tasks t LEFT JOIN clients c ON c.id = t.client_id LEFT JOIN members m ON m.id = t.owner_id";

/// Marks an inbound event as seen; false when it was seen before (a duplicate).
pub async fn first_sighting(conn: &mut Conn, adapter: &str, event_id: &str, now: i64) -> anyhow::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO inbound_events (adapter, event_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(adapter)
    .bind(event_id)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Marks a batch of inbound events as seen with one statement; returns, for each event in
/// order, whether this is its first sighting (a repeat within the batch is not).
pub async fn first_sightings(conn: &mut Conn, events: &[(&str, &str)], now: i64) -> anyhow::Result<Vec<bool>> {
    let rows: Vec<_> = events
        .iter()
        .map(|(adapter, event_id)| (adapter, event_id, now))
        .collect();
    let insert = values::insert(
        is_postgres(conn),
        "INSERT INTO inbound_events (adapter, event_id, received_at)",
        &[Json::Text, Json::Text, Json::Int],
        &rows,
        "ON CONFLICT DO NOTHING RETURNING adapter, event_id",
    )?;
    let mut fresh = std::collections::HashSet::new();
    for row in insert.fetch_all(&mut *conn).await? {
        use sqlx::Row;
        fresh.insert((row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?));
    }
    Ok(events
        .iter()
        .map(|(adapter, event_id)| fresh.remove(&(adapter.to_string(), event_id.to_string())))
        .collect())
}

/// Takes the next short task id; ids are never reused, even across replicas.
pub async fn next_task_id(conn: &mut Conn) -> anyhow::Result<i64> {
    sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = 'task' RETURNING value")
        .fetch_one(conn)
        .await
        .context("taking the next task id")
}

/// A task event about to be appended to the log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub task_id: i64,
    pub at: i64,
    pub actor: String,
    pub event: TaskEvent,
}

/// A message that belongs to a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskMessage {
    pub adapter: String,
    pub channel: String,
    pub message_id: String,
    pub task_id: i64,
}

/// A task as one row of [`json_rows`]: its columns in the order `insert_tasks` names them.
struct TaskRow<'a>(&'a Task);

impl serde::Serialize for TaskRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let t = self.0;
        let mut row = serializer.serialize_tuple(25)?;
        row.serialize_element(&t.id)?;
        row.serialize_element(&t.title)?;
        row.serialize_element(&t.client_id)?;
        row.serialize_element(&t.adapter)?;
        row.serialize_element(&t.channel)?;
        row.serialize_element(&t.channel_name)?;
        row.serialize_element(&t.thread)?;
        row.serialize_element(&t.permalink)?;
        row.serialize_element(&t.requester_id)?;
        row.serialize_element(&t.requester_name)?;
        row.serialize_element(&i64::from(t.requester_is_client))?;
        row.serialize_element(&t.owner_id)?;
        row.serialize_element(t.status.as_str())?;
        row.serialize_element(t.priority.as_str())?;
        row.serialize_element(t.source.as_str())?;
        row.serialize_element(&t.sentiment)?;
        row.serialize_element(&i64::from(t.frustrated))?;
        for at in [
            Some(t.created_at),
            t.due_at,
            t.first_response_at,
            t.resolved_at,
            Some(t.last_activity_at),
            t.last_client_message_at,
            t.snoozed_until,
            t.escalated_at,
        ] {
            row.serialize_element(&at)?;
        }
        row.end()
    }
}

/// Inserts new tasks (without their events) with one statement.
pub async fn insert_tasks(conn: &mut Conn, new: &[Task]) -> anyhow::Result<()> {
    let statement = insert_tasks_statement(is_postgres(conn), new)?;
    super::run(conn, statement, "inserting tasks").await
}

/// [`insert_tasks`] as a statement to run, `None` when there is nothing to insert.
pub(crate) fn insert_tasks_statement(postgres: bool, new: &[Task]) -> anyhow::Result<Option<values::Insert>> {
    if new.is_empty() {
        return Ok(None);
    }
    let rows: Vec<TaskRow> = new.iter().map(TaskRow).collect();
    use Json::{Int, Real, Text};
    let columns = [
        Int, Text, Int, Text, Text, Text, Text, Text, Text, Text, Int, Int, Text, Text, Text, Real, Int, Int, Int, Int,
        Int, Int, Int, Int, Int,
    ];
    let head = "INSERT INTO tasks (id, title, client_id, adapter, channel, channel_name, thread, link, requester_id, \
         requester_name, requester_is_client, owner_id, status, priority, source, sentiment, frustrated, created_at, \
         due_at, first_response_at, resolved_at, last_activity_at, last_client_message_at, snoozed_until, \
         escalated_at)";
    values::insert(postgres, head, &columns, &rows, "").map(Some)
}

/// Appends events to the task log, in order, with one statement.
pub async fn append_events(conn: &mut Conn, new: &[NewEvent]) -> anyhow::Result<()> {
    let statement = append_events_statement(is_postgres(conn), new)?;
    super::run(conn, statement, "appending task events").await
}

/// [`append_events`] as a statement to run, `None` when there is nothing to append.
pub(crate) fn append_events_statement(postgres: bool, new: &[NewEvent]) -> anyhow::Result<Option<values::Insert>> {
    if new.is_empty() {
        return Ok(None);
    }
    let rows: Vec<_> = new
        .iter()
        .map(|e| {
            let change = e.event.status_change();
            (
                e.task_id,
                e.at,
                e.event.kind(),
                &e.actor,
                e.event.data_text(),
                change.map(|(from, _)| from.as_str()),
                change.map(|(_, to)| to.as_str()),
            )
        })
        .collect();
    let columns = [
        Json::Int,
        Json::Int,
        Json::Text,
        Json::Text,
        Json::Text,
        Json::Text,
        Json::Text,
    ];
    let head = "INSERT INTO task_events (task_id, at, kind, actor, data, status_from, status_to)";
    values::insert(postgres, head, &columns, &rows, "").map(Some)
}

/// Remembers which task each message belongs to; a message that already has a task keeps it.
pub async fn link_messages(conn: &mut Conn, links: &[TaskMessage]) -> anyhow::Result<()> {
    let statement = link_messages_statement(is_postgres(conn), links)?;
    super::run(conn, statement, "linking messages to tasks").await
}

/// [`link_messages`] as a statement to run, `None` when there is nothing to link.
pub(crate) fn link_messages_statement(postgres: bool, links: &[TaskMessage]) -> anyhow::Result<Option<values::Insert>> {
    if links.is_empty() {
        return Ok(None);
    }
    let rows: Vec<_> = links
        .iter()
        .map(|l| (&l.adapter, &l.channel, &l.message_id, l.task_id))
        .collect();
    values::insert(
        postgres,
        "INSERT INTO task_messages (adapter, channel, message_id, task_id)",
        &[Json::Text, Json::Text, Json::Text, Json::Int],
        &rows,
        "ON CONFLICT DO NOTHING",
    )
    .map(Some)
}

/// Inserts a new task and its `created` event.
pub async fn insert(conn: &mut Conn, t: &Task, actor: &str, created: Created) -> anyhow::Result<()> {
    insert_tasks(conn, std::slice::from_ref(t)).await?;
    append_events(
        conn,
        &[NewEvent::new(t.id, t.created_at, actor, TaskEvent::Created(created))],
    )
    .await
}

/// Writes a task's new state (the projection only; its event goes to the log separately).
pub async fn update(conn: &mut Conn, t: &Task) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE tasks SET title = $1, client_id = $2, owner_id = $3, status = $4, priority = $5, sentiment = $6, \
         frustrated = $7, due_at = $8, first_response_at = $9, resolved_at = $10, last_activity_at = $11, \
         last_client_message_at = $12, snoozed_until = $13, escalated_at = $14, thread = $15 WHERE id = $16",
    )
    .bind(&t.title)
    .bind(t.client_id)
    .bind(t.owner_id)
    .bind(t.status.as_str())
    .bind(t.priority.as_str())
    .bind(t.sentiment)
    .bind(i64::from(t.frustrated))
    .bind(t.due_at)
    .bind(t.first_response_at)
    .bind(t.resolved_at)
    .bind(t.last_activity_at)
    .bind(t.last_client_message_at)
    .bind(t.snoozed_until)
    .bind(t.escalated_at)
    .bind(&t.thread)
    .bind(t.id)
    .execute(&mut *conn)
    .await
    .context("updating a task")?;
    Ok(())
}

/// Writes a task's new state and the event that led to it; call inside one transaction.
pub async fn record(conn: &mut Conn, t: &Task, at: i64, actor: &str, event: TaskEvent) -> anyhow::Result<()> {
    update(conn, t).await?;
    append_events(conn, &[NewEvent::new(t.id, at, actor, event)]).await
}

impl NewEvent {
    /// An event by `actor`, a person's name as the platform gave it (kept clean: one line, no
    /// NUL, which PostgreSQL refuses in text).
    pub fn new(task_id: i64, at: i64, actor: &str, event: TaskEvent) -> NewEvent {
        NewEvent {
            task_id,
            at,
            actor: crate::domain::clean_name(actor),
            event,
        }
    }
}

pub async fn by_id(conn: &mut Conn, id: i64) -> anyhow::Result<Option<TaskView>> {
    let sql = format!("SELECT {TASK_COLUMNS}, c.key AS client_key, m.name AS owner_name {VIEW_FROM} WHERE t.id = $1");
    Ok(sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await?)
}

/// A task's status changes, oldest first: (time, status reached), read from the log's status
/// column rather than by decoding every event.
pub async fn status_changes(conn: &mut Conn, id: i64) -> anyhow::Result<Vec<(i64, Status)>> {
    let found: Vec<(i64, String)> = sqlx::query_as(
        "SELECT at, status_to FROM task_events WHERE task_id = $1 AND status_to IS NOT NULL ORDER BY id",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(found
        .into_iter()
        .filter_map(|(at, to)| Some((at, to.parse().ok()?)))
        .collect())
}

/// The task a message (or a thread's root message) belongs to.
pub async fn by_message(
    conn: &mut Conn,
    adapter: &str,
    channel: &str,
    message_id: &str,
) -> anyhow::Result<Option<Task>> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks t JOIN task_messages tm ON tm.task_id = t.id \
         WHERE tm.adapter = $1 AND tm.channel = $2 AND tm.message_id = $3"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(adapter)
        .bind(channel)
        .bind(message_id)
        .fetch_optional(conn)
        .await?)
}

/// The task of the first of `ids` linked to one, in any conversation of the adapter (a mail's
/// In-Reply-To and References, whoever wrote the mail they name).
pub async fn by_any_message(conn: &mut Conn, adapter: &str, ids: &[String]) -> anyhow::Result<Option<Task>> {
    if ids.is_empty() {
        return Ok(None);
    }
    let rows: Vec<_> = ids.iter().enumerate().map(|(i, id)| (id, i)).collect();
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM ({}) ids JOIN task_messages tm ON tm.message_id = ids.c0 \
         JOIN tasks t ON t.id = tm.task_id WHERE tm.adapter = $2 ORDER BY ids.c1 LIMIT 1",
        json_rows(conn, &[Json::Text, Json::Int])
    );
    Ok(super::with_rows_as(conn, sql, &rows)?
        .bind(adapter)
        .fetch_optional(conn)
        .await?)
}

/// A message of `adapter` and `channel` linked to a task: the card announcing a mail request in
/// the team's channel (`outbox:<id>`, and the platform's id once it is sent).
pub async fn linked_message(
    conn: &mut Conn,
    task_id: i64,
    adapter: &str,
    channel: &str,
) -> anyhow::Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT message_id FROM task_messages WHERE task_id = $1 AND adapter = $2 AND channel = $3 \
         ORDER BY message_id LIMIT 1",
    )
    .bind(task_id)
    .bind(adapter)
    .bind(channel)
    .fetch_optional(conn)
    .await?)
}

/// Links the platform's id of a sent message to the task its outbox row (`outbox:<id>`) was
/// linked to, so that replies in its thread find the task.
pub async fn link_sent(conn: &mut Conn, adapter: &str, outbox_id: i64, platform_id: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO task_messages (adapter, channel, message_id, task_id) \
         SELECT adapter, channel, $2, task_id FROM task_messages WHERE adapter = $3 AND message_id = $1 \
         ON CONFLICT DO NOTHING",
    )
    .bind(super::outbox::thread_under(outbox_id))
    .bind(platform_id)
    .bind(adapter)
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest auto-captured open task in a channel whose last client message lies within
/// `window` seconds of `at` (either side: platforms may deliver out of order): a client message
/// at `at` joins it instead of opening another.
pub async fn groupable(
    conn: &mut Conn,
    adapter: &str,
    channel: &str,
    at: i64,
    window: i64,
) -> anyhow::Result<Option<Task>> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.adapter = $1 AND t.channel = $2 AND t.source = 'auto' \
         AND t.status = 'open' AND t.last_client_message_at BETWEEN $3 AND $4 ORDER BY t.id DESC LIMIT 1"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(adapter)
        .bind(channel)
        .bind(at - window)
        .bind(at + window)
        .fetch_optional(conn)
        .await?)
}

/// The open auto-captured tasks in these channels whose last client message lies between
/// `from` and `to`, oldest first: what a batch of client messages may join.
pub async fn groupable_in(
    conn: &mut Conn,
    channels: &[(String, String)],
    from: i64,
    to: i64,
) -> anyhow::Result<Vec<Task>> {
    if channels.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<_> = channels.iter().map(|(a, c)| (a, c)).collect();
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.source = 'auto' AND t.status = 'open' \
         AND t.last_client_message_at BETWEEN $2 AND $3 AND (t.adapter, t.channel) IN ({}) ORDER BY t.id",
        json_rows(conn, &[Json::Text, Json::Text])
    );
    Ok(super::with_rows_as(conn, sql, &keys)?
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await?)
}

/// Active tasks in a channel still waiting for the team's first response.
pub async fn awaiting_response(conn: &mut Conn, adapter: &str, channel: &str) -> anyhow::Result<Vec<Task>> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.adapter = $1 AND t.channel = $2 AND t.first_response_at IS NULL \
         AND t.requester_is_client = 1 AND t.status IN ('open', 'in-progress', 'waiting') ORDER BY t.id"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(adapter)
        .bind(channel)
        .fetch_all(conn)
        .await?)
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Statuses to include; empty means every status.
    pub statuses: Vec<Status>,
    pub client_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// Only tasks of this conversation: (adapter, channel).
    pub channel: Option<(String, String)>,
    /// Only tasks due before this instant.
    pub due_before: Option<i64>,
    /// Only tasks the sweep may have something to say about: owned with no activity since the
    /// first instant, or asked by a client before the second (`i64::MIN`: none of that kind).
    pub sweep_before: Option<(i64, i64)>,
    pub limit: Option<i64>,
}

/// Tasks matching the filter, oldest first.
pub async fn list(conn: &mut Conn, f: &Filter) -> anyhow::Result<Vec<TaskView>> {
    let mut sql = format!("SELECT {TASK_COLUMNS}, c.key AS client_key, m.name AS owner_name {VIEW_FROM} WHERE 1 = 1");
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if !f.statuses.is_empty() {
        // Literal words (from the enum, never from input), so the partial indexes on active
        // tasks apply: a bound parameter would hide the match from SQLite's planner.
        let mut statuses = f.statuses.clone();
        statuses.sort();
        statuses.dedup();
        let words: Vec<String> = statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
        sql.push_str(&format!(" AND t.status IN ({})", words.join(", ")));
    }
    if f.client_id.is_some() {
        sql.push_str(&format!(" AND t.client_id = {}", next()));
    }
    if f.owner_id.is_some() {
        sql.push_str(&format!(" AND t.owner_id = {}", next()));
    }
    if f.channel.is_some() {
        let (adapter, channel) = (next(), next());
        sql.push_str(&format!(" AND t.adapter = {adapter} AND t.channel = {channel}"));
    }
    if f.due_before.is_some() {
        sql.push_str(&format!(" AND t.due_at IS NOT NULL AND t.due_at < {}", next()));
    }
    if f.sweep_before.is_some() {
        let (idle, asked) = (next(), next());
        sql.push_str(&format!(
            " AND ((t.owner_id IS NOT NULL AND t.last_activity_at <= {idle}) OR (t.requester_is_client <> 0 AND t.created_at <= {asked}))"
        ));
    }
    sql.push_str(" ORDER BY t.id");
    if f.limit.is_some() {
        sql.push_str(&format!(" LIMIT {}", next()));
    }
    let mut query = sqlx::query_as(AssertSqlSafe(sql));
    if let Some(c) = f.client_id {
        query = query.bind(c);
    }
    if let Some(o) = f.owner_id {
        query = query.bind(o);
    }
    if let Some((adapter, channel)) = &f.channel {
        query = query.bind(adapter.clone()).bind(channel.clone());
    }
    if let Some(d) = f.due_before {
        query = query.bind(d);
    }
    if let Some((idle, asked)) = f.sweep_before {
        query = query.bind(idle).bind(asked);
    }
    if let Some(l) = f.limit {
        query = query.bind(l);
    }
    Ok(query.fetch_all(conn).await?)
}

/// Open, in-progress and waiting tasks per owner.
pub async fn active_by_owner(conn: &mut Conn) -> anyhow::Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT owner_id, COUNT(*) AS n FROM tasks WHERE owner_id IS NOT NULL \
         AND status IN ('open', 'in-progress', 'waiting') GROUP BY owner_id ORDER BY owner_id",
    )
    .fetch_all(conn)
    .await?)
}

/// How many open, in-progress or waiting tasks a client has.
pub async fn active_for_client(conn: &mut Conn, client_id: i64) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks WHERE client_id = $1 AND status IN ('open', 'in-progress', 'waiting')",
    )
    .bind(client_id)
    .fetch_one(conn)
    .await?)
}

/// One entry of a task's timeline, as logged.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    pub id: i64,
    pub task_id: i64,
    pub at: i64,
    pub actor: String,
    pub event: TaskEvent,
}

/// A `task_events` row; its `kind` and `data` become a [`TaskEvent`] in [`LoggedEvent`]'s
/// `TryFrom`, which names the event in its errors.
#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    task_id: i64,
    at: i64,
    kind: String,
    actor: String,
    data: String,
}

impl TryFrom<EventRow> for LoggedEvent {
    type Error = anyhow::Error;

    fn try_from(row: EventRow) -> anyhow::Result<LoggedEvent> {
        let id = row.id;
        Ok(LoggedEvent {
            id,
            task_id: row.task_id,
            at: row.at,
            actor: row.actor,
            event: TaskEvent::read_text(&row.kind, &row.data).with_context(|| format!("task event {id}"))?,
        })
    }
}

/// A task's timeline, oldest first.
pub async fn events(conn: &mut Conn, task_id: i64) -> anyhow::Result<Vec<LoggedEvent>> {
    let rows: Vec<EventRow> =
        sqlx::query_as("SELECT id, task_id, at, kind, actor, data FROM task_events WHERE task_id = $1 ORDER BY id")
            .bind(task_id)
            .fetch_all(conn)
            .await?;
    rows.into_iter().map(LoggedEvent::try_from).collect()
}

/// Every task event after `after_id`, in order, at most `limit` (for export).
pub async fn events_after(conn: &mut Conn, after_id: i64, limit: i64) -> anyhow::Result<Vec<LoggedEvent>> {
    let rows: Vec<EventRow> =
        sqlx::query_as("SELECT id, task_id, at, kind, actor, data FROM task_events WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after_id)
            .bind(limit)
            .fetch_all(conn)
            .await?;
    rows.into_iter().map(LoggedEvent::try_from).collect()
}

/// The id of the newest task event (0 for none): what a transaction's own events come after.
pub async fn last_event_id(conn: &mut Conn) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM task_events")
        .fetch_one(conn)
        .await?
        .unwrap_or(0))
}

/// The tasks with events after `id`, ascending.
pub async fn changed_since(conn: &mut Conn, id: i64) -> anyhow::Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT task_id FROM task_events WHERE id > $1 ORDER BY task_id")
            .bind(id)
            .fetch_all(conn)
            .await?,
    )
}
