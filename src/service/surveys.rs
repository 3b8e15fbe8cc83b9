//! Surveys: NPS (0–10) 30 days after a client's go-live and every 90 days after, and CSAT (👍/👎)
//! after a client's task is done, at most once a week per contact.
//!
//! A question goes to the contact in the client's channel on the contact's platform: with buttons
//! on Slack, as text elsewhere (a number reply for NPS; a 👍/👎 reply or reaction for CSAT). An
//! answer fills the survey row; a CSAT answer is also an event of its task.

use keel_chat::{Choice, InboundKind, Outbound};
use serde_json::json;

use super::context::{Ctx, Next};
use super::lookup::client_named;
use super::outcome::{user, Outcome};
use super::turn::{about_message, Turn, Who};

use crate::domain::event::TaskEvent;
use crate::store::jobs::{self, Job, JobKind};
use crate::store::people::{self, Client, Touchpoint};
use crate::store::surveys::{self, Survey};
use crate::store::tasks::{self, NewEvent, Task};
use crate::store::Conn;

/// The outbox kind and the buttons' action of survey questions.
const ACTION: &str = "survey";
const DAY: i64 = 86_400;
/// The first NPS question comes this many days after go-live, then every `NPS_EVERY_DAYS`.
const NPS_FIRST_DAYS: i64 = 30;
const NPS_EVERY_DAYS: i64 = 90;
/// An unanswered NPS question stays open (a number reply answers it) this long.
const NPS_OPEN_DAYS: i64 = 14;
/// A scheduled round leaves out contacts asked (by `survey nps`) this recently.
const NPS_QUIET_DAYS: i64 = 30;
/// At most one CSAT question per contact in this many days; it stays open as long.
const CSAT_EVERY_DAYS: i64 = 7;

fn nps_job_key(client: &Client) -> String {
    format!("nps:{}", client.id)
}

/// After `client live`: the first NPS question is due 30 days after the go-live.
pub(crate) async fn schedule_nps(conn: &mut Conn, client: &Client) -> anyhow::Result<()> {
    match client.go_live_at {
        Some(live) if client.churned_at.is_none() => {
            jobs::upsert(
                conn,
                &nps_job_key(client),
                JobKind::NpsSurvey,
                live + NPS_FIRST_DAYS * DAY,
                &json!({}),
            )
            .await
        }
        _ => jobs::delete(conn, &nps_job_key(client)).await,
    }
}

/// The scheduled NPS round of one client; the next one is 90 days later.
pub(crate) async fn nps_job(ctx: &mut Ctx<'_>, job: &Job) -> anyhow::Result<Next> {
    let id = job.key.trim_start_matches("nps:").parse::<i64>().unwrap_or_default();
    let Some(client) = people::client_by_id(ctx.conn, id).await? else {
        return Ok(Next::Done);
    };
    if client.churned_at.is_some() || client.go_live_at.is_none() {
        return Ok(Next::Done);
    }
    let asked = ask_nps(ctx, &client, true).await?;
    tracing::info!(client = %client.key, asked = asked.len(), "NPS round");
    Ok(Next::At(ctx.now + chrono::Duration::days(NPS_EVERY_DAYS)))
}

/// Asks the NPS question of every contact of the client who has no open one (and, for a
/// `scheduled` round, was not asked in the last 30 days); returns their names.
pub(crate) async fn ask_nps(ctx: &mut Ctx<'_>, client: &Client, scheduled: bool) -> anyhow::Result<Vec<String>> {
    let now = ctx.now.timestamp();
    let channels = people::client_channels(ctx.conn, client.id).await?;
    let mut asked = Vec::new();
    for (adapter, contact, name) in surveys::client_contacts(ctx.conn, client.id).await? {
        let Some((_, channel)) = channels.iter().find(|(a, _)| *a == adapter) else {
            continue;
        };
        let latest = surveys::latest(ctx.conn, &adapter, &contact, "nps", now - NPS_QUIET_DAYS * DAY).await?;
        let skip =
            latest.is_some_and(|s| scheduled || (s.answered_at.is_none() && s.asked_at >= now - NPS_OPEN_DAYS * DAY));
        if skip {
            continue;
        }
        let id = surveys::ask(ctx.conn, "nps", client.id, &adapter, (&contact, &name), None, now).await?;
        let question = Outbound::Question {
            conversation: channel.clone(),
            thread: None,
            text: format!(
                "{name}, how likely are you to recommend us to a friend or colleague? \
                 (0 = not at all likely, 10 = extremely likely)"
            ),
            action: ACTION.into(),
            choices: (0..=10)
                .map(|n| Choice {
                    label: n.to_string(),
                    value: format!("{id}:{n}"),
                })
                .collect(),
            fallback: "Reply with a number from 0 to 10.".into(),
        };
        ctx.send(ACTION, &adapter, question);
        asked.push(name);
    }
    Ok(asked)
}

