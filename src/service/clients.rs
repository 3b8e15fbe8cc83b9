//! The client commands: add, list, show, edit (owner, channels, name, SLA targets) and the
//! lifecycle steps.

use super::format::{format_time, mention};
use super::lookup::{channel_named, channel_on, client_named};
use super::outcome::{user, Outcome};
use super::surveys;
use super::teammates::teammate;
use super::turn::{Turn, Who};
use crate::command::{Lifecycle, SlaChange};
use crate::domain::sla::{show_span, Origin, Targets};
use crate::domain::Priority;
use crate::store::people::{self, Client};
use crate::store::{sla as sla_store, tasks};

pub(super) async fn add(
    turn: &mut Turn<'_>,
    key: &str,
    name: &str,
    channels: &[String],
    owner: Option<String>,
) -> Outcome {
    let owner = match owner {
        Some(who) => Some(teammate(turn, &who).await?),
        None => None,
    };
    let now = turn.at().timestamp();
    let Some(client) = people::add_client(turn.db().await?, key, name, owner.as_ref().map(|m| m.id), now).await? else {
        return user(format!("client {key} exists already (see \"client show {key}\")"));
    };
    let adapter = turn.inbound.adapter.clone();
    for channel in channels {
        if let Some(other) = people::link_channel(turn.db().await?, &adapter, channel, client.id).await? {
            return user(format!("#{channel} belongs to client {other} already"));
        }
    }
    let mut answer = format!("client {key} added: {name}");
    if !channels.is_empty() {
        let names: Vec<String> = channels.iter().map(|c| channel_named(turn, c)).collect();
        answer.push_str(&format!(" · channels {}", names.join(" ")));
    }
    if let Some(m) = &owner {
        answer.push_str(&format!(" · owner {}", mention(m, &turn.inbound.adapter)));
    }
    turn.reply(answer);
    Ok(())
}

/// `client owner <key> @who`.
pub(super) async fn owner(turn: &mut Turn<'_>, key: &str, who: &str) -> Outcome {
    let mut client = client_named(turn, key).await?;
    let owner = teammate(turn, who).await?;
    if client.owner_id == Some(owner.id) {
        return user(format!(
            "client {key} is {}'s already",
            mention(&owner, &turn.inbound.adapter)
        ));
    }
    let was = match client.owner_id {
        Some(id) => people::member_by_id(turn.db().await?, id)
            .await?
            .map(|m| mention(&m, &turn.inbound.adapter)),
        None => None,
    };
    client.owner_id = Some(owner.id);
    people::update_client(turn.db().await?, &client).await?;
    turn.reply(format!(
        "client {key} owner {} (was {})",
        mention(&owner, &turn.inbound.adapter),
        was.unwrap_or_else(|| "nobody".into())
    ));
    Ok(())
}

/// `client channel <key> add|remove #channel`.
pub(super) async fn channel(turn: &mut Turn<'_>, key: &str, add: bool, channel: &str) -> Outcome {
    let client = client_named(turn, key).await?;
    let adapter = turn.inbound.adapter.clone();
    let shown = channel_named(turn, channel);
    if add {
        if let Some(other) = people::link_channel(turn.db().await?, &adapter, channel, client.id).await? {
            return user(format!("{shown} belongs to client {other} already"));
        }
    } else if !people::unlink_channel(turn.db().await?, &adapter, channel, client.id).await? {
        return user(format!("{shown} is not one of client {key}'s channels"));
    }
    let channels = people::client_channels(turn.db().await?, client.id).await?;
    let names: Vec<String> = channels.iter().map(|(_, c)| channel_named(turn, c)).collect();
    let now = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(" ")
    };
    let done = if add { "added" } else { "removed" };
    turn.reply(format!("client {key}: {shown} {done} · channels {now}"));
    Ok(())
}

/// `client rename <key> "<name>"`.
pub(super) async fn rename(turn: &mut Turn<'_>, key: &str, name: &str) -> Outcome {
    let mut client = client_named(turn, key).await?;
    if client.name == name {
        return user(format!("client {key} is called {name} already"));
    }
    let was = std::mem::replace(&mut client.name, name.to_string());
    people::update_client(turn.db().await?, &client).await?;
    turn.reply(format!("client {key} renamed: {name} (was {was})"));
    Ok(())
}

pub(super) async fn list(turn: &mut Turn<'_>) -> Outcome {
    let clients = people::clients(turn.db().await?).await?;
    if clients.is_empty() {
        turn.reply("no clients yet (add one with: client add <key> \"<name>\" #channel)");
        return Ok(());
    }
    let mut lines = Vec::new();
    for c in &clients {
        lines.push(line(turn, c).await?);
    }
    turn.reply(lines.join("\n"));
    Ok(())
}

async fn line(turn: &mut Turn<'_>, c: &Client) -> Outcome<String> {
    let open = tasks::active_for_client(turn.db().await?, c.id).await?;
    let owner = match c.owner_id {
        Some(id) => people::member_by_id(turn.db().await?, id)
            .await?
            .map(|m| mention(&m, &turn.inbound.adapter)),
        None => None,
    };
    let stage = if c.churned_at.is_some() {
        "churned"
    } else if c.go_live_at.is_some() {
        "live"
    } else if c.contract_signed_at.is_some() {
        "onboarding"
    } else {
        "added"
    };
    Ok(format!(
        "{} — {} · {stage} · owner {} · {open} open",
        c.key,
        c.name,
        owner.unwrap_or_else(|| "none".into())
    ))
}

