//! `kpi` in chat, and the rules KPIs are measured against.

use super::calendar::team_holidays;
use super::context::{Ctx, Next};
use super::keel::Keel;
use super::lookup::channel_named;
use super::outcome::{user, Fail, Outcome};
use super::turn::{reply_thread, Turn};
use crate::command::KpiRange;
use crate::domain::cron::Schedule;
use crate::kpi::{self, Period, Rules};
use crate::store::jobs::{self, Job, JobKind};
use crate::store::Conn;

/// The team's business hours (with every holiday), SLA targets and warning thresholds.
pub async fn rules(keel: &Keel, conn: &mut Conn) -> anyhow::Result<Rules> {
    let holidays = team_holidays(conn, keel).await?;
    let sla = keel.settings.sla_book(conn).await?;
    Ok(Rules::new(&keel.settings, holidays, sla))
}

/// The report's chart as an image message, or `None` (logged) when it cannot be drawn: the
/// text goes out either way.
async fn chart_image(
    conn: &mut Conn,
    cache: &kpi::WeekCache,
    rules: &Rules,
    report: &kpi::Report,
    now: chrono::DateTime<chrono::Utc>,
    conversation: String,
    thread: Option<String>,
) -> anyhow::Result<Option<keel_chat::Outbound>> {
    let png = match kpi::chart_png(conn, rules, report, now, cache).await {
        Ok(png) => png,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the KPI chart could not be drawn");
            return Ok(None);
        }
    };
    let label = report.period.label();
    Ok(Some(keel_chat::Outbound::Image {
        conversation,
        thread,
        name: format!("keel-kpi-{label}.png"),
        caption: format!("KPI chart, {label}"),
        png,
    }))
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

/// The dashboard's overview: the same report as `kpi` in chat (the last 7 days against the 7
/// before) and its chart as SVG, or `None` (logged) when the chart cannot be drawn.
pub async fn overview(
    keel: &Keel,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(kpi::Report, Option<String>)> {
    let mut conn = keel.store.pool().acquire().await?;
    let rules = rules(keel, &mut conn).await?;
    let period = period(keel, &KpiRange::Week, now).map_err(|e| anyhow::anyhow!(e))?;
    let report = kpi::report(&mut conn, Some(keel.store.pool()), &rules, &period, now).await?;
    let chart = match kpi::chart_svg(&mut conn, &rules, &report, now, &keel.chart_weeks).await {
        Ok(svg) => Some(svg),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the KPI chart could not be drawn");
            None
        }
    };
    Ok((report, chart))
}

/// `kpi [week|month|<from>..<to>|2026-W47]`: the summary, attention first.
pub(super) async fn kpi(turn: &mut Turn<'_>, range: KpiRange) -> Outcome {
    let now = turn.at();
    let period = period(turn.keel, &range, now).map_err(Fail::User)?;
    let keel = turn.keel;
    let inbound = turn.inbound;
    let conn = turn.db().await?;
    let rules = rules(keel, conn).await?;
    let report = kpi::report(conn, Some(keel.store.pool()), &rules, &period, now).await?;
    let image = chart_image(
        conn,
        &keel.chart_weeks,
        &rules,
        &report,
        now,
        inbound.conversation.id.clone(),
        reply_thread(inbound),
    )
    .await?;
    turn.reply(report.to_text());
    if let Some(image) = image {
        turn.send("kpi_chart", &inbound.adapter.clone(), image);
    }
    Ok(())
}

/// `kpi weekly here`: the weekly summary goes to the channel this is said in (the configuration's
/// `schedules.weekly_kpi_channel`, when set, still wins).
pub(super) async fn weekly_here(turn: &mut Turn<'_>) -> Outcome {
    let inbound = turn.inbound;
    if inbound.conversation.direct {
        return user("say it in the channel the weekly summary should go to");
    }
    let data = serde_json::json!({"adapter": inbound.adapter, "channel": inbound.conversation.id});
    if !jobs::set_data(turn.db().await?, JobKind::WeeklyKpi.as_str(), &data).await? {
        jobs::upsert(
            turn.db().await?,
            JobKind::WeeklyKpi.as_str(),
            JobKind::WeeklyKpi,
            0,
            &data,
        )
        .await?;
    }
    let here = channel_named(turn, &inbound.conversation.id);
    let mut answer = format!("the weekly KPI summary goes to {here}, Mondays 09:00 team time");
    if let Some((_, configured)) = &turn.keel.settings.weekly_kpi {
        answer.push_str(&format!(
            " once the configuration stops naming #{configured} (schedules.weekly_kpi_channel wins)"
        ));
    }
    turn.reply(answer);
    Ok(())
}

/// The outbox kind of the weekly summary's messages.
const WEEKLY_MESSAGE: &str = "weekly_kpi";

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
    // The configuration names the channel, else `kpi weekly here` stored it with the job.
    let chosen = || -> Option<(String, String)> {
        let adapter = job.data.get("adapter")?.as_str()?;
        let channel = job.data.get("channel")?.as_str()?;
        Some((adapter.to_string(), channel.to_string()))
    };
    let Some((adapter, channel)) = keel.settings.weekly_kpi.clone().or_else(chosen) else {
        return Ok(Next::At(next));
    };
    if job.last_run_at.is_none() && job.next_run_at == 0 {
        return Ok(Next::At(next));
    }
    let period = Period::last_week(now, tz);
    let rules = rules(keel, ctx.conn).await?;
    let report = kpi::report(ctx.conn, Some(keel.store.pool()), &rules, &period, now).await?;
    let image = chart_image(ctx.conn, &keel.chart_weeks, &rules, &report, now, channel.clone(), None).await?;
    ctx.send(
        WEEKLY_MESSAGE,
        &adapter,
        keel_chat::Outbound::Message {
            conversation: channel,
            thread: None,
            text: format!("Weekly summary: {}", report.to_text()),
        },
    );
    if let Some(image) = image {
        ctx.send(WEEKLY_MESSAGE, &adapter, image);
    }
    Ok(Next::At(next))
}