/// `survey nps <client>`: the NPS question now.
pub(super) async fn survey_nps(turn: &mut Turn<'_>, key: &str) -> Outcome {
    let client = client_named(turn, key).await?;
    if client.churned_at.is_some() {
        return user(format!("{key} has churned; keel does not survey former clients"));
    }
    let contacts = surveys::client_contacts(turn.db().await?, client.id).await?;
    if contacts.is_empty() {
        return user(format!(
            "{key} has no contacts yet: keel learns them when they write in the client's channels"
        ));
    }
    let asked = {
        let mut ctx = turn.ctx().await?;
        ask_nps(&mut ctx, &client, false).await?
    };
    if asked.is_empty() {
        return user(format!(
            "every contact of {key} already has an open NPS question (or no channel keel can ask in)"
        ));
    }
    turn.reply(format!("NPS question sent to {} ({key})", asked.join(", ")));
    Ok(())
}

/// After a client's task is done: the CSAT question to its requester, at most once a week.
pub(super) async fn after_done(turn: &mut Turn<'_>, task: &Task) -> Outcome {
    let Some(client_id) = task.client_id.filter(|_| task.requester_is_client) else {
        return Ok(());
    };
    let now = turn.at().timestamp();
    let conn = turn.db().await?;
    if surveys::latest(
        conn,
        &task.adapter,
        &task.requester_id,
        "csat",
        now - CSAT_EVERY_DAYS * DAY,
    )
    .await?
    .is_some()
    {
        return Ok(());
    }
    let contact = (task.requester_id.as_str(), task.requester_name.as_str());
    let id = surveys::ask(conn, "csat", client_id, &task.adapter, contact, Some(task.id), now).await?;
    let question = Outbound::Question {
        conversation: task.channel.clone(),
        thread: task.thread.clone(),
        text: format!(
            "{}, #{} \"{}\" is done. Did we solve it to your satisfaction?",
            task.requester_name, task.id, task.title
        ),
        action: ACTION.into(),
        choices: vec![
            Choice {
                label: "👍".into(),
                value: format!("{id}:1"),
            },
            Choice {
                label: "👎".into(),
                value: format!("{id}:0"),
            },
        ],
        fallback: "Answer 👍 or 👎 (a reply or a reaction to this message).".into(),
    };
    turn.send(ACTION, &task.adapter.clone(), question);
    Ok(())
}

/// A client's message that answers an open question: a number 0–10 (NPS) or 👍/👎 (CSAT).
/// Returns false when the message is no answer, so it is handled as usual.
pub(super) async fn answer_text(turn: &mut Turn<'_>, text: &str) -> Outcome<bool> {
    if !matches!(turn.who, Who::Client { .. }) {
        return Ok(false);
    }
    let (kind, score, open_days) = match (nps_score(text), thumb(text)) {
        (Some(n), _) => ("nps", n, NPS_OPEN_DAYS),
        (None, Some(t)) => ("csat", t, CSAT_EVERY_DAYS),
        (None, None) => return Ok(false),
    };
    let inbound = turn.inbound;
    let since = turn.at().timestamp() - open_days * DAY;
    let mine = turn
        .unqueued()
        .await?
        .latest_survey(&inbound.adapter, &inbound.speaker.id, kind, since)
        .await?;
    let survey = match mine {
        Some(s) if s.answered_at.is_none() => s,
        // Asked and answered: a second score is no request either (a thumb is noise anyway).
        Some(_) if kind == "nps" => {
            turn.reply("you have answered this question already, thank you");
            return Ok(true);
        }
        Some(_) => return Ok(false),
        None => match unasked(turn, kind, since).await? {
            Some(s) => s,
            None => return Ok(false),
        },
    };
    let thanks = record(turn, &survey, score).await?;
    turn.reply(thanks);
    Ok(true)
}