pub(super) async fn show(turn: &mut Turn<'_>, key: &str) -> Outcome {
    let c = client_named(turn, key).await?;
    let mut lines = vec![line(turn, &c).await?];
    let tz = turn.speaker_tz();
    let channels = people::client_channels(turn.db().await?, c.id).await?;
    if !channels.is_empty() {
        let names: Vec<String> = channels
            .iter()
            .map(|(a, ch)| format!("{} ({a})", channel_on(turn, a, ch)))
            .collect();
        lines.push(format!("channels {}", names.join(", ")));
    }
    let dates = [
        ("signed", c.contract_signed_at),
        ("live", c.go_live_at),
        ("churned", c.churned_at),
        ("last touch", c.last_touch_at),
    ];
    let known: Vec<String> = dates
        .iter()
        .filter_map(|(label, at)| at.map(|a| format!("{label} {}", format_time(a, tz))))
        .collect();
    if !known.is_empty() {
        lines.push(known.join(" · "));
    }
    lines.push(own_targets(turn, &c).await?);
    let touches = people::touchpoint_count(turn.db().await?, c.id).await?;
    lines.push(format!("{touches} touchpoints"));
    turn.reply(lines.join("\n"));
    Ok(())
}

pub(super) async fn stage(turn: &mut Turn<'_>, key: &str, stage: Lifecycle, date: Option<String>) -> Outcome {
    let mut c = client_named(turn, key).await?;
    let at = match &date {
        Some(d) => turn.read_date(d)?.timestamp(),
        None => turn.at().timestamp(),
    };
    let label = match stage {
        Lifecycle::Signed => {
            c.contract_signed_at = Some(at);
            "signed"
        }
        Lifecycle::Live => {
            if c.contract_signed_at.is_some_and(|s| s > at) {
                return user(format!("{key} cannot go live before it signed"));
            }
            c.go_live_at = Some(at);
            "live"
        }
        Lifecycle::Churned => {
            c.churned_at = Some(at);
            "churned"
        }
    };
    people::update_client(turn.db().await?, &c).await?;
    if matches!(stage, Lifecycle::Live | Lifecycle::Churned) {
        surveys::schedule_nps(turn.db().await?, &c).await?;
    }
    let offer = match stage {
        Lifecycle::Signed if turn.keel.settings.playbooks.iter().any(|p| p.name == "onboarding") => {
            format!(" — start onboarding with: playbook run onboarding for {key}")
        }
        _ => String::new(),
    };
    turn.reply(format!(
        "client {key} {label} {}{offer}",
        format_time(at, turn.speaker_tz())
    ));
    Ok(())
}

/// `client sla <key> [<priority> <first-response> <resolution> | reset]`.
pub(super) async fn sla(turn: &mut Turn<'_>, key: &str, change: Option<SlaChange>) -> Outcome {
    let client = client_named(turn, key).await?;
    let Some(change) = change else {
        return show_sla(turn, &client).await;
    };
    if !matches!(&turn.who, Who::Team(m) if m.role.is_lead()) {
        return user("only leads and admins can change SLA targets");
    }
    let book = turn.keel.settings.sla_book(turn.db().await?).await?;
    let now = turn.at().timestamp();
    match change {
        SlaChange::Set { priority, targets } => {
            if book.of(Some(client.id), priority).1 == Origin::Config {
                return user(format!(
                    "client {key}'s {priority} targets are set in the configuration ([clients.{key}.sla]), which wins; change them there"
                ));
            }
            let team = turn.keel.settings.sla.targets()[&priority];
            sla_store::set(turn.db().await?, client.id, priority, targets, now).await?;
            turn.reply(format!(
                "client {key} SLA {priority}: first response {}, resolution {} in business time (team: {})",
                show_span(targets.first_response),
                show_span(targets.resolution),
                pair(team)
            ));
        }
        SlaChange::Reset => {
            if sla_store::reset(turn.db().await?, client.id).await? == 0 {
                return user(format!("client {key} has no SLA targets of its own set in chat"));
            }
            let kept: Vec<&str> = Priority::ALL
                .iter()
                .rev()
                .filter(|p| book.of(Some(client.id), **p).1 == Origin::Config)
                .map(|p| p.as_str())
                .collect();
            let mut answer = format!("client {key} SLA reset: the team's targets again");
            if !kept.is_empty() {
                answer.push_str(&format!(" (the configuration still sets {})", kept.join(", ")));
            }
            turn.reply(answer);
        }
    }
    Ok(())
}

/// Every priority's targets for the client, and where each comes from.
async fn show_sla(turn: &mut Turn<'_>, client: &Client) -> Outcome {
    let book = turn.keel.settings.sla_book(turn.db().await?).await?;
    let mut lines = vec![format!(
        "client {} SLA, business time (first response / resolution):",
        client.key
    )];
    for priority in Priority::ALL.iter().rev() {
        let (targets, origin) = book.of(Some(client.id), *priority);
        let from = match origin {
            Origin::Team => "team",
            Origin::Chat => "own",
            Origin::Config => "own, from the configuration",
        };
        lines.push(format!("{priority} {} ({from})", pair(targets)));
    }
    turn.reply(lines.join("\n"));
    Ok(())
}

/// The card's line about the client's own SLA targets.
async fn own_targets(turn: &mut Turn<'_>, client: &Client) -> Outcome<String> {
    let book = turn.keel.settings.sla_book(turn.db().await?).await?;
    let own: Vec<String> = Priority::ALL
        .iter()
        .rev()
        .map(|p| (p, book.of(Some(client.id), *p)))
        .filter(|(_, (_, origin))| *origin != Origin::Team)
        .map(|(p, (targets, _))| format!("{p} {}", pair(targets)))
        .collect();
    Ok(if own.is_empty() {
        "SLA: the team's targets".to_string()
    } else {
        format!("SLA of its own: {} (the team's for the rest)", own.join(", "))
    })
}

fn pair(t: Targets) -> String {
    format!("{} / {}", show_span(t.first_response), show_span(t.resolution))
}
