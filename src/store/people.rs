//! Team members, clients, their channels and contacts, and touchpoints.

use anyhow::Context;
use sqlx::AssertSqlSafe;

use super::{json_rows, Conn, Json};
use crate::domain::{clean_name, Role, WorkingHours};

/// A team member as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: i64,
    pub adapter: String,
    pub platform_id: String,
    pub name: String,
    pub role: Role,
    pub tz: Option<String>,
    pub hours: WorkingHours,
    pub away_until: Option<i64>,
    pub created_at: i64,
}

const MEMBER_COLUMNS: &str = "id, adapter, platform_id, name, role, tz, work_start, work_end, away_until, created_at";

/// A `members` row; its role and working hours become a [`Member`]'s in `From`.
#[derive(sqlx::FromRow)]
struct MemberRow {
    id: i64,
    adapter: String,
    platform_id: String,
    name: String,
    role: String,
    tz: Option<String>,
    work_start: i64,
    work_end: i64,
    away_until: Option<i64>,
    created_at: i64,
}

impl From<MemberRow> for Member {
    fn from(row: MemberRow) -> Member {
        Member {
            id: row.id,
            adapter: row.adapter,
            platform_id: row.platform_id,
            name: row.name,
            // A role this version does not know gives no rights beyond a member's.
            role: row.role.parse().unwrap_or(Role::Member),
            tz: row.tz,
            hours: WorkingHours::from_minutes(row.work_start, row.work_end),
            away_until: row.away_until,
            created_at: row.created_at,
        }
    }
}

/// The member with this platform id on this adapter.
pub async fn member_by_platform_id(
    conn: &mut Conn,
    adapter: &str,
    platform_id: &str,
) -> anyhow::Result<Option<Member>> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE adapter = $1 AND platform_id = $2");
    let row: Option<MemberRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(adapter)
        .bind(platform_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(Member::from))
}

/// A member named in a message (`@lea`, or a Matrix id given without its `@`): by platform id
/// first, then by name (any adapter, preferring the speaker's), case-insensitively.
pub async fn member_by_reference(conn: &mut Conn, adapter: &str, reference: &str) -> anyhow::Result<Option<Member>> {
    if let Some(m) = member_by_platform_id(conn, adapter, reference).await? {
        return Ok(Some(m));
    }
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE lower(name) = lower($1) OR lower(platform_id) = lower($1) \
         OR lower(platform_id) = lower('@' || $1) \
         ORDER BY CASE WHEN adapter = $2 THEN 0 ELSE 1 END, id LIMIT 1"
    );
    let row: Option<MemberRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(reference)
        .bind(adapter)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(Member::from))
}

pub async fn member_by_id(conn: &mut Conn, id: i64) -> anyhow::Result<Option<Member>> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1");
    let row: Option<MemberRow> = sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await?;
    Ok(row.map(Member::from))
}

/// The members with these ids (one query).
pub async fn members_by_ids(conn: &mut Conn, ids: &[i64]) -> anyhow::Result<Vec<Member>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let json: Vec<_> = ids.iter().map(|id| (id,)).collect();
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE id IN (SELECT c0 FROM ({}) AS r)",
        json_rows(conn, &[Json::Int])
    );
    let rows: Vec<MemberRow> = super::with_rows_as(conn, sql, &json)?.fetch_all(conn).await?;
    Ok(rows.into_iter().map(Member::from).collect())
}

/// Every member, oldest first.
pub async fn members(conn: &mut Conn) -> anyhow::Result<Vec<Member>> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM members ORDER BY id");
    let rows: Vec<MemberRow> = sqlx::query_as(AssertSqlSafe(sql)).fetch_all(conn).await?;
    Ok(rows.into_iter().map(Member::from).collect())
}

