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
pub async fn signed_in(keel: &Keel, session: &str, now: i64) -> anyhow::Result<Option<Member>> {
    let mut conn = keel.store.pool().acquire().await?;
    dashboard::session_member(&mut conn, &token_hash(session), now).await
}

/// Ends a session.
pub async fn sign_out(keel: &Keel, session: &str) -> anyhow::Result<()> {
    let mut conn = keel.store.writer().acquire().await?;
    dashboard::end_session(&mut conn, &token_hash(session)).await
}

/// What the dashboard's pages read: the work, through the store's queries.
pub mod read {
    use crate::service::Keel;
    use crate::store::browse::{self, Browse};
    use crate::store::people::{self, Client, Member};
    use crate::store::tasks::{self, LoggedEvent, TaskView};

    /// A page of tasks, and how many match in all.
    pub async fn tasks(keel: &Keel, query: &Browse) -> anyhow::Result<(Vec<TaskView>, i64)> {
        let mut conn = keel.store.pool().acquire().await?;
        browse::browse(&mut conn, query).await
    }

    /// One task with its whole log, oldest first.
    pub async fn task(keel: &Keel, id: i64) -> anyhow::Result<Option<(TaskView, Vec<LoggedEvent>)>> {
        let mut conn = keel.store.pool().acquire().await?;
        let Some(view) = tasks::by_id(&mut conn, id).await? else {
            return Ok(None);
        };
        let events = tasks::events(&mut conn, id).await?;
        Ok(Some((view, events)))
    }

    /// Every member with their active and overdue tasks at `now`.
    pub async fn load(keel: &Keel, now: i64) -> anyhow::Result<Vec<(Member, i64, i64)>> {
        let mut conn = keel.store.pool().acquire().await?;
        let loads = browse::load_by_owner(&mut conn, now).await?;
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

    /// Every client and every member, for the filters.
    pub async fn people(keel: &Keel) -> anyhow::Result<(Vec<Client>, Vec<Member>)> {
        let mut conn = keel.store.pool().acquire().await?;
        Ok((people::clients(&mut conn).await?, people::members(&mut conn).await?))
    }
}
