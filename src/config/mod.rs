//! Settings: `config/keel.toml` (or `--config FILE`), overridden by `KEEL_…` environment variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

mod email;

pub use email::{is_address, EmailSettings};

use crate::domain::sla::{parse_span, Targets};
use crate::domain::{parse_tz, ClientKey, Priority, WorkingHours};

/// Every setting, with its default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `sqlite://keel.db` (default) or `postgres://…`; env `KEEL_DATABASE_URL`.
    pub database_url: String,
    pub team: TeamConfig,
    pub capture: CaptureConfig,
    pub schedules: SchedulesConfig,
    pub sla: SlaConfig,
    /// `[clients.<key>]`: what one client has of its own (its SLA targets).
    pub clients: BTreeMap<String, ClientConfig>,
    pub http: HttpConfig,
    pub outbox: OutboxConfig,
    pub log: LogConfig,
    /// Where playbooks (`*.toml`) are read from, besides the two shipped in the binary.
    pub playbooks_dir: String,
    /// `[matrix]`: keel's Matrix account; without it keel does not connect to Matrix.
    pub matrix: Option<MatrixSettings>,
    /// `[slack]`: keel's Slack app; without it keel does not connect to Slack.
    pub slack: Option<SlackSettings>,
    /// `[email]`: keel's mailbox; without it keel reads and sends no mail.
    pub email: Option<EmailSettings>,
}

/// keel's Slack app. Tokens and the signing secret come from the environment
/// (`KEEL_SLACK__BOT_TOKEN`, `KEEL_SLACK__APP_TOKEN`, `KEEL_SLACK__SIGNING_SECRET`) and are never
/// logged or printed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SlackSettings {
    /// `socket` (Socket Mode: no public URL needed) or `events` (Events API over keel's HTTP
    /// server at `http.listen`: `/slack/events`, `/slack/commands`, `/slack/interactivity`).
    pub mode: String,
    /// The Web API's base URL (change it only for a proxy or a test server).
    pub api_url: String,
    #[serde(skip_serializing)]
    pub bot_token: Option<SecretString>,
    #[serde(skip_serializing)]
    pub app_token: Option<SecretString>,
    #[serde(skip_serializing)]
    pub signing_secret: Option<SecretString>,
}

impl Default for SlackSettings {
    fn default() -> Self {
        SlackSettings {
            mode: "socket".into(),
            api_url: "https://slack.com/api".into(),
            bot_token: None,
            app_token: None,
            signing_secret: None,
        }
    }
}

impl SlackSettings {
    fn problems(&self, out: &mut Vec<String>) {
        if !matches!(self.mode.as_str(), "socket" | "events") {
            out.push(format!(
                "slack.mode: \"{}\" is not socket or events",
                crate::domain::truncate(&self.mode, 40)
            ));
        }
        match url::Url::parse(&self.api_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => out.push(format!(
                "slack.api_url: \"{}\" is not a URL like https://slack.com/api",
                crate::domain::truncate(&self.api_url, 60)
            )),
        }
        if self.bot_token.is_none() {
            out.push("slack.bot_token: missing (set KEEL_SLACK__BOT_TOKEN to the xoxb-… token)".into());
        }
        if self.mode == "socket" && self.app_token.is_none() {
            out.push("slack.app_token: missing for Socket Mode (set KEEL_SLACK__APP_TOKEN to the xapp-… token)".into());
        }
        if self.mode == "events" && self.signing_secret.is_none() {
            out.push("slack.signing_secret: missing for the Events API (set KEEL_SLACK__SIGNING_SECRET)".into());
        }
    }
}

/// keel's Matrix account. The password or access token comes from the environment
/// (`KEEL_MATRIX__PASSWORD`, `KEEL_MATRIX__ACCESS_TOKEN`) and is never logged or printed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MatrixSettings {
    /// The homeserver's client URL, `https://matrix.example.org`.
    pub homeserver: String,
    /// keel's account: `@keel:example.org` or its localpart.
    pub user: String,
    #[serde(skip_serializing)]
    pub password: Option<SecretString>,
    #[serde(skip_serializing)]
    pub access_token: Option<SecretString>,
    /// Where keel keeps its Matrix session, sync token and encryption keys (a directory).
    pub store_path: String,
    /// The team: Matrix ids (`@lea:example.org`) or whole servers (`example.org`). Everyone
    /// else who writes is a client user.
    pub team: Vec<String>,
    /// Who may invite keel into rooms (ids or servers); empty means the team.
    pub allow_invites_from: Vec<String>,
}

