//! `kpi` in chat, and the rules KPIs are measured against.

use super::scheduler::{Ctx, Next};
use super::{Keel, Outcome, Turn};
use crate::command::KpiRange;
use crate::domain::calendar::Calendar;
use crate::domain::schedule::Schedule;
use crate::kpi::{self, Period, Rules};
use crate::store::jobs::Job;
use crate::store::Conn;

/// The team's business hours (with every holiday), SLA targets and warning thresholds.
pub async fn rules(keel: &Keel, conn: &mut Conn) -> anyhow::Result<Rules> {
    let mut calendar = Calendar::new(keel.settings.team_tz, keel.settings.team_hours);
    calendar.holidays = super::sweep::team_holidays(conn, keel).await?;
    Ok(Rules {
        calendar,
        sla: keel.settings.sla.clone(),
        overload_tasks: keel.settings.schedules.overload_tasks,
        silent_client_days: keel.settings.schedules.silent_client_days,
    })
}

/// The period a `kpi` range names, at `now` in the team's time zone.
pub fn period(keel: &Keel, range: &KpiRange, now: chrono::DateTime<chrono::Utc>) -> Result<Period, String> {
    let tz = keel.settings.team_tz;
    match range {
        KpiRange::Week => Ok(Period::trailing(now, tz, 7)),
        KpiRange::Month => Ok(Period::trailing(now, tz, 30)),
        KpiRange::Days(from, to) => Period::days(*from, *to, tz),
        KpiRange::IsoWeek(week) => Period::iso_week(week, tz),
    }
}

/// `kpi [week|month|<from>..<to>|2026-W47]`: the summary, attention first.
pub(super) async fn kpi(turn: &mut Turn<'_>, range: KpiRange) -> Outcome {
    let now = turn.at();
    let period = period(turn.keel, &range, now).map_err(super::Fail::User)?;
    let keel = turn.keel;
    let conn = turn.db().await?;
    let rules = rules(keel, conn).await?;
    let report = kpi::report(conn, &rules, &period, now).await?;
    let chart = kpi::chart_data(conn, &rules, &report, now).await?;
    turn.reply(report.to_text());
    match kpi::chart::render(&chart) {
        Ok(png) => {
            let inbound = turn.inbound;
            let image = keel_chat::Outbound::Image {
                conversation: inbound.conversation.id.clone(),
                thread: super::reply_thread(inbound),
                name: format!("keel-kpi-{}.png", report.period.label()),
                caption: format!("KPI chart, {}", report.period.label()),
                png,
            };
            turn.send("kpi_chart", &inbound.adapter.clone(), image);
        }
        Err(e) => tracing::error!(error = %format!("{e:#}"), "the KPI chart could not be drawn"),
    }
    Ok(())
}

pub(crate) const WEEKLY_JOB: &str = "weekly_kpi";

/// The weekly summary job: Mondays 09:00 team time, last week's KPIs and chart in the configured
/// channel. Its first run (when keel first starts) only schedules the next Monday; a Monday missed
/// while keel was down is posted once when it is back.
pub(crate) async fn weekly_job(ctx: &mut Ctx<'_>, job: &Job) -> anyhow::Result<Next> {
    let keel = ctx.keel;
    let now = ctx.now;
    let tz = keel.settings.team_tz;
    let next = Schedule::parse("0 9 * * 1")
        .ok()
        .and_then(|s| s.next_after(tz, now))
        .unwrap_or(now + chrono::Duration::days(7));
    let Some((adapter, channel)) = keel.settings.weekly_kpi.clone() else {
        return Ok(Next::At(next));
    };
    if job.last_run_at.is_none() && job.next_run_at == 0 {
        return Ok(Next::At(next));
    }
    let period = Period::last_week(now, tz);
    let rules = rules(keel, ctx.conn).await?;
    let report = kpi::report(ctx.conn, &rules, &period, now).await?;
    let chart = kpi::chart_data(ctx.conn, &rules, &report, now).await?;
    ctx.send(
        WEEKLY_JOB,
        &adapter,
        keel_chat::Outbound::Message {
            conversation: channel.clone(),
            thread: None,
            text: format!("Weekly summary: {}", report.to_text()),
        },
    );
    match kpi::chart::render(&chart) {
        Ok(png) => ctx.send(
            WEEKLY_JOB,
            &adapter,
            keel_chat::Outbound::Image {
                conversation: channel,
                thread: None,
                name: format!("keel-kpi-{}.png", period.label()),
                caption: format!("KPI chart, {}", period.label()),
                png,
            },
        ),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "the weekly KPI chart could not be drawn"),
    }
    Ok(Next::At(next))
}
