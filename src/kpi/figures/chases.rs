//! Chases: how often clients asked after work already asked for ("any update?"), in all, on how
//! many tasks, and per client.

use std::collections::BTreeMap;

use super::span::Span;
use crate::store::kpi::{chases as chases_in, Client};
use crate::store::Conn;

#[derive(Debug, Default)]
pub(super) struct Chases {
    pub total: i64,
    pub tasks: i64,
    pub per_client: BTreeMap<String, i64>,
}

pub(super) async fn chases(conn: &mut Conn, span: &Span, clients: &[Client]) -> anyhow::Result<Chases> {
    let mut out = Chases::default();
    for (client, count, tasks) in chases_in(conn, span.from, span.to).await? {
        out.total += count;
        out.tasks += tasks;
        if let Some(key) = client
            .and_then(|id| clients.iter().find(|c| c.id == id))
            .map(|c| c.key.clone())
        {
            *out.per_client.entry(key).or_default() += count;
        }
    }
    Ok(out)
}
