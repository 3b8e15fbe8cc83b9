//! The dashboard's task list: filtered, searched, sorted and paged in SQL, one query for the
//! page and one for the count.

use sqlx::AssertSqlSafe;

use super::tasks::{TaskView, TASK_COLUMNS, VIEW_FROM};
use super::Conn;
use crate::domain::{Priority, Status};

/// How the list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Soonest due first; tasks without a due date last.
    #[default]
    Due,
    /// Oldest first.
    Age,
    /// Most urgent first, then oldest.
    Priority,
}

/// What the list shows.
#[derive(Debug, Clone, Default)]
pub struct Browse {
    /// Statuses to include; empty means every status.
    pub statuses: Vec<Status>,
    pub client_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub priority: Option<Priority>,
    /// Only tasks due before this instant (overdue when it is now).
    pub due_before: Option<i64>,
    /// Words the title contains, case aside.
    pub search: Option<String>,
    pub sort: Sort,
    pub offset: i64,
    pub limit: i64,
}

enum Param {
    Int(i64),
    Text(String),
}

/// The page of tasks and how many match in all.
pub async fn browse(conn: &mut Conn, b: &Browse) -> anyhow::Result<(Vec<TaskView>, i64)> {
    let mut params: Vec<Param> = Vec::new();
    let place = |p: Param, params: &mut Vec<Param>| {
        params.push(p);
        format!("${}", params.len())
    };
    let mut filter = String::from(" WHERE 1 = 1");
    if !b.statuses.is_empty() {
        // Words from the enum, never from input.
        let words: Vec<String> = b.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
        filter.push_str(&format!(" AND t.status IN ({})", words.join(", ")));
    }
    if let Some(c) = b.client_id {
        filter.push_str(&format!(" AND t.client_id = {}", place(Param::Int(c), &mut params)));
    }
    if let Some(o) = b.owner_id {
        filter.push_str(&format!(" AND t.owner_id = {}", place(Param::Int(o), &mut params)));
    }
    if let Some(p) = b.priority {
        filter.push_str(&format!(" AND t.priority = '{}'", p.as_str()));
    }
    if let Some(d) = b.due_before {
        let at = place(Param::Int(d), &mut params);
        filter.push_str(&format!(" AND t.due_at IS NOT NULL AND t.due_at < {at}"));
    }
    if let Some(words) = b.search.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        let escaped: String = words
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = place(Param::Text(format!("%{escaped}%")), &mut params);
        filter.push_str(&format!(" AND lower(t.title) LIKE {pattern} ESCAPE '\\'"));
    }
    let order = match b.sort {
        Sort::Due => "CASE WHEN t.due_at IS NULL THEN 1 ELSE 0 END, t.due_at, t.id",
        Sort::Age => "t.created_at, t.id",
        Sort::Priority => {
            "CASE t.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, t.created_at, t.id"
        }
    };
    let count_sql = format!("SELECT COUNT(*) FROM tasks t{filter}");
    let mut count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql));
    for p in &params {
        count = match p {
            Param::Int(v) => count.bind(*v),
            Param::Text(v) => count.bind(v.clone()),
        };
    }
    let total = count.fetch_one(&mut *conn).await?;
    let (limit, offset) = (b.limit.clamp(1, 500), b.offset.max(0));
    let sql = format!(
        "SELECT {TASK_COLUMNS}, c.key AS client_key, m.name AS owner_name {VIEW_FROM}{filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    );
    let mut query = sqlx::query_as::<_, TaskView>(AssertSqlSafe(sql));
    for p in &params {
        query = match p {
            Param::Int(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.clone()),
        };
    }
    Ok((query.fetch_all(&mut *conn).await?, total))
}

/// What the active tasks are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    Owner,
    Client,
}

/// Each owner's (or client's) open, in-progress and waiting tasks, and how many of those are
/// past due at `now`: (member or client id, active, overdue).
pub async fn active_load(conn: &mut Conn, by: Load, now: i64) -> anyhow::Result<Vec<(i64, i64, i64)>> {
    // A column name from the enum, never from input.
    let column = match by {
        Load::Owner => "owner_id",
        Load::Client => "client_id",
    };
    let sql = format!(
        "SELECT {column}, COUNT(*), SUM(CASE WHEN due_at IS NOT NULL AND due_at < $1 THEN 1 ELSE 0 END) \
         FROM tasks WHERE {column} IS NOT NULL AND status IN ('open', 'in-progress', 'waiting') \
         GROUP BY {column} ORDER BY {column}"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql)).bind(now).fetch_all(conn).await?)
}

/// Each client's playbook tasks: (client id, done, all but the cancelled).
pub async fn playbook_progress(conn: &mut Conn) -> anyhow::Result<Vec<(i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT client_id, SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END), COUNT(*) \
         FROM tasks WHERE client_id IS NOT NULL AND source = 'playbook' AND status <> 'cancelled' \
         GROUP BY client_id ORDER BY client_id",
    )
    .fetch_all(conn)
    .await?)
}
