//! Finding what a command names (a task, a member, a client, a channel), with the one-line answer
//! when it does not exist.

use super::format::channel_ref;
use super::outcome::{user, Outcome};
use super::turn::Turn;
use crate::domain::{truncate, TaskId};
use crate::store::people::{self, Client, Member};
use crate::store::tasks::{self, Task};

/// The task with this id, or the one-line answer that it does not exist.
pub(super) async fn existing(turn: &mut Turn<'_>, id: TaskId) -> Outcome<Task> {
    match tasks::by_id(turn.db().await?, id.0).await? {
        Some(v) => Ok(v.task),
        None => user(format!("{id} does not exist")),
    }
}

pub(super) fn speaker_member(turn: &Turn<'_>) -> Outcome<Member> {
    match turn.who.member() {
        Some(m) => Ok(m.clone()),
        None => user("only team members can do that"),
    }
}

pub(super) async fn member_named(turn: &mut Turn<'_>, who: &str) -> Outcome<Member> {
    let inbound = turn.inbound;
    match turn
        .unqueued()
        .await?
        .member_by_reference(&inbound.adapter, who)
        .await?
    {
        Some(m) => Ok(m),
        None => unknown_member(who),
    }
}

/// The answer about someone keel does not know and the platform did not name.
pub(super) fn unknown_member(who: &str) -> Outcome<Member> {
    user(format!(
        "I don't know @{}: people join the team when they first write where keel is",
        truncate(who, 40)
    ))
}

pub(super) async fn client_named(turn: &mut Turn<'_>, key: &str) -> Outcome<Client> {
    match people::client_by_key(turn.db().await?, key).await? {
        Some(c) => Ok(c),
        None => user(format!(
            "there is no client \"{}\" (see \"client list\")",
            truncate(key, 40)
        )),
    }
}

/// A channel of the speaker's adapter as the answer names it: `<#C0123>` on Slack; elsewhere
/// `#name`, the conversation's readable name when it is the one being spoken in (a Matrix room
/// id says nothing to people), else the reference as given.
pub(super) fn channel_named(turn: &Turn<'_>, channel: &str) -> String {
    let adapter = turn.inbound.adapter.as_str();
    channel_on(turn, adapter, channel)
}

/// A channel of `channel_adapter` as an answer to the speaker names it.
pub(super) fn channel_on(turn: &Turn<'_>, channel_adapter: &str, channel: &str) -> String {
    let here = &turn.inbound.conversation;
    let name = if here.id == channel && !here.name.is_empty() && here.name != here.id {
        here.name.as_str()
    } else {
        channel
    };
    channel_ref(&turn.inbound.adapter, channel_adapter, channel, name)
}