/// Registers a team member seen for the first time; the first member of the team is its admin.
/// The name is stored clean ([`clean_name`]): it appears in answers and events.
pub async fn add_member(
    conn: &mut Conn,
    adapter: &str,
    platform_id: &str,
    name: &str,
    tz: Option<&str>,
    now: i64,
) -> anyhow::Result<Member> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members")
        .fetch_one(&mut *conn)
        .await?;
    let role = if count == 0 { Role::Admin } else { Role::Member };
    sqlx::query(
        "INSERT INTO members (adapter, platform_id, name, role, tz, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (adapter, platform_id) DO NOTHING",
    )
    .bind(adapter)
    .bind(platform_id)
    .bind(clean_name(name))
    .bind(role.as_str())
    .bind(tz)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    member_by_platform_id(conn, adapter, platform_id)
        .await?
        .context("member vanished after insert")
}

/// Saves a member's role, time zone, hours and away date.
pub async fn update_member(conn: &mut Conn, m: &Member) -> anyhow::Result<()> {
    let (start, end) = m.hours.to_minutes();
    sqlx::query("UPDATE members SET name = $1, role = $2, tz = $3, work_start = $4, work_end = $5, away_until = $6 WHERE id = $7")
        .bind(&m.name)
        .bind(m.role.as_str())
        .bind(&m.tz)
        .bind(start)
        .bind(end)
        .bind(m.away_until)
        .bind(m.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A client organisation as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Client {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub owner_id: Option<i64>,
    pub contract_signed_at: Option<i64>,
    pub go_live_at: Option<i64>,
    pub churned_at: Option<i64>,
    pub last_touch_at: Option<i64>,
    pub created_at: i64,
}

/// The last touch is derived from the touchpoint log, so logging one is a single insert.
const CLIENT_COLUMNS: &str = "id, key, name, owner_id, contract_signed_at, go_live_at, churned_at, \
    (SELECT MAX(tp.at) FROM touchpoints tp WHERE tp.client_id = clients.id) AS last_touch_at, created_at";

pub async fn client_by_key(conn: &mut Conn, key: &str) -> anyhow::Result<Option<Client>> {
    let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE key = $1");
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(conn)
        .await?)
}

pub async fn client_by_id(conn: &mut Conn, id: i64) -> anyhow::Result<Option<Client>> {
    let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1");
    Ok(sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await?)
}

/// The client whose shared channel this is.
pub async fn client_by_channel(conn: &mut Conn, adapter: &str, channel: &str) -> anyhow::Result<Option<Client>> {
    let sql = format!(
        "SELECT {CLIENT_COLUMNS} FROM clients WHERE id = \
         (SELECT client_id FROM client_channels WHERE adapter = $1 AND channel = $2)"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(adapter)
        .bind(channel)
        .fetch_optional(conn)
        .await?)
}

/// A client with one of its channels.
#[derive(sqlx::FromRow)]
struct ChannelClient {
    cc_adapter: String,
    cc_channel: String,
    #[sqlx(flatten)]
    client: Client,
}

/// The clients of several channels at once, keyed by `(adapter, channel)`; channels shared with
/// no client are left out.
pub async fn clients_by_channels(
    conn: &mut Conn,
    channels: &[(String, String)],
) -> anyhow::Result<Vec<((String, String), Client)>> {
    if channels.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<_> = channels.iter().map(|(a, c)| (a, c)).collect();
    let sql = format!(
        "SELECT cc.adapter AS cc_adapter, cc.channel AS cc_channel, {CLIENT_COLUMNS} \
         FROM client_channels cc JOIN clients ON clients.id = cc.client_id \
         WHERE (cc.adapter, cc.channel) IN ({})",
        json_rows(conn, &[Json::Text, Json::Text])
    );
    let rows: Vec<ChannelClient> = super::with_rows_as(conn, sql, &keys)?.fetch_all(&mut *conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| ((row.cc_adapter, row.cc_channel), row.client))
        .collect())
}

/// Every client's id and key, by key: what a filter offers, without the last touch.
pub async fn client_keys(conn: &mut Conn) -> anyhow::Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as("SELECT id, key FROM clients ORDER BY key")
        .fetch_all(conn)
        .await?)
}

