//! The backlog at the period's end: the tasks open then, the overdue ones, and each owner's
//! open tasks and active clients.

use std::collections::{BTreeMap, HashMap};

use crate::domain::Status;
use crate::store::kpi::{active_rows, changes_since, logged_before, Changed, Client};
use crate::store::Conn;

/// One owner's load at the end of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnerLoad {
    pub owner: String,
    pub open_tasks: i64,
    pub active_clients: i64,
}

/// A task open at some instant.
pub(super) struct OpenTask {
    owner_id: Option<i64>,
    due_at: Option<i64>,
}

/// What the changes since an instant tell of a task then.
struct Then {
    /// The row's status, until the first status change since says where it came from.
    status: Option<Status>,
    status_seen: bool,
    /// Its log before the instant must be read: its due date changed since (or a status change
    /// did not say where it came from).
    look_up: bool,
    owner_id: Option<i64>,
    due_at: Option<i64>,
}

/// Tasks open (open, in progress or waiting) at `at`: as their row says when unchanged since;
/// else the first status change since tells the status (it records the one it left), and a
/// task whose due date changed since is read from its log.
pub(super) async fn open_at(conn: &mut Conn, at: i64) -> anyhow::Result<Vec<OpenTask>> {
    let mut then: BTreeMap<i64, Then> = BTreeMap::new();
    for change in changes_since(conn, at).await? {
        let entry = then.entry(change.task_id).or_insert_with(|| Then {
            status: change.status,
            status_seen: false,
            look_up: false,
            owner_id: change.owner_id,
            due_at: change.due_at,
        });
        match change.changed {
            Changed::Status(from) if !entry.status_seen => {
                entry.status_seen = true;
                entry.status = from;
                entry.look_up |= entry.status.is_none();
            }
            Changed::Due => entry.look_up = true,
            Changed::Status(_) => {}
        }
    }
    let mut out: Vec<OpenTask> = active_rows(conn, at)
        .await?
        .into_iter()
        .filter(|row| !then.contains_key(&row.id))
        .map(|row| OpenTask {
            owner_id: row.owner_id,
            due_at: row.due_at,
        })
        .collect();
    let mut look_up = Vec::new();
    for (id, t) in &then {
        if t.look_up {
            look_up.push(*id);
        } else if t.status.is_some_and(Status::is_active) {
            out.push(OpenTask {
                owner_id: t.owner_id,
                due_at: t.due_at,
            });
        }
    }
    for task in logged_before(conn, &look_up, at).await? {
        if task.status.unwrap_or(Status::Open).is_active() {
            out.push(OpenTask {
                owner_id: task.owner_id,
                due_at: task.due_at,
            });
        }
    }
    Ok(out)
}

/// The open tasks due before `as_of`.
pub(super) fn overdue(open: &[OpenTask], as_of: i64) -> i64 {
    open.iter().filter(|t| t.due_at.is_some_and(|d| d < as_of)).count() as i64
}

/// Open tasks and active clients per owner at `as_of`, by name; and the names of the owners
/// with more than `overload_tasks` open tasks.
pub(super) fn owner_load(
    open: &[OpenTask],
    clients: &[Client],
    members: &HashMap<i64, String>,
    as_of: i64,
    overload_tasks: i64,
) -> (Vec<OwnerLoad>, Vec<String>) {
    let mut load: BTreeMap<String, OwnerLoad> = BTreeMap::new();
    for t in open {
        if let Some(o) = t.owner_id {
            owner_entry(&mut load, members, o).open_tasks += 1;
        }
    }
    for c in clients.iter().filter(|c| c.active_at(as_of)) {
        if let Some(o) = c.owner_id {
            owner_entry(&mut load, members, o).active_clients += 1;
        }
    }
    let load: Vec<OwnerLoad> = load.into_values().collect();
    let overloaded = load
        .iter()
        .filter(|l| l.open_tasks > overload_tasks)
        .map(|l| l.owner.clone())
        .collect();
    (load, overloaded)
}

fn owner_entry<'a>(
    load: &'a mut BTreeMap<String, OwnerLoad>,
    members: &HashMap<i64, String>,
    id: i64,
) -> &'a mut OwnerLoad {
    let name = members.get(&id).cloned().unwrap_or_else(|| format!("member {id}"));
    load.entry(name.clone()).or_insert(OwnerLoad {
        owner: name,
        open_tasks: 0,
        active_clients: 0,
    })
}
