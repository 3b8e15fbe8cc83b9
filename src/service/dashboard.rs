//! Dashboard sign-in without passwords: keel gives a team member a one-time link (in chat,
//! privately; or to an operator, `keel dashboard link --as NAME`) valid 10 minutes; opening it
//! starts a 30-day session in that browser. Only the SHA-256 of a token is stored.

use keel_chat::Outbound;
use sha2::{Digest, Sha256};

use super::keel::Keel;
use super::lookup::speaker_member;
use super::outcome::Outcome;
use super::turn::Turn;
use crate::store::dashboard::{self, Redeemed, LINK, SESSION};
use crate::store::outbox;
use crate::store::people::Member;
use crate::store::Conn;

/// How long a sign-in link lasts.
pub const LINK_SECONDS: i64 = 10 * 60;
/// How long a session lasts.
pub const SESSION_SECONDS: i64 = 30 * 86_400;

/// A fresh random token (256 bits, as hex) and the hash it is stored by.
fn new_token() -> anyhow::Result<(String, String)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
    let token = hex(&bytes);
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// The stored form of a token.
fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new sign-in link for a member.
pub async fn link_for(conn: &mut Conn, keel: &Keel, member: &Member, now: i64) -> anyhow::Result<String> {
    let (token, hash) = new_token()?;
    dashboard::insert(conn, &hash, LINK, member.id, now, now + LINK_SECONDS).await?;
    Ok(format!(
        "{}/dashboard/login/{token}",
        keel.settings.public_url.trim_end_matches('/')
    ))
}

/// `dashboard` in chat: the speaker's sign-in link, to them alone (a direct message's answer, or
/// a message only they see where they asked).
pub(super) async fn dashboard(turn: &mut Turn<'_>) -> Outcome {
    let member = speaker_member(turn)?;
    let now = turn.at().timestamp();
    let keel = turn.keel;
    let url = link_for(turn.db().await?, keel, &member, now).await?;
    let text = format!("Your dashboard, one use, valid 10 minutes: {url}");
    let inbound = turn.inbound;
    let outbound = if inbound.conversation.direct {
        Outbound::Message {
            conversation: inbound.conversation.id.clone(),
            thread: inbound.thread.clone(),
            text,
        }
    } else {
        Outbound::Ephemeral {
            conversation: inbound.conversation.id.clone(),
            user: inbound.speaker.id.clone(),
            text,
            thread: inbound.thread.clone(),
        }
    };
    // Queued as a secret: the outbox keeps the link only until it is sent.
    turn.send(outbox::SECRET, &inbound.adapter.clone(), outbound);
    Ok(())
}

/// Opens a sign-in link: the new session's token, or why the link does not sign anyone in.
pub async fn sign_in(keel: &Keel, link: &str, now: i64) -> anyhow::Result<Result<String, Redeemed>> {
    let mut tx = keel.store.begin().await?;
    let result = match dashboard::redeem_link(&mut tx, &token_hash(link), now).await? {
        Redeemed::Member(id) => {
            let (token, hash) = new_token()?;
            dashboard::insert(&mut tx, &hash, SESSION, id, now, now + SESSION_SECONDS).await?;
            Ok(token)
        }
        other => Err(other),
    };
    tx.commit().await?;
    Ok(result)
}

/// The member a session cookie belongs to, while the session lasts.
pub async fn signed_in(conn: &mut Conn, session: &str, now: i64) -> anyhow::Result<Option<Member>> {
    dashboard::session_member(conn, &token_hash(session), now).await
}

/// Ends a session.
pub async fn sign_out(keel: &Keel, session: &str) -> anyhow::Result<()> {
    let mut conn = keel.store.writer().acquire().await?;
    dashboard::end_session(&mut conn, &token_hash(session)).await
}

/// What the dashboard's pages read: the work, through the store's queries.
pub mod read {
    use std::collections::HashMap;

    use chrono::{DateTime, Utc};

