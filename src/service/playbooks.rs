//! `playbook run <name> for <client|@member>` and `playbook list`.

use chrono::{Duration, TimeZone};

use super::format::{format_time, task_ref};
use super::lookup::{client_named, speaker_member};
use super::outcome::{user, Outcome};
use super::teammates::teammate;
use super::turn::Turn;
use crate::domain::event::{Created, TaskEvent};
use crate::domain::{Priority, Source, Status};
use crate::playbook::{OwnerRole, Subject};
use crate::store::people::{Client, Member};
use crate::store::tasks::{NewEvent, Task};

/// `playbook list`.
pub(super) async fn list(turn: &mut Turn<'_>) -> Outcome {
    let lines: Vec<String> = turn
        .keel
        .settings
        .playbooks
        .iter()
        .map(|p| {
            let target = match p.subject {
                Subject::Client => "<client>",
                Subject::Member => "@member",
            };
            format!(
                "{} ({} items): playbook run {} for {target}",
                p.title,
                p.items.len(),
                p.name
            )
        })
        .collect();
    turn.reply(lines.join("\n"));
    Ok(())
}

/// `playbook run <name> for <client|@member>`: one task per item, due `day` days from today at
/// the end of the team's business day, owned as the item says.
pub(super) async fn run(turn: &mut Turn<'_>, name: &str, target: &str) -> Outcome {
    let keel = turn.keel;
    let Some(playbook) = keel.settings.playbooks.iter().find(|p| p.name == name).cloned() else {
        let known: Vec<&str> = keel.settings.playbooks.iter().map(|p| p.name.as_str()).collect();
        return user(format!(
            "there is no playbook \"{}\" (known: {})",
            crate::domain::truncate(name, 40),
            known.join(", ")
        ));
    };
    let runner = speaker_member(turn)?;
    let (client, subject) = match playbook.subject {
        Subject::Client => (Some(client_named(turn, &target.to_lowercase()).await?), None),
        Subject::Member => {
            if !target.starts_with('@') {
                return user(format!(
                    "playbook {name} is for a team member: playbook run {name} for @name"
                ));
            }
            (None, Some(teammate(turn, target.trim_start_matches('@')).await?))
        }
    };
    let leads = turn.unqueued().await?.leads().await?;
    let client_owner = match client.as_ref().and_then(|c| c.owner_id) {
        Some(id) => turn.unqueued().await?.member_by_id(id).await?,
        None => None,
    };
    let at = turn.at();
    let tz = keel.settings.team_tz;
    let today = at.with_timezone(&tz).date_naive();
    let end_of_day = keel.settings.team_hours.end;
    let about = match (&client, &subject) {
        (Some(c), _) => c.name.clone(),
        (_, Some(m)) => format!("@{}", m.name),
        _ => String::new(),
    };
    let inbound = turn.inbound;
    let mut created = Vec::new();
    for (index, item) in playbook.items.iter().enumerate() {
        let owner = match item.owner {
            OwnerRole::ClientOwner => client_owner.clone().unwrap_or_else(|| runner.clone()),
            OwnerRole::Lead => leads.first().cloned().unwrap_or_else(|| runner.clone()),
            OwnerRole::Runner => runner.clone(),
            OwnerRole::Subject => subject.clone().unwrap_or_else(|| runner.clone()),
        };
        let day = today + Duration::days(item.day);
        let due = tz
            .from_local_datetime(&day.and_time(end_of_day))
            .earliest()
            .map(|t| t.timestamp())
            .unwrap_or(at.timestamp() + item.day * 86_400);
        let id = turn.next_task_id().await?;
        let title = format!("{} — {about}", item.title);
        let task = item_task(
            inbound,
            id,
            &title,
            client.as_ref(),
            &runner,
            &owner,
            at.timestamp(),
            due,
        );
        let opened = item_created(&task, &playbook.name, index, &owner, client.as_ref());
        let event = NewEvent::new(id, at.timestamp(), &runner.name, opened);
        turn.writes().insert_task(task.clone(), event);
        created.push((task, owner.name));
    }
    let (Some((first, first_owner)), Some((last, _))) = (created.first(), created.last()) else {
        return user(format!("playbook {name} has no items"));
    };
    let when = format_time(first.due_at.unwrap_or_default(), turn.speaker_tz());
    turn.reply(format!(
        "playbook {name} for {about}: {} tasks {}–{}; first due {when}: {} (@{first_owner}). See them with: list all",
        created.len(),
        task_ref(first),
        task_ref(last),
        first.title,
    ));
    Ok(())
}

/// The `created` event of a playbook item's task.
fn item_created(task: &Task, playbook: &str, item: usize, owner: &Member, client: Option<&Client>) -> TaskEvent {
    TaskEvent::Created(Created {
        text: task.title.clone(),
        source: Some(Source::Playbook),
        priority: Some(Priority::Normal),
        due_at: task.due_at,
        title: Some(task.title.clone()),
        owner: Some(owner.name.clone()),
        client: client.map(|c| c.key.clone()),
        owner_id: task.owner_id,
        client_id: task.client_id,
        playbook: Some(playbook.to_string()),
        item: Some(item as i64),
        ..Created::default()
    })
}

/// A playbook item's task: open, normal priority, owned and due as the playbook says.
#[allow(clippy::too_many_arguments)]
fn item_task(
    inbound: &keel_chat::Inbound,
    id: i64,
    title: &str,
    client: Option<&Client>,
    runner: &Member,
    owner: &Member,
    at: i64,
    due: i64,
) -> Task {
    Task {
        id,
        title: title.to_string(),
        client_id: client.map(|c| c.id),
        adapter: inbound.adapter.clone(),
        channel: inbound.conversation.id.clone(),
        channel_name: inbound.conversation.name.clone(),
        thread: None,
        permalink: None,
        requester_id: inbound.speaker.id.clone(),
        requester_name: runner.name.clone(),
        requester_is_client: false,
        owner_id: Some(owner.id),
        status: Status::Open,
        priority: Priority::Normal,
        source: Source::Playbook,
        sentiment: 0.0,
        frustrated: false,
        created_at: at,
        due_at: Some(due),
        first_response_at: None,
        resolved_at: None,
        last_activity_at: at,
        last_client_message_at: None,
        snoozed_until: None,
        escalated_at: None,
    }
}