pub async fn clients(conn: &mut Conn) -> anyhow::Result<Vec<Client>> {
    let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY key");
    Ok(sqlx::query_as(AssertSqlSafe(sql)).fetch_all(conn).await?)
}

/// Adds a client; `None` when the key is taken.
pub async fn add_client(
    conn: &mut Conn,
    key: &str,
    name: &str,
    owner_id: Option<i64>,
    now: i64,
) -> anyhow::Result<Option<Client>> {
    let inserted = sqlx::query(
        "INSERT INTO clients (key, name, owner_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(name)
    .bind(owner_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    client_by_key(conn, key).await
}

/// Saves a client's lifecycle dates and owner.
pub async fn update_client(conn: &mut Conn, c: &Client) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE clients SET name = $1, owner_id = $2, contract_signed_at = $3, go_live_at = $4, churned_at = $5 WHERE id = $6",
    )
    .bind(&c.name)
    .bind(c.owner_id)
    .bind(c.contract_signed_at)
    .bind(c.go_live_at)
    .bind(c.churned_at)
    .bind(c.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Links a channel to a client; returns the key of the client that already has it, if another.
pub async fn link_channel(
    conn: &mut Conn,
    adapter: &str,
    channel: &str,
    client_id: i64,
) -> anyhow::Result<Option<String>> {
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT c.key FROM client_channels cc JOIN clients c ON c.id = cc.client_id \
         WHERE cc.adapter = $1 AND cc.channel = $2 AND cc.client_id <> $3",
    )
    .bind(adapter)
    .bind(channel)
    .bind(client_id)
    .fetch_optional(&mut *conn)
    .await?;
    if existing.is_some() {
        return Ok(existing);
    }
    sqlx::query("INSERT INTO client_channels (adapter, channel, client_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(adapter)
        .bind(channel)
        .bind(client_id)
        .execute(conn)
        .await?;
    Ok(None)
}

/// Unlinks a channel from a client; false when it was not the client's.
pub async fn unlink_channel(conn: &mut Conn, adapter: &str, channel: &str, client_id: i64) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM client_channels WHERE adapter = $1 AND channel = $2 AND client_id = $3")
        .bind(adapter)
        .bind(channel)
        .bind(client_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The channels of a client, as `adapter:channel`.
pub async fn client_channels(conn: &mut Conn, client_id: i64) -> anyhow::Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT adapter, channel FROM client_channels WHERE client_id = $1 ORDER BY channel")
            .bind(client_id)
            .fetch_all(conn)
            .await?,
    )
}

/// A client contact as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Contact {
    pub platform_id: String,
    pub name: String,
    pub client_id: i64,
    pub tz: Option<String>,
}

pub async fn contact(conn: &mut Conn, adapter: &str, platform_id: &str) -> anyhow::Result<Option<Contact>> {
    Ok(
        sqlx::query_as("SELECT platform_id, name, client_id, tz FROM contacts WHERE adapter = $1 AND platform_id = $2")
            .bind(adapter)
            .bind(platform_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// A contact with its adapter.
#[derive(sqlx::FromRow)]
struct AdapterContact {
    adapter: String,
    #[sqlx(flatten)]
    contact: Contact,
}

/// Several contacts at once, keyed by `(adapter, platform id)`; unknown people are left out.
pub async fn contacts(conn: &mut Conn, people: &[(String, String)]) -> anyhow::Result<Vec<(String, Contact)>> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<_> = people.iter().map(|(a, id)| (a, id)).collect();
    let sql = format!(
        "SELECT adapter, platform_id, name, client_id, tz FROM contacts WHERE (adapter, platform_id) IN ({})",
        json_rows(conn, &[Json::Text, Json::Text])
    );
    let rows: Vec<AdapterContact> = super::with_rows_as(conn, sql, &keys)?.fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(|row| (row.adapter, row.contact)).collect())
}

/// A contact to record, with where and when it was seen.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenContact {
    pub adapter: String,
    pub contact: Contact,
    pub at: i64,
}