    use crate::domain::calendar::Calendar;
    use crate::domain::sla::{clocks, Clock, Targets};
    use crate::domain::Status;
    use crate::kpi::{self, Period};
    use crate::service::calendar::team_holidays;
    use crate::service::standup::day_label;
    use crate::service::Keel;
    use crate::store::browse::{self, Browse, Load};
    use crate::store::people::{self, Client, Member};
    use crate::store::standups::{self, Run, RunStatus};
    use crate::store::tasks::{self, LoggedEvent, TaskView};
    use crate::store::Conn;

    /// A page of tasks, and how many match in all.
    pub async fn tasks(conn: &mut Conn, query: &Browse) -> anyhow::Result<(Vec<TaskView>, i64)> {
        browse::browse(conn, query).await
    }

    /// A task as its page shows it.
    pub struct TaskPage {
        pub view: TaskView,
        /// Its whole log, oldest first.
        pub events: Vec<LoggedEvent>,
        /// A client request's SLA targets and its first response and resolution clocks.
        pub sla: Option<(Targets, Clock, Clock)>,
    }

    /// One task with its log and, for a client request, where its SLA clocks stand at `now`.
    pub async fn task(conn: &mut Conn, keel: &Keel, id: i64, now: i64) -> anyhow::Result<Option<TaskPage>> {
        let Some(view) = tasks::by_id(conn, id).await? else {
            return Ok(None);
        };
        let events = tasks::events(conn, id).await?;
        let t = &view.task;
        let sla = if t.requester_is_client {
            let mut calendar = Calendar::new(keel.settings.team_tz, keel.settings.team_hours);
            calendar.holidays = team_holidays(conn, keel).await?;
            let targets = keel.settings.sla_book(conn).await?.targets(t.client_id, t.priority);
            let changes: Vec<(i64, Status)> = events
                .iter()
                .filter_map(|e| Some((e.at, e.event.status_change()?.1)))
                .collect();
            let (first, resolution) = clocks(&calendar, targets, t.created_at, t.first_response_at, &changes, now);
            Some((targets, first, resolution))
        } else {
            None
        };
        Ok(Some(TaskPage { view, events, sla }))
    }

    /// Every member with their active and overdue tasks at `now`.
    pub async fn load(keel: &Keel, now: i64) -> anyhow::Result<Vec<(Member, i64, i64)>> {
        let mut conn = keel.store.pool().acquire().await?;
        let loads = browse::active_load(&mut conn, Load::Owner, now).await?;
        let mut members = people::members(&mut conn).await?;
        members.sort_by_key(|m| m.name.to_lowercase());
        Ok(members
            .into_iter()
            .map(|m| {
                let (active, overdue) = loads
                    .iter()
                    .find(|(id, _, _)| *id == m.id)
                    .map_or((0, 0), |(_, a, o)| (*a, *o));
                (m, active, overdue)
            })
            .collect())
    }

    /// Days the clients page measures SLA compliance, NPS and sentiment over.
    pub const CLIENT_DAYS: i64 = 90;

    /// One client's health at a glance.
    pub struct ClientHealth {
        pub client: Client,
        pub owner: Option<String>,
        pub active: i64,
        pub overdue: i64,
        /// No touchpoint for the team's `silent_client_days`.
        pub silent: bool,
        /// Over the last `CLIENT_DAYS`: requests with both SLA targets decided, and met.
        pub sla: Option<(i64, i64)>,
        pub nps: Option<f64>,
        /// Mean sentiment of their requests over the last `CLIENT_DAYS`, and the days before.
        pub sentiment: (Option<f64>, Option<f64>),
        /// Playbook tasks done and in all.
        pub playbook: Option<(i64, i64)>,
        pub template_trap: bool,
    }