impl MatrixSettings {
    /// The directory of the saved session (default `keel-matrix`).
    pub fn store_dir(&self) -> PathBuf {
        if self.store_path.trim().is_empty() {
            PathBuf::from("keel-matrix")
        } else {
            PathBuf::from(&self.store_path)
        }
    }

    /// Who may invite keel: the list, or the team when it is empty.
    pub fn inviters(&self) -> Vec<String> {
        if self.allow_invites_from.is_empty() {
            self.team.clone()
        } else {
            self.allow_invites_from.clone()
        }
    }

    fn problems(&self, out: &mut Vec<String>) {
        match url::Url::parse(&self.homeserver) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => out.push(format!(
                "matrix.homeserver: \"{}\" is not a URL like https://matrix.example.org",
                crate::domain::truncate(&self.homeserver, 60)
            )),
        }
        if self.user.trim().is_empty() {
            out.push("matrix.user: missing (keel's account, e.g. @keel:example.org)".into());
        }
        if self.password.is_none() && self.access_token.is_none() {
            out.push("matrix.password: missing (set KEEL_MATRIX__PASSWORD or KEEL_MATRIX__ACCESS_TOKEN)".into());
        }
        let id_or_server = |e: &String| {
            let e = e.trim();
            !e.is_empty() && !e.contains(char::is_whitespace) && (!e.starts_with('@') || e.contains(':'))
        };
        if self.team.is_empty() {
            out.push("matrix.team: missing (the team's Matrix ids or servers; everyone else is a client)".into());
        }
        for (key, list) in [("team", &self.team), ("allow_invites_from", &self.allow_invites_from)] {
            for entry in list.iter().filter(|e| !id_or_server(e)) {
                out.push(format!(
                    "matrix.{key}: \"{}\" is not a Matrix id like @lea:example.org or a server",
                    crate::domain::truncate(entry, 60)
                ));
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TeamConfig {
    /// The team's IANA time zone; business hours and reports use it.
    pub timezone: String,
    /// The team's business hours, `09:00-17:00`.
    pub hours: String,
    /// Team holidays, `YYYY-MM-DD` in the team's time zone (more with `holiday add`).
    pub holidays: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CaptureConfig {
    /// Client messages this many minutes apart in one channel join the same task; 0 turns it off.
    pub group_minutes: i64,
}

/// When keel nudges, warns and escalates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SchedulesConfig {
    /// Business days without activity on an open task before its owner is nudged, and between
    /// nudges.
    pub nudge_after_days: i64,
    /// Nudges without activity after which the task is escalated (client owner and leads).
    pub escalate_after_nudges: i64,
    /// The share of an SLA target at which the owner is warned (the breach is at 1.0).
    pub sla_warning_at: f64,
    /// Days without a touchpoint after which a client counts as silent.
    pub silent_client_days: i64,
    /// Active tasks above which an owner is overloaded.
    pub overload_tasks: i64,
    /// Where the weekly KPI summary goes, Mondays 09:00 team time: a Slack channel id, a Matrix
    /// room id, or a console channel name. Unset: no weekly post.
    pub weekly_kpi_channel: Option<String>,
    /// The adapter of that channel: `slack`, `matrix` or `console` (default: slack when `[slack]`
    /// is set, else matrix when `[matrix]` is, else console).
    pub weekly_kpi_adapter: Option<String>,
}

/// SLA targets in business hours, per priority.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SlaConfig {
    pub first_response_hours: PriorityHours,
    pub resolution_hours: PriorityHours,
}

/// `[clients.<key>]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientConfig {
    /// `[clients.<key>.sla]`: `urgent = { first_response = "30m", resolution = "2h" }`, per
    /// priority; these win over `client sla` in chat.
    pub sla: BTreeMap<String, ClientSlaConfig>,
    /// Whether this client's new mail requests are acknowledged by mail (default `email.acknowledge`).
    pub acknowledge_mail: Option<bool>,
}

/// One priority's targets for one client, as spans of business time (`30m`, `2h`, `3d`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientSlaConfig {
    pub first_response: String,
    pub resolution: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PriorityHours {
    pub urgent: f64,
    pub high: f64,
    pub normal: f64,
    pub low: f64,
}

impl SlaConfig {
    /// The team's targets, per priority.
    pub fn targets(&self) -> std::collections::HashMap<Priority, Targets> {
        Priority::ALL
            .iter()
            .map(|p| {
                let targets = Targets {
                    first_response: self.first_response_hours.seconds(*p),
                    resolution: self.resolution_hours.seconds(*p),
                };
                (*p, targets)
            })
            .collect()
    }
}

impl PriorityHours {
    /// The target for a priority, in seconds.
    pub fn seconds(&self, priority: crate::domain::Priority) -> i64 {
        use crate::domain::Priority;
        let hours = match priority {
            Priority::Urgent => self.urgent,
            Priority::High => self.high,
            Priority::Normal => self.normal,
            Priority::Low => self.low,
        };
        (hours * 3600.0).round() as i64
    }