/// Records (or moves) client contacts with one statement; names are stored clean
/// ([`clean_name`]). A person seen twice is written once (PostgreSQL updates a row once per
/// statement): as last seen, first seen when it was.
pub async fn upsert_contacts(conn: &mut Conn, seen: &[SeenContact]) -> anyhow::Result<()> {
    let statement = upsert_contacts_statement(super::is_postgres(conn), seen)?;
    super::run(conn, statement, "recording contacts").await
}

/// [`upsert_contacts`] as a statement to run, `None` when there is nobody to record.
pub(crate) fn upsert_contacts_statement(
    postgres: bool,
    seen: &[SeenContact],
) -> anyhow::Result<Option<super::values::Insert>> {
    // For each person: where they were last seen, and when first.
    let mut people: std::collections::HashMap<(&str, &str), (usize, i64)> = std::collections::HashMap::new();
    for (i, s) in seen.iter().enumerate() {
        let key = (s.adapter.as_str(), s.contact.platform_id.as_str());
        let first = people.get(&key).map_or(s.at, |&(_, at)| at.min(s.at));
        people.insert(key, (i, first));
    }
    let rows: Vec<_> = seen
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let (last, first) = people[&(s.adapter.as_str(), s.contact.platform_id.as_str())];
            let c = &s.contact;
            (last == i).then(|| {
                (
                    &s.adapter,
                    &c.platform_id,
                    clean_name(&c.name),
                    c.client_id,
                    &c.tz,
                    first,
                )
            })
        })
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    super::values::insert(
        postgres,
        "INSERT INTO contacts (adapter, platform_id, name, client_id, tz, created_at)",
        &[Json::Text, Json::Text, Json::Text, Json::Int, Json::Text, Json::Int],
        &rows,
        "ON CONFLICT (adapter, platform_id) DO UPDATE SET name = excluded.name, client_id = excluded.client_id, \
         tz = excluded.tz",
    )
    .map(Some)
}

/// A message between the team and a client, for the client's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Touchpoint {
    pub client_id: i64,
    pub at: i64,
    pub adapter: String,
    pub channel: String,
    pub speaker: String,
    pub from_client: bool,
}

/// Logs touchpoints with one statement.
pub async fn add_touchpoints(conn: &mut Conn, touches: &[Touchpoint]) -> anyhow::Result<()> {
    let statement = add_touchpoints_statement(super::is_postgres(conn), touches)?;
    super::run(conn, statement, "logging touchpoints").await
}

/// [`add_touchpoints`] as a statement to run, `None` when there is none to log.
pub(crate) fn add_touchpoints_statement(
    postgres: bool,
    touches: &[Touchpoint],
) -> anyhow::Result<Option<super::values::Insert>> {
    if touches.is_empty() {
        return Ok(None);
    }
    let rows: Vec<_> = touches
        .iter()
        .map(|t| {
            (
                t.client_id,
                t.at,
                &t.adapter,
                &t.channel,
                clean_name(&t.speaker),
                i64::from(t.from_client),
            )
        })
        .collect();
    super::values::insert(
        postgres,
        "INSERT INTO touchpoints (client_id, at, adapter, channel, speaker, from_client)",
        &[Json::Int, Json::Int, Json::Text, Json::Text, Json::Text, Json::Int],
        &rows,
        "",
    )
    .map(Some)
}

/// Logs one message between the team and a client.
pub async fn add_touchpoint(
    conn: &mut Conn,
    client_id: i64,
    at: i64,
    adapter: &str,
    channel: &str,
    speaker: &str,
    from_client: bool,
) -> anyhow::Result<()> {
    let touch = Touchpoint {
        client_id,
        at,
        adapter: adapter.to_string(),
        channel: channel.to_string(),
        speaker: speaker.to_string(),
        from_client,
    };
    add_touchpoints(conn, &[touch]).await
}

/// Counts a client's touchpoints (for the client card).
pub async fn touchpoint_count(conn: &mut Conn, client_id: i64) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM touchpoints WHERE client_id = $1")
            .bind(client_id)
            .fetch_one(conn)
            .await?,
    )
}
