//! A member's home (Slack's App Home): their open tasks, the soonest due first; the client tasks
//! waiting for an owner; for leads, the team's overdue tasks and the week's figures. Each task
//! shows as its card, with the card's buttons. Published when the member opens it, and again
//! after tasks change: a change schedules a refresh of every home a moment later (a burst of
//! changes refreshes each once), and a refreshed home is published only when what it shows
//! changed.

use std::collections::HashMap;

use chrono_tz::Tz;
use keel_chat::{Card, Home, Outbound, Section};

use super::cards;
use super::context::{Ctx, Next};
use super::keel::Keel;
use super::outcome::Outcome;
use super::turn::Turn;
use crate::kpi::Period;
use crate::store::homes::{self, HomeRow, Listing};
use crate::store::jobs::Job;
use crate::store::people::{self, Client, Member};
use crate::store::tasks::TaskView;
use crate::store::Conn;

/// The outbox kind of a published home.
pub const HOME: &str = "home";

/// How long after a change homes are refreshed (seconds): changes within it publish once.
const SETTLE_SECS: i64 = 2;

/// How many tasks a part of the home shows.
const PER_PART: i64 = 8;

/// A member opened their home: publish it as it stands. A client user's home stays empty: it
/// holds the team's work.
pub(super) async fn opened(turn: &mut Turn<'_>) -> Outcome {
    let Some(member) = turn.who.member().cloned() else {
        return Ok(());
    };
    let inbound = turn.inbound;
    let now = turn.at().timestamp();
    let keel = turn.keel;
    let conn = turn.db().await?;
    let home = render(conn, keel, &member, now).await?;
    let row = HomeRow {
        adapter: inbound.adapter.clone(),
        user_id: inbound.speaker.id.clone(),
        member_id: member.id,
        rendered: serde_json::to_string(&home).map_err(anyhow::Error::from)?,
    };
    homes::published(conn, &row, now).await?;
    turn.send(HOME, &inbound.adapter, published(&row, home));
    Ok(())
}

fn published(row: &HomeRow, home: Home) -> Outbound {
    Outbound::Home {
        user: row.user_id.clone(),
        home: Box::new(home),
    }
}

/// After a transaction changed tasks: schedules every home's refresh; true when one was.
pub(crate) async fn tasks_changed(conn: &mut Conn, changed: &[i64], now: i64) -> anyhow::Result<bool> {
    if changed.is_empty() {
        return Ok(false);
    }
    homes::schedule_refresh(conn, now + SETTLE_SECS).await
}

/// The refresh of one home (`home:<adapter>:<user>`): published again when it changed.
pub(crate) async fn refresh_job(ctx: &mut Ctx<'_>, job: &Job) -> anyhow::Result<Next> {
    let Some((adapter, user)) = job.key.strip_prefix("home:").and_then(|k| k.split_once(':')) else {
        return Ok(Next::Done);
    };
    let Some(row) = homes::get(ctx.conn, adapter, user).await? else {
        return Ok(Next::Done);
    };
    let Some(member) = people::member_by_id(ctx.conn, row.member_id).await? else {
        return Ok(Next::Done);
    };
    let now = ctx.now.timestamp();
    let home = render(ctx.conn, ctx.keel, &member, now).await?;
    let rendered = serde_json::to_string(&home)?;
    if rendered != row.rendered {
        let row = HomeRow { rendered, ..row };
        homes::published(ctx.conn, &row, now).await?;
        ctx.send(HOME, &row.adapter, published(&row, home));
    }
    Ok(Next::Done)
}

