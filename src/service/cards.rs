//! Task cards: what keel shows of a task where it answers a request (its fields, and buttons that
//! run the same commands people type), and keeping every card current. A transaction that
//! changed tasks ends by queueing, after its own messages, an update of each card whose look
//! changed, so a card shows the task's last state whatever changed it (a button, a command, a
//! reaction, the sweep), and an update goes through the outbox like any message.

use chrono::TimeZone;
use chrono_tz::Tz;
use keel_chat::{Card, Choice, DatePick, Field, Outbound};

use super::calendar::team_holidays;
use super::format::{format_time, mention, quoted};
use super::keel::Keel;
use crate::domain::calendar::Calendar;
use crate::domain::sla::{clocks, show_span, Clock, SlaBook};
use crate::domain::Status;
use crate::store::cards::{self, CardRow};
use crate::store::outbox::{self, Queued};
use crate::store::people::{self, Client, Member};
use crate::store::tasks::{self, Task};
use crate::store::Conn;

/// The outbox kind of a card's update.
pub const CARD_UPDATE: &str = "card_update";

/// The label of a client request's SLA field.
const SLA: &str = "SLA";

/// How to act on a card without its buttons.
const HINT: &str = "React 👀 to take it, ✅ when it is done.";

/// The card of a task as it stands: client, owner, due date, priority, status and the SLA
/// targets of a client's request; buttons while it is open. `summary` is its one-line text.
pub(super) fn card(task: &Task, client: Option<&Client>, owner: Option<&Member>, tz: Tz, summary: String) -> Card {
    let mut fields = Vec::new();
    if let Some(c) = client {
        fields.push(field("Client", &c.key));
    }
    let owner = owner.map_or_else(|| "nobody yet".to_string(), |m| mention(m, &task.adapter));
    fields.push(field("Owner", &owner));
    let due = task
        .due_at
        .map_or_else(|| "no due date".to_string(), |at| format_time(at, tz));
    fields.push(field("Due", &due));
    fields.push(field("Priority", task.priority.as_str()));
    fields.push(field("Status", &status_line(task, tz)));
    let open = task.status.is_active();
    let id = task.id;
    let buttons = match open {
        false => Vec::new(),
        true => {
            let mut buttons = Vec::new();
            if task.owner_id.is_none() {
                buttons.push(choice("Take", format!("take #{id}")));
            }
            if task.status != Status::InProgress {
                buttons.push(choice("Start", format!("start #{id}")));
            }
            if task.status != Status::Waiting {
                buttons.push(choice("Waiting", format!("wait #{id}")));
            }
            buttons.push(choice("Done", format!("done #{id}")));
            buttons
        }
    };
    let menu = match open {
        false => Vec::new(),
        true => vec![
            choice("Snooze 1 day", format!("snooze #{id} tomorrow")),
            choice("Snooze 1 week", format!("snooze #{id} in a week")),
        ],
    };
    let date = open.then(|| DatePick {
        label: "Set due date".into(),
        command: format!("due #{id}"),
        initial: task
            .due_at
            .and_then(|at| tz.timestamp_opt(at, 0).single())
            .map(|at| at.date_naive()),
    });
    Card {
        task: id,
        title: format!("#{id} {}", task.title),
        summary,
        fields,
        notes: Vec::new(),
        buttons,
        menu,
        date,
        hint: if open { HINT.to_string() } else { String::new() },
    }
}

/// `open`, `waiting`, `done`, with a snooze or an escalation when there is one.
fn status_line(task: &Task, tz: Tz) -> String {
    let mut line = task.status.as_str().replace('-', " ");
    if let Some(until) = task.snoozed_until.filter(|_| task.status.is_active()) {
        line.push_str(&format!(", snoozed until {}", format_time(until, tz)));
    }
    if task.escalated_at.is_some() && task.status.is_active() {
        line.push_str(", escalated");
    }
    line
}

/// The card's one line of text after a change: `#12 "Export" · in progress · owner @kim · …`.
fn summary(task: &Task, card: &Card) -> String {
    let mut parts = vec![format!("#{} {}", task.id, quoted(&task.title))];
    parts.extend(
        card.fields
            .iter()
            .map(|f| format!("{} {}", f.label.to_lowercase(), f.value)),
    );
    parts.join(" · ")
}

fn field(label: &str, value: &str) -> Field {
    Field {
        label: label.into(),
        value: value.into(),
    }
}

fn choice(label: &str, command: String) -> Choice {
    Choice {
        label: label.into(),
        value: command,
    }
}

/// Brings the cards of tasks changed in this transaction up to date: one posted in it (still in
/// `out`) shows the task as it ends the transaction; every stored one whose look changed gets
/// an update, queued after the transaction's own messages (so it follows its card's post).
pub(crate) async fn refresh(
    conn: &mut Conn,
    keel: &Keel,
    changed: &[i64],
    out: &mut Vec<Queued>,
    now: i64,
) -> anyhow::Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let mut shown = Shown::default();
    for queued in out.iter_mut() {
        if let Outbound::Card { card, .. } = &mut queued.outbound {
            if changed.binary_search(&card.task).is_ok() {
                if let Some(current) = shown.get(conn, keel, card.task, now).await? {
                    // The SLA is added after the opening's words were written; it alone
                    // does not make them stale.
                    let mut without_sla = current.clone();
                    without_sla.fields.retain(|f| f.label != SLA);
                    if cards::look(card)? != cards::look(&without_sla)? {
                        // Said as it stands now, still as the task's opening.
                        let task = format!("#{} ", card.task);
                        card.summary = current.summary.replacen(&task, &format!("#{} opened: ", card.task), 1);
                    }
                    card.title = current.title;
                    card.fields = current.fields;
                    card.buttons = current.buttons;
                    card.menu = current.menu;
                    card.date = current.date;
                    card.hint = current.hint;
                }
            }
        }
    }
    for row in cards::of_tasks(conn, changed).await? {
        let Some(current) = shown.get(conn, keel, row.task_id, now).await? else {
            continue;
        };
        if let Some(queued) = update(conn, &row, current, now).await? {
            out.push(queued);
        }
    }
    Ok(())
}