/// A client's contact keel did not ask answers the question it asked in their client's
/// conversation (a colleague of the person asked): their answer is a survey of its own, asked
/// when the question was, so each person counts once.
async fn unasked(turn: &mut Turn<'_>, kind: &str, since: i64) -> Outcome<Option<Survey>> {
    let Who::Client { name, client, .. } = &turn.who else {
        return Ok(None);
    };
    let Some(client) = turn.channel_client.clone().or_else(|| client.clone()) else {
        return Ok(None);
    };
    let name = name.clone();
    let inbound = turn.inbound;
    let Some(asked) = turn
        .unqueued()
        .await?
        .latest_client_survey(client.id, &inbound.adapter, kind, since)
        .await?
    else {
        return Ok(None);
    };
    // A thumb counts only in the thread of the task the question was about.
    if kind == "csat" {
        let Some(root) = about_message(inbound) else {
            return Ok(None);
        };
        let task = tasks::by_message(turn.db().await?, &inbound.adapter, &inbound.conversation.id, root).await?;
        if task.map(|t| t.id) != asked.task_id {
            return Ok(None);
        }
    }
    let id = turn
        .unqueued()
        .await?
        .ask_survey(
            kind,
            client.id,
            &inbound.adapter,
            (&inbound.speaker.id, &name),
            asked.task_id,
            asked.asked_at,
        )
        .await?;
    Ok(Some(Survey {
        id,
        contact: inbound.speaker.id.clone(),
        contact_name: name,
        answered_at: None,
        score: None,
        ..asked
    }))
}

/// A survey button pressed (Slack): the value is `<survey id>:<score>`.
pub(super) async fn answer_action(turn: &mut Turn<'_>, value: &str) -> Outcome {
    let parsed = value
        .split_once(':')
        .and_then(|(id, score)| Some((id.parse::<i64>().ok()?, score.parse::<i64>().ok()?)));
    let Some((id, score)) = parsed else {
        return user("that button is not one of keel's questions");
    };
    let Some(survey) = turn.unqueued().await?.survey_by_id(id).await? else {
        return user("that question no longer exists");
    };
    let valid = match survey.kind.as_str() {
        "nps" => (0..=10).contains(&score),
        _ => (0..=1).contains(&score),
    };
    if !valid {
        return user("that button is not one of keel's questions");
    }
    answer_as_contact(turn, &survey, score).await
}

/// A reaction on a posted question: 👍/👎 answer a CSAT question. Returns false when the
/// message is no question of keel's.
pub(super) async fn answer_reaction(turn: &mut Turn<'_>, emoji: &str, message_id: &str) -> Outcome<bool> {
    let Some(score) = thumb(emoji) else {
        return Ok(false);
    };
    let adapter = turn.inbound.adapter.clone();
    let Some(survey) = turn.unqueued().await?.survey_by_message(&adapter, message_id).await? else {
        return Ok(false);
    };
    if survey.kind != "csat" {
        return Ok(false);
    }
    answer_as_contact(turn, &survey, score).await?;
    Ok(true)
}

/// Records a button or reaction answer when it comes from the person asked; the thanks (or the
/// refusal) goes to them alone.
async fn answer_as_contact(turn: &mut Turn<'_>, survey: &Survey, score: i64) -> Outcome {
    let inbound = turn.inbound;
    if survey.adapter != inbound.adapter || survey.contact != inbound.speaker.id {
        return user(format!("this question was for {}", survey.contact_name));
    }
    let text = if survey.answered_at.is_some() {
        "you have answered this question already, thank you".to_string()
    } else {
        record(turn, survey, score).await?
    };
    let outbound = Outbound::Ephemeral {
        conversation: inbound.conversation.id.clone(),
        user: inbound.speaker.id.clone(),
        text,
        thread: inbound.thread.clone(),
    };
    turn.send("reply", &inbound.adapter.clone(), outbound);
    Ok(())
}