/// A member's home as it stands at `now`.
async fn render(conn: &mut Conn, keel: &Keel, member: &Member, now: i64) -> anyhow::Result<Home> {
    let tz = member
        .tz
        .as_deref()
        .and_then(|z| z.parse::<Tz>().ok())
        .unwrap_or(keel.settings.team_tz);
    let mut cards = Cards::new(keel, tz, now);
    let mut sections = vec![
        cards
            .part(
                conn,
                "Your open tasks",
                Listing::Owned(member.id),
                "Nothing is yours right now.",
                "list mine",
            )
            .await?,
        cards
            .part(
                conn,
                "Waiting for an owner",
                Listing::Unowned(member.id),
                "No client request is waiting for an owner.",
                "list open",
            )
            .await?,
    ];
    if member.role.is_lead() {
        sections.push(
            cards
                .part(
                    conn,
                    "Overdue across the team",
                    Listing::Overdue(now),
                    "Nothing is overdue.",
                    "list overdue",
                )
                .await?,
        );
        sections.push(week(conn, keel, now).await?);
    }
    Ok(Home { sections })
}

/// The last 7 days' figures against the 7 before, as the `kpi` command gives them.
async fn week(conn: &mut Conn, keel: &Keel, now: i64) -> anyhow::Result<Section> {
    let at = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
    let rules = super::kpi::rules(keel, conn).await?;
    let period = Period::trailing(at, keel.settings.team_tz, 7);
    let report = crate::kpi::report(conn, None, &rules, &period, at).await?;
    Ok(Section {
        heading: format!("This week ({})", period.label()),
        lines: report.figure_lines().to_vec(),
        cards: Vec::new(),
        more: None,
    })
}

/// Tasks as cards, with the clients and owners they name, and the SLA rules, looked up once.
struct Cards<'k> {
    keel: &'k Keel,
    tz: Tz,
    now: i64,
    clients: HashMap<i64, Option<Client>>,
    owners: HashMap<i64, Option<Member>>,
    sla: Option<cards::SlaRules>,
}

impl<'k> Cards<'k> {
    fn new(keel: &'k Keel, tz: Tz, now: i64) -> Cards<'k> {
        Cards {
            keel,
            tz,
            now,
            clients: HashMap::new(),
            owners: HashMap::new(),
            sla: None,
        }
    }

    /// One part of the home: its tasks as cards, or a line saying there are none, and a line on
    /// the command that lists them all when more than fit.
    async fn part(
        &mut self,
        conn: &mut Conn,
        heading: &str,
        listing: Listing,
        none: &str,
        command: &str,
    ) -> anyhow::Result<Section> {
        let mut found = homes::tasks(conn, &listing, PER_PART + 1).await?;
        let more = (found.len() as i64 > PER_PART).then(|| format!("More in `/keel {command}`."));
        found.truncate(PER_PART as usize);
        let mut shown = Vec::with_capacity(found.len());
        for view in &found {
            shown.push(self.card(conn, view).await?);
        }
        Ok(Section {
            heading: heading.to_string(),
            lines: if shown.is_empty() {
                vec![none.to_string()]
            } else {
                Vec::new()
            },
            cards: shown,
            more,
        })
    }

    async fn card(&mut self, conn: &mut Conn, view: &TaskView) -> anyhow::Result<Card> {
        let task = &view.task;
        let client = match task.client_id {
            Some(id) => cached(&mut self.clients, id, || people::client_by_id(conn, id)).await?,
            None => None,
        };
        let owner = match task.owner_id {
            Some(id) => cached(&mut self.owners, id, || people::member_by_id(conn, id)).await?,
            None => None,
        };
        let mut card = cards::shown(task, client.as_ref(), owner.as_ref(), self.tz);
        cards::with_sla(conn, self.keel, &mut self.sla, &mut card, task, self.now).await?;
        Ok(card)
    }
}

/// A row looked up once per id.
async fn cached<T: Clone, F>(
    seen: &mut HashMap<i64, Option<T>>,
    id: i64,
    look_up: impl FnOnce() -> F,
) -> anyhow::Result<Option<T>>
where
    F: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    if let Some(found) = seen.get(&id) {
        return Ok(found.clone());
    }
    let found = look_up().await?;
    seen.insert(id, found.clone());
    Ok(found)
}
