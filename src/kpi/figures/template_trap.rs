//! The template trap: clients onboarding in the period whose playbook tasks nobody adapted, run
//! straight from the template.

use super::span::Span;
use crate::store::kpi::{playbook_items_adapted, Client};
use crate::store::Conn;

/// The keys of the clients in the trap at the span's end.
pub(super) async fn template_trap(conn: &mut Conn, clients: &[Client], span: &Span) -> anyhow::Result<Vec<String>> {
    let mut trapped = Vec::new();
    for c in clients {
        let onboarding = c.signed_at.is_some_and(|s| s < span.to) && c.live_at.is_none_or(|l| l >= span.from);
        if !onboarding {
            continue;
        }
        let (items, adapted) = playbook_items_adapted(conn, c.id, span.as_of).await?;
        if items > 0 && adapted == 0 {
            trapped.push(c.key.clone());
        }
    }
    Ok(trapped)
}