    /// Every client's health at `now`, and the days without a touchpoint that make one silent.
    pub async fn clients(keel: &Keel, now: DateTime<Utc>) -> anyhow::Result<(Vec<ClientHealth>, i64)> {
        let mut conn = keel.store.pool().acquire().await?;
        let rules = super::super::kpi::rules(keel, &mut conn).await?;
        let period = Period::trailing(now, keel.settings.team_tz, CLIENT_DAYS);
        let report = kpi::report(&mut conn, Some(keel.store.pool()), &rules, &period, now).await?;
        let at = now.timestamp();
        let load = browse::active_load(&mut conn, Load::Client, at).await?;
        let playbooks = browse::playbook_progress(&mut conn).await?;
        let names: HashMap<i64, String> = people::members(&mut conn)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect();
        let (c, p) = (&report.current, &report.previous);
        let rows = people::clients(&mut conn)
            .await?
            .into_iter()
            .filter(|client| client.churned_at.is_none_or(|t| t > at))
            .map(|client| {
                let key = client.key.as_str();
                let (active, overdue) = load
                    .iter()
                    .find(|(id, _, _)| *id == client.id)
                    .map_or((0, 0), |(_, a, o)| (*a, *o));
                ClientHealth {
                    owner: client.owner_id.and_then(|id| names.get(&id).cloned()),
                    active,
                    overdue,
                    silent: c.silent_clients.iter().any(|k| k == key),
                    sla: c.sla_per_client.get(key).copied(),
                    nps: c.nps_per_client.get(key).copied(),
                    sentiment: (
                        c.sentiment_per_client.get(key).copied(),
                        p.sentiment_per_client.get(key).copied(),
                    ),
                    playbook: playbooks
                        .iter()
                        .find(|(id, _, _)| *id == client.id)
                        .map(|(_, done, all)| (*done, *all)),
                    template_trap: c.template_trap.iter().any(|k| k == key),
                    client,
                }
            })
            .collect();
        Ok((rows, report.silent_client_days))
    }

    /// Days of standups the standups page shows.
    pub const STANDUP_DAYS: i64 = 14;

    /// One day's standup: who answered what, who did not, who was away.
    pub struct StandupDay {
        /// `Mon 7 Dec`.
        pub label: String,
        /// Each member who answered, with each question and their answer.
        pub answers: Vec<(String, Vec<(String, String)>)>,
        pub silent: Vec<String>,
        pub away: Vec<String>,
    }

    /// The last `STANDUP_DAYS` days of standups, newest first.
    pub async fn standups(keel: &Keel) -> anyhow::Result<Vec<StandupDay>> {
        let mut conn = keel.store.pool().acquire().await?;
        let runs = standups::recent_runs(&mut conn, STANDUP_DAYS).await?;
        let questions: HashMap<i64, Vec<String>> = standups::all(&mut conn)
            .await?
            .into_iter()
            .map(|s| (s.id, s.questions))
            .collect();
        let names: HashMap<i64, String> = people::members(&mut conn)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect();
        let name = |r: &Run| names.get(&r.member_id).cloned().unwrap_or_else(|| "someone".into());
        let mut days: Vec<StandupDay> = Vec::new();
        for (i, run) in runs.iter().enumerate() {
            if i == 0 || runs[i - 1].day != run.day {
                days.push(StandupDay {
                    label: day_label(&run.day),
                    answers: Vec::new(),
                    silent: Vec::new(),
                    away: Vec::new(),
                });
            }
            let Some(day) = days.last_mut() else { continue };
            match run.status {
                RunStatus::Answered => {
                    let asked = questions.get(&run.standup_id).map(Vec::as_slice).unwrap_or_default();
                    let pairs = asked.iter().cloned().zip(run.answers.iter().cloned()).collect();
                    day.answers.push((name(run), pairs));
                }
                RunStatus::Away => day.away.push(name(run)),
                _ => day.silent.push(name(run)),
            }
        }
        Ok(days)
    }

    /// Every client's id and key and every member, for the filters.
    pub async fn people(conn: &mut Conn) -> anyhow::Result<(Vec<(i64, String)>, Vec<Member>)> {
        Ok((people::client_keys(conn).await?, people::members(conn).await?))
    }
}
