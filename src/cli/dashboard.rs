//! `keel dashboard link --as NAME`: a sign-in link for an operator to hand a team member.

use super::failure::{environment, failed, Failure};
use crate::service::dashboard::link_for;
use crate::service::Keel;
use crate::store::people;

/// Prints a one-time sign-in link for the team member called `name`.
pub(super) async fn link(keel: &Keel, name: &str) -> Result<(), Failure> {
    let database = |e: sqlx::Error| environment(format!("database: {e}"));
    let mut conn = keel.store.writer().acquire().await.map_err(database)?;
    let named: Vec<people::Member> = people::members(&mut conn)
        .await?
        .into_iter()
        .filter(|m| m.name.eq_ignore_ascii_case(name.trim()))
        .collect();
    let member = match named.as_slice() {
        [one] => one,
        [] => {
            return Err(failed(format!(
                "no team member is called {} (keel learns people when they first write)",
                crate::domain::truncate(name, 40)
            )))
        }
        several => {
            let places: Vec<&str> = several.iter().map(|m| m.adapter.as_str()).collect();
            return Err(failed(format!(
                "{} members are called {name}, on {}: there is no telling which",
                several.len(),
                places.join(", ")
            )));
        }
    };
    let url = link_for(&mut conn, keel, member, keel.clock.now().timestamp()).await?;
    println!("{url}");
    Ok(())
}