    fn valid(&self) -> bool {
        [self.urgent, self.high, self.normal, self.low]
            .iter()
            .all(|h| h.is_finite() && *h > 0.0 && *h <= 10_000.0)
    }
}

impl Default for SchedulesConfig {
    fn default() -> Self {
        SchedulesConfig {
            nudge_after_days: 2,
            escalate_after_nudges: 2,
            sla_warning_at: 0.75,
            silent_client_days: 14,
            overload_tasks: 30,
            weekly_kpi_channel: None,
            weekly_kpi_adapter: None,
        }
    }
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            first_response_hours: PriorityHours {
                urgent: 1.0,
                high: 4.0,
                normal: 8.0,
                low: 24.0,
            },
            resolution_hours: PriorityHours {
                urgent: 4.0,
                high: 24.0,
                normal: 48.0,
                low: 120.0,
            },
        }
    }
}

/// How the outbox retries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OutboxConfig {
    /// The longest wait between two tries of a message (1, 2, 4 … seconds up to this), also while
    /// a platform is away: keel sends what waited within this long of its return.
    pub backoff_max_seconds: i64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            backoff_max_seconds: 256,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Where `keel run` serves /healthz, /metrics, the Slack endpoints and the dashboard.
    pub listen: String,
    /// The address people open the dashboard at (`https://keel.example.com`): sign-in links are
    /// built on it. Default: `http://` and `listen`.
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A `tracing` filter, e.g. `info` or `keel=debug`.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://keel.db".into(),
            team: TeamConfig::default(),
            capture: CaptureConfig::default(),
            schedules: SchedulesConfig::default(),
            sla: SlaConfig::default(),
            clients: BTreeMap::new(),
            http: HttpConfig::default(),
            outbox: OutboxConfig::default(),
            log: LogConfig::default(),
            playbooks_dir: "config/playbooks".into(),
            matrix: None,
            email: None,
            slack: None,
        }
    }
}

impl Default for TeamConfig {
    fn default() -> Self {
        TeamConfig {
            timezone: "UTC".into(),
            hours: "09:00-17:00".into(),
            holidays: Vec::new(),
        }
    }
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig { group_minutes: 3 }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            level: "warn".into(),
        }
    }
}

/// The settings that are secrets: read from the environment as text, never serialized.
const SECRETS: [&str; 6] = [
    "email.password",
    "matrix.password",
    "matrix.access_token",
    "slack.bot_token",
    "slack.app_token",
    "slack.signing_secret",
];

/// The default config file, used when present.
pub const DEFAULT_PATH: &str = "config/keel.toml";

