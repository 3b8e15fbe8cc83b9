//! Dashboard sign-in tokens: one-time links and sessions, stored by the SHA-256 of the token.

use sqlx::Row;

use super::people::{member_by_id, Member};
use super::Conn;

/// A one-time sign-in link.
pub const LINK: &str = "link";
/// A signed-in browser.
pub const SESSION: &str = "session";

/// How long an expired token is kept, so its link still answers "expired" rather than unknown.
const KEEP_EXPIRED: i64 = 7 * 86_400;

/// Records a token's hash, and forgets the tokens expired a week ago.
pub async fn insert(
    conn: &mut Conn,
    hash: &str,
    kind: &str,
    member_id: i64,
    now: i64,
    expires_at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO dashboard_tokens (hash, kind, member_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(kind)
    .bind(member_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM dashboard_tokens WHERE expires_at < $1")
        .bind(now - KEEP_EXPIRED)
        .execute(conn)
        .await?;
    Ok(())
}

/// What opening a sign-in link found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// A fresh link, now used: the member it was for.
    Member(i64),
    Used,
    Expired,
    Unknown,
}

/// Uses a sign-in link once: the first opening inside its 10 minutes gets the member.
pub async fn redeem_link(conn: &mut Conn, hash: &str, now: i64) -> anyhow::Result<Redeemed> {
    let used: Option<i64> = sqlx::query_scalar(
        "UPDATE dashboard_tokens SET used_at = $1 WHERE hash = $2 AND kind = 'link' AND used_at IS NULL \
         AND expires_at > $1 RETURNING member_id",
    )
    .bind(now)
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(member) = used {
        return Ok(Redeemed::Member(member));
    }
    let row = sqlx::query("SELECT used_at FROM dashboard_tokens WHERE hash = $1 AND kind = 'link'")
        .bind(hash)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        None => Redeemed::Unknown,
        Some(r) if r.try_get::<Option<i64>, _>("used_at")?.is_some() => Redeemed::Used,
        Some(_) => Redeemed::Expired,
    })
}

/// The member a live session belongs to (none when it ended, expired, or the member is gone).
pub async fn session_member(conn: &mut Conn, hash: &str, now: i64) -> anyhow::Result<Option<Member>> {
    let member: Option<i64> = sqlx::query_scalar(
        "SELECT member_id FROM dashboard_tokens WHERE hash = $1 AND kind = 'session' AND expires_at > $2",
    )
    .bind(hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    match member {
        Some(id) => member_by_id(conn, id).await,
        None => Ok(None),
    }
}

/// Ends a session (`logout`).
pub async fn end_session(conn: &mut Conn, hash: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM dashboard_tokens WHERE hash = $1 AND kind = 'session'")
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}