/// Writes the answer (the first one stays), with a task event for CSAT and a touchpoint.
async fn record(turn: &mut Turn<'_>, survey: &Survey, score: i64) -> Outcome<String> {
    let at = turn.at().timestamp();
    if !turn.unqueued().await?.answer_survey(survey.id, at, score).await? {
        return Ok("you have answered this question already, thank you".into());
    }
    let answer = match survey.kind.as_str() {
        "nps" => format!("{score} of 10"),
        _ if score > 0 => "👍".into(),
        _ => "👎".into(),
    };
    if let Some(task) = survey.task_id {
        let answered = TaskEvent::SurveyAnswered {
            survey: survey.id,
            kind: survey.kind.clone(),
            score,
        };
        let event = NewEvent::new(task, at, &survey.contact_name, answered);
        turn.writes().event(event);
    }
    let inbound = turn.inbound;
    let touch = Touchpoint {
        client_id: survey.client_id,
        at,
        adapter: inbound.adapter.clone(),
        channel: inbound.conversation.id.clone(),
        speaker: inbound.speaker.name.clone(),
        from_client: true,
    };
    turn.writes().touchpoint(touch);
    Ok(format!("Thank you, {}: {answer} recorded.", survey.contact_name))
}

/// `9`, `9/10`, `10!`, `9 - great support`, `8, fine` → the NPS score: a number, then nothing
/// or a short comment after a dash, colon, comma or parenthesis.
fn nps_score(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 2 {
        return None;
    }
    let mut rest = t[digits..].trim_start();
    if let Some(r) = rest.strip_prefix("/10").or_else(|| rest.strip_prefix("/ 10")) {
        rest = r.trim_start();
    }
    let rest = rest.trim_end_matches(['.', '!']).trim();
    let comment = rest.starts_with(['-', '–', '—', ':', ',', '(']) && rest.chars().count() <= 80;
    if !rest.is_empty() && !comment {
        return None;
    }
    t[..digits].parse::<i64>().ok().filter(|n| (0..=10).contains(n))
}

/// 👍 → 1, 👎 → 0, as characters, Slack names (`+1`, `thumbsup`, with a skin tone) or words.
fn thumb(text: &str) -> Option<i64> {
    let t = text.trim().trim_matches(':');
    let base = t.split("::").next().unwrap_or(t);
    let base: String = base
        .chars()
        .filter(|c| !('\u{1F3FB}'..='\u{1F3FF}').contains(c))
        .collect();
    match base.as_str() {
        "👍" | "+1" | "thumbsup" => Some(1),
        "👎" | "-1" | "thumbsdown" => Some(0),
        _ => None,
    }
}

/// Reads a survey answer from an inbound event when it is one, before anything else sees it.
pub(super) async fn intercept(turn: &mut Turn<'_>) -> Outcome<bool> {
    let inbound = turn.inbound;
    match &inbound.kind {
        InboundKind::Action { action_id, value, .. } if action_id.starts_with(ACTION) => {
            answer_action(turn, value).await?;
            Ok(true)
        }
        InboundKind::Message { text, .. } if !inbound.conversation.direct || inbound.speaker.external => {
            answer_text(turn, text).await
        }
        InboundKind::Reaction { emoji, message_id, .. } => answer_reaction(turn, emoji, message_id).await,
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_thumbs_are_read_strictly() {
        assert_eq!(nps_score("9"), Some(9));
        assert_eq!(nps_score(" 10! "), Some(10));
        assert_eq!(nps_score("7/10"), Some(7));
        assert_eq!(nps_score("0."), Some(0));
        assert_eq!(nps_score("11"), None);
        assert_eq!(nps_score("9 because"), None);
        assert_eq!(nps_score("9 - great support"), Some(9));
        assert_eq!(nps_score("8, fine"), Some(8));
        assert_eq!(nps_score("2 users are missing"), None);
        assert_eq!(nps_score("10 - ".repeat(30).as_str()), None);
        assert_eq!(nps_score("-1"), None);
        assert_eq!(nps_score(""), None);
        assert_eq!(thumb("👍"), Some(1));
        assert_eq!(thumb(":+1::skin-tone-3:"), Some(1));
        assert_eq!(thumb("👎🏽"), Some(0));
        assert_eq!(thumb("thumbsdown"), Some(0));
        assert_eq!(thumb("ok"), None);
    }
}
