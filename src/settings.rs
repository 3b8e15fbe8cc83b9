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
    /// keel's mailbox, when `[email]` is set.
    pub mail: Option<MailSettings>,
}

/// What the core needs of `[email]`: keel's address, the team's domains, where mail requests are
/// announced, and who is acknowledged.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// keel's address, lowercase; its domain names keel's Message-IDs.
    pub address: String,
    pub name: String,
    pub team_domains: Vec<String>,
    /// The adapter and channel where the team sees new mail and answers it.
    pub notify: (String, String),
    /// Acknowledge new requests by mail, unless the client's `acknowledge_mail` says otherwise.
    pub acknowledge: bool,
    /// The clients' own choice (client key, acknowledge).
    pub client_acknowledge: Vec<(String, bool)>,
}

impl MailSettings {
    fn from_config(config: &Config) -> Option<MailSettings> {
        let email = config.email.as_ref()?;
        Some(MailSettings {
            address: email.address(),
            name: email.from_name.trim().to_string(),
            team_domains: email.domains(),
            notify: config.mail_notify()?,
            acknowledge: email.acknowledge,
            client_acknowledge: (config.clients.iter())
                .filter_map(|(key, c)| Some((key.to_lowercase(), c.acknowledge_mail?)))
                .collect(),
        })
    }

    /// Whether a new request of this client (or of nobody known) is acknowledged.
    pub fn acknowledges(&self, client: Option<&str>) -> bool {
        let own = client.and_then(|key| self.client_acknowledge.iter().find(|(k, _)| k == key));
        own.map_or(self.acknowledge, |(_, on)| *on)
    }

    /// The domain of keel's address, which names its Message-IDs.
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map_or("keel.invalid", |(_, d)| d)
    }

    /// True for an address of the team (or keel's own).
    pub fn is_team(&self, address: &str) -> bool {
        let address = address.to_lowercase();
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        address == self.address || self.team_domains.iter().any(|d| d == domain)
    }
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
            mail: MailSettings::from_config(config),
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