impl Config {
    /// Loads defaults, then the file (the given one must exist; the default one may not), then
    /// `KEEL_…` variables (`KEEL_TEAM__TIMEZONE` sets `team.timezone`).
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(format!("config file {} does not exist", path.display()));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None => {
                let default = PathBuf::from(DEFAULT_PATH);
                if default.is_file() {
                    figment = figment.merge(Toml::file_exact(default));
                }
            }
        }
        figment = figment.merge(
            Env::prefixed("KEEL_")
                .split("__")
                .ignore(&["now", "config", "db"])
                .ignore(&SECRETS),
        );
        // Secrets are taken as written: the Env provider would read a password like `12345` or
        // `007` as a number (and refuse it, or drop the zeros).
        for key in SECRETS {
            let var = format!("KEEL_{}", key.replace('.', "__").to_uppercase());
            if let Ok(value) = std::env::var(&var) {
                figment = figment.merge(Serialized::default(key, value));
            }
        }
        figment
            .extract::<Config>()
            .map_err(|e| format!("invalid configuration: {}", crate::store::one_line(&e)))
    }

    /// The clients' own SLA targets from `[clients.<key>.sla]`: (client key, priority, targets).
    /// Entries that do not read are left out (`problems` names them).
    pub fn client_sla(&self) -> Vec<(String, Priority, Targets)> {
        let mut all = Vec::new();
        for (key, client) in &self.clients {
            for (priority, t) in &client.sla {
                let (Ok(priority), Some(first_response), Some(resolution)) = (
                    priority.parse::<Priority>(),
                    parse_span(&t.first_response),
                    parse_span(&t.resolution),
                ) else {
                    continue;
                };
                let targets = Targets {
                    first_response,
                    resolution,
                };
                all.push((key.to_lowercase(), priority, targets));
            }
        }
        all
    }

    fn client_sla_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, client) in &self.clients {
            if let Err(e) = ClientKey::parse(key) {
                problems.push(format!("clients.{key}: {e}"));
            }
            for (priority, t) in &client.sla {
                let at = format!("clients.{key}.sla.{priority}");
                if let Err(e) = priority.parse::<Priority>() {
                    problems.push(format!("{at}: {e}"));
                }
                for (name, span) in [("first_response", &t.first_response), ("resolution", &t.resolution)] {
                    if parse_span(span).is_none() {
                        problems.push(format!(
                            "{at}.{name}: \"{}\" is not a span like 30m, 2h or 1h30m",
                            crate::domain::truncate(span, 40)
                        ));
                    }
                }
            }
        }
        problems
    }

    /// Every problem in the settings, each on its own line; empty when all is well.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = parse_tz(&self.team.timezone) {
            problems.push(format!("team.timezone: {e}"));
        }
        if let Err(e) = WorkingHours::parse(&self.team.hours) {
            problems.push(format!("team.hours: {e}"));
        }
        for day in &self.team.holidays {
            if chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err() {
                problems.push(format!(
                    "team.holidays: \"{}\" is not a date like 2026-12-25",
                    crate::domain::truncate(day, 40)
                ));
            }
        }
        if let Some(public) = &self.http.public_url {
            let ok = url::Url::parse(public).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if !ok {
                problems.push(format!(
                    "http.public_url: \"{}\" is not an http(s) address like https://keel.example.com",
                    crate::domain::truncate(public, 60)
                ));
            }
        }
        let s = &self.schedules;
        if !(1..=60).contains(&s.nudge_after_days) {
            problems.push("schedules.nudge_after_days: must be between 1 and 60".into());
        }
        if !(0..=10).contains(&s.escalate_after_nudges) {
            problems.push("schedules.escalate_after_nudges: must be between 0 and 10".into());
        }
        if !(s.sla_warning_at > 0.0 && s.sla_warning_at < 1.0) {
            problems.push("schedules.sla_warning_at: must be between 0 and 1 (e.g. 0.75)".into());
        }
        if !(1..=365).contains(&s.silent_client_days) {
            problems.push("schedules.silent_client_days: must be between 1 and 365".into());
        }
        if s.overload_tasks < 1 {
            problems.push("schedules.overload_tasks: must be at least 1".into());
        }
        if let Err(e) = crate::playbook::load(std::path::Path::new(&self.playbooks_dir)) {
            problems.push(format!("playbooks_dir: {e}"));
        }
        if let Some(adapter) = &s.weekly_kpi_adapter {
            if !matches!(adapter.as_str(), "slack" | "matrix" | "console") {
                problems.push(format!(
                    "schedules.weekly_kpi_adapter: \"{adapter}\" is not slack, matrix or console"
                ));
            }
        }
        if s.weekly_kpi_channel
            .as_deref()
            .is_some_and(|c| c.trim().trim_start_matches('#').is_empty())
        {
            problems.push("schedules.weekly_kpi_channel: must name a channel".into());
        }
        if !self.sla.first_response_hours.valid() || !self.sla.resolution_hours.valid() {
            problems.push("sla: every target must be a number of hours above 0".into());
        }
        problems.extend(self.client_sla_problems());
        if !(1..=86_400).contains(&self.outbox.backoff_max_seconds) {
            problems.push("outbox.backoff_max_seconds: must be between 1 and 86400".into());
        }
        if !(0..=1440).contains(&self.capture.group_minutes) {
            problems.push("capture.group_minutes: must be between 0 and 1440".into());
        }
        if self.http.listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!(
                "http.listen: \"{}\" is not an address like 127.0.0.1:8080",
                self.http.listen
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            problems.push(format!("log.format: \"{}\" is not text or json", self.log.format));
        }
        if let Some(matrix) = &self.matrix {
            matrix.problems(&mut problems);
        }
        if let Some(slack) = &self.slack {
            slack.problems(&mut problems);
        }
        if let Some(email) = &self.email {
            email.problems(&mut problems);
        }
        let url = self.database_url.as_str();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres:") || url.starts_with("postgresql:")) {
            problems.push(format!(
                "database_url: \"{}\" is not sqlite://… or postgres://…",
                crate::store::redact_url(url)
            ));
        }
        problems
    }

    /// The team's time zone (UTC when the setting is invalid; `config check` reports that).
    /// The adapter and channel of the weekly KPI summary, when one is set.
    pub fn weekly_kpi(&self) -> Option<(String, String)> {
        let channel = self.schedules.weekly_kpi_channel.clone()?;
        let adapter = (self.schedules.weekly_kpi_adapter.clone()).unwrap_or_else(|| self.default_adapter().to_string());
        Some((adapter, channel.trim_start_matches('#').to_string()))
    }

    /// The adapter and channel where mail requests are announced, when `[email]` is set.
    pub fn mail_notify(&self) -> Option<(String, String)> {
        let email = self.email.as_ref()?;
        let adapter = email
            .notify_adapter
            .clone()
            .unwrap_or_else(|| self.default_adapter().to_string());
        Some((adapter, email.notify_channel.trim_start_matches('#').to_string()))
    }

    /// The chat adapter a channel setting means when it names none.
    fn default_adapter(&self) -> &'static str {
        if self.slack.is_some() {
            "slack"
        } else if self.matrix.is_some() {
            "matrix"
        } else {
            "console"
        }
    }

    pub fn team_tz(&self) -> Tz {
        parse_tz(&self.team.timezone).unwrap_or(Tz::UTC)
    }

    pub fn team_hours(&self) -> WorkingHours {
        WorkingHours::parse(&self.team.hours).unwrap_or_default()
    }

    /// The configured team holidays that are valid dates.
    pub fn team_holidays(&self) -> std::collections::BTreeSet<chrono::NaiveDate> {
        self.team
            .holidays
            .iter()
            .filter_map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    #[test]
    fn a_secret_that_looks_like_a_number_is_taken_as_written() {
        // The only test in this binary that touches these variables.
        std::env::set_var("KEEL_SLACK__SIGNING_SECRET", "007");
        std::env::set_var("KEEL_SLACK__BOT_TOKEN", "12345");
        let loaded = super::Config::load(None);
        std::env::remove_var("KEEL_SLACK__SIGNING_SECRET");
        std::env::remove_var("KEEL_SLACK__BOT_TOKEN");
        let slack = loaded.expect("loads").slack.expect("[slack] from the environment");
        assert_eq!(slack.signing_secret.expect("secret").expose_secret(), "007");
        assert_eq!(slack.bot_token.expect("token").expose_secret(), "12345");
    }
}
