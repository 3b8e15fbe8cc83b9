//! The settings the core reads while handling events and running jobs, taken from the
//! configuration once at start-up.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::config::{Config, SchedulesConfig, SlaConfig};
use crate::domain::sla::{Origin, SlaBook, Targets};
use crate::domain::{Priority, WorkingHours};
use crate::playbook::{self, Playbook};
use crate::store::{people, sla, Conn};

/// The settings the core reads while handling events.
#[derive(Debug, Clone)]
pub struct Settings {
    pub team_tz: Tz,
    pub team_hours: WorkingHours,
    /// Client messages at most this many seconds apart in a channel join one task; 0 = off.
    pub group_window_secs: i64,
    /// Team holidays from the configuration (`holiday add` ones live in the database).
    pub holidays: BTreeSet<NaiveDate>,
    pub schedules: SchedulesConfig,
    pub sla: SlaConfig,
    /// The clients' own targets from the configuration: (client key, priority, targets).
    pub client_sla: Vec<(String, Priority, Targets)>,
    /// The adapter and channel of the weekly KPI summary.
    pub weekly_kpi: Option<(String, String)>,
    /// The playbooks `playbook run` knows.
    pub playbooks: Arc<Vec<Playbook>>,
    /// Where people open the dashboard (sign-in links are built on it).
    pub public_url: String,
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            team_tz: config.team_tz(),
            team_hours: config.team_hours(),
            group_window_secs: config.capture.group_minutes * 60,
            holidays: config.team_holidays(),
            schedules: config.schedules.clone(),
            sla: config.sla.clone(),
            client_sla: config.client_sla(),
            weekly_kpi: config.weekly_kpi(),
            public_url: config
                .http
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", config.http.listen)),
            playbooks: Arc::new(
                playbook::load(Path::new(&config.playbooks_dir))
                    .or_else(|_| playbook::load(Path::new("")))
                    .unwrap_or_default(),
            ),
        }
    }
}

impl Settings {
    /// Every SLA target in force: the team's, each client's from chat, and the configuration's
    /// per-client ones, which win.
    pub async fn sla_book(&self, conn: &mut Conn) -> anyhow::Result<SlaBook> {
        let mut book = SlaBook::new(self.sla.targets());
        for row in sla::all(conn).await? {
            book.set(row.client_id, row.priority, row.targets(), Origin::Chat);
        }
        for (key, priority, targets) in &self.client_sla {
            // A configured client keel does not have (yet) has no tasks to hold to them.
            if let Some(client) = people::client_by_key(conn, key).await? {
                book.set(client.id, *priority, *targets, Origin::Config);
            }
        }
        Ok(book)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_config(&Config::default())
    }
}
