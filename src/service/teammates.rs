//! A teammate a command names (`assign #3 @kim`, `client owner acme @kim`): a member keel knows,
//! or someone the platform says is on the team, who becomes a member on being named, before they
//! have written anywhere keel is. A name that fits nobody, only a client user, or several people
//! gets a one-line answer saying so.

use keel_chat::Speaker;

use super::lookup::unknown_member;
use super::outcome::{user, Outcome};
use super::standup;
use super::turn::Turn;
use crate::domain::truncate;
use crate::store::people::{self, Member};

/// The member `who` names, registered first when the platform knows them as a teammate.
pub(super) async fn teammate(turn: &mut Turn<'_>, who: &str) -> Outcome<Member> {
    let reference = who.trim_start_matches('@');
    let inbound = turn.inbound;
    if let Some(m) = turn
        .unqueued()
        .await?
        .member_by_reference(&inbound.adapter, reference)
        .await?
    {
        return Ok(m);
    }
    let Some(named) = inbound
        .named
        .iter()
        .find(|n| n.reference.eq_ignore_ascii_case(reference))
    else {
        return unknown_member(reference);
    };
    let team: Vec<&Speaker> = named.candidates.iter().filter(|s| !s.external).collect();
    let shown = truncate(reference, 40);
    match team.as_slice() {
        [one] => register(turn, one).await,
        [] if named.candidates.is_empty() => user(format!(
            "nobody on {} is called @{shown} (name them as the platform does, or with a mention)",
            inbound.adapter
        )),
        [] => user(format!(
            "@{} is a client user, not a team member",
            truncate(&named.candidates[0].name, 40)
        )),
        several => {
            let names: Vec<String> = several.iter().map(|s| candidate(&inbound.adapter, s)).collect();
            user(format!(
                "@{shown} could be {}: name one with their mention",
                names.join(" or ")
            ))
        }
    }
}

/// A person among several a name fits: their mention where the platform has one, and their name.
fn candidate(adapter: &str, s: &Speaker) -> String {
    match adapter {
        "slack" => format!("<@{}> ({})", s.id, s.name),
        _ => format!("{} ({})", s.id, s.name),
    }
}

/// Makes a teammate the platform told of a member (with the team's standup, when there is one),
/// unless they are a client's contact.
async fn register(turn: &mut Turn<'_>, person: &Speaker) -> Outcome<Member> {
    let adapter = turn.inbound.adapter.clone();
    if let Some(contact) = people::contact(turn.db().await?, &adapter, &person.id).await? {
        return user(format!(
            "@{} is a client user, not a team member",
            truncate(&contact.name, 40)
        ));
    }
    let now = turn.at().timestamp();
    let member = people::add_member(
        turn.db().await?,
        &adapter,
        &person.id,
        &person.name,
        person.tz.as_deref(),
        now,
    )
    .await?;
    let keel = turn.keel;
    standup::schedule_member(turn.db().await?, keel, &member, member.created_at).await?;
    Ok(member)
}