/// The last card read, as most changes touch one task with one card, and the SLA rules, read
/// once.
#[derive(Default)]
struct Shown {
    last: Option<(i64, Card)>,
    sla: Option<SlaRules>,
}

impl Shown {
    async fn get(&mut self, conn: &mut Conn, keel: &Keel, task: i64, now: i64) -> anyhow::Result<Option<Card>> {
        if let Some((id, card)) = &self.last {
            if *id == task {
                return Ok(Some(card.clone()));
            }
        }
        let Some((mut card, shown)) = current(conn, keel, task).await? else {
            self.last = None;
            return Ok(None);
        };
        with_sla(conn, keel, &mut self.sla, &mut card, &shown, now).await?;
        self.last = Some((task, card.clone()));
        Ok(Some(card))
    }
}

/// The team's calendar (with its holidays) and SLA targets, which a card's SLA is read with.
pub(super) struct SlaRules {
    calendar: Calendar,
    book: SlaBook,
}

/// Adds a client request's SLA to its card: when its first response and its resolution are due,
/// as times in the team's zone (a card is not redrawn as time passes, so it names deadlines
/// rather than the time left), paused while it waits on the client, overdue once missed.
pub(super) async fn with_sla(
    conn: &mut Conn,
    keel: &Keel,
    rules: &mut Option<SlaRules>,
    card: &mut Card,
    task: &Task,
    now: i64,
) -> anyhow::Result<()> {
    if !task.requester_is_client {
        return Ok(());
    }
    let rules = match rules {
        Some(rules) => rules,
        None => {
            let mut calendar = Calendar::new(keel.settings.team_tz, keel.settings.team_hours);
            calendar.holidays = team_holidays(conn, keel).await?;
            let book = keel.settings.sla_book(conn).await?;
            rules.insert(SlaRules { calendar, book })
        }
    };
    let changes = tasks::status_changes(conn, task.id).await?;
    let targets = rules.book.targets(task.client_id, task.priority);
    let (first, resolution) = clocks(
        &rules.calendar,
        targets,
        task.created_at,
        task.first_response_at,
        &changes,
        now,
    );
    let tz = keel.settings.team_tz;
    let by = |left: i64| {
        let at = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
        rules
            .calendar
            .add_business_seconds(at, left)
            .map_or_else(|| "?".to_string(), |t| format_time(t.timestamp(), tz))
    };
    let mut parts = Vec::new();
    match first {
        Clock::Running { left } => parts.push(format!("first response by {}", by(left))),
        Clock::Missed { .. } if task.first_response_at.is_none() => parts.push("first response overdue".into()),
        _ => {}
    }
    parts.push(match resolution {
        Clock::Running { left } => format!("resolution by {}", by(left)),
        Clock::Paused { left } => format!("resolution paused, {} left", show_span(left)),
        Clock::Missed { .. } if task.status.is_active() => "resolution overdue".into(),
        Clock::Missed { .. } => "resolved late".into(),
        Clock::Met { .. } => "resolved in time".into(),
    });
    card.fields.push(field(SLA, &parts.join("\n")));
    Ok(())
}

/// A task's card as it stands, read from the database.
async fn current(conn: &mut Conn, keel: &Keel, id: i64) -> anyhow::Result<Option<(Card, Task)>> {
    let Some(view) = tasks::by_id(conn, id).await? else {
        return Ok(None);
    };
    let task = view.task;
    let client = match task.client_id {
        Some(id) => people::client_by_id(conn, id).await?,
        None => None,
    };
    let owner = match task.owner_id {
        Some(id) => people::member_by_id(conn, id).await?,
        None => None,
    };
    let card = shown(&task, client.as_ref(), owner.as_ref(), keel.settings.team_tz);
    Ok(Some((card, task)))
}

/// A task's card as it stands, with the one-line text of a change.
pub(super) fn shown(task: &Task, client: Option<&Client>, owner: Option<&Member>, tz: Tz) -> Card {
    let mut shown = card(task, client, owner, tz, String::new());
    shown.summary = summary(task, &shown);
    shown
}

/// The update of one card when its look changed, noted as its new look.
async fn update(conn: &mut Conn, row: &CardRow, card: Card, now: i64) -> anyhow::Result<Option<Queued>> {
    let look = cards::look(&card)?;
    if look == row.rendered {
        return Ok(None);
    }
    cards::rendered(conn, row.outbox_id, &look, now).await?;
    Ok(Some(Queued {
        adapter: row.adapter.clone(),
        kind: CARD_UPDATE.into(),
        outbound: Outbound::CardUpdate {
            conversation: row.channel.clone(),
            message_id: outbox::thread_under(row.outbox_id),
            card: Box::new(card),
        },
    }))
}
